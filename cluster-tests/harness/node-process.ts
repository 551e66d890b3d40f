/**
 * One real `warren-node` child process (`node --import tsx node/main.ts`), configured through the
 * environment only. Keeps the last lines of its output for failure messages, finds its JSON
 * `ready` line, and can be stopped gracefully (SIGTERM), killed (SIGKILL) and started again with
 * the same configuration and data directory.
 *
 * Every live child is registered so that `killAllNodes()` (and, as a last resort, the test
 * process's exit) never leaves one behind, even when a test fails half-way.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { waitFor } from "./poll.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** How the process ended: exit code or the signal that killed it. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

/** SIGKILL every child this test process started that is still running. */
export function killAllNodes(): void {
  for (const child of live) child.kill("SIGKILL");
}

/** The environment a child sees: ours without any WARREN_* (an unknown one is a config error), plus `env`. */
export function childEnv(env: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("WARREN_")) out[k] = v;
  return { ...out, ...env };
}

const KEEP_LINES = 400;

export class NodeProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<ExitStatus> | undefined;
  private lines: string[] = [];
  private readyLine: Record<string, unknown> | undefined;
  private starts = 0;

  constructor(
    readonly id: string,
    private readonly env: Readonly<Record<string, string>>,
    /** Arguments after `node`; default: run node/main.ts through tsx. */
    private readonly argv: readonly string[] = ["--import", "tsx", "node/main.ts"],
  ) {}

  /** Spawn the process (again, after a stop/kill: same config, same data). */
  start(): void {
    if (this.running) throw new Error(`${this.id} is already running`);
    this.readyLine = undefined;
    this.starts += 1;
    const child = spawn(process.execPath, [...this.argv], {
      cwd: REPO_ROOT,
      env: childEnv(this.env),
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    live.add(child);
    const boot = this.starts;
    const onData = (stream: string) => {
      let partial = "";
      return (chunk: Buffer) => {
        const text = partial + chunk.toString("utf8");
        const parts = text.split("\n");
        partial = parts.pop() ?? "";
        for (const line of parts) this.record(line, stream, boot);
      };
    };
    child.stdout?.on("data", onData("out"));
    child.stderr?.on("data", onData("err"));
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      });
    });
  }

  private record(line: string, stream: string, boot: number): void {
    this.lines.push(`[${this.id}#${boot} ${stream}] ${line}`);
    if (this.lines.length > KEEP_LINES) this.lines.splice(0, this.lines.length - KEEP_LINES);
    if (stream !== "out" || !line.startsWith("{")) return;
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (rec.msg === "ready") this.readyLine = rec;
    } catch {
      // A partial or non-JSON line: kept in the tail only.
    }
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The last lines of output (both streams), for failure messages. */
  tail(n = 40): string {
    return this.lines.slice(-n).join("\n");
  }

  /** Resolves with the `ready` log record; fails early, with the output, if the process exits. */
  async waitForReadyLine(timeoutMs: number): Promise<Record<string, unknown>> {
    return waitFor(
      () => {
        if (this.readyLine) return this.readyLine;
        if (!this.running) throw new Error(`${this.id} exited before its ready line:\n${this.tail()}`);
        return undefined;
      },
      { timeoutMs, what: `${this.id}'s ready line`, intervalMs: 50 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${this.tail()}`);
    });
  }

  /** Send a signal and wait for the exit (SIGKILL after `timeoutMs`, reported as such). */
  async stop(signal: NodeJS.Signals = "SIGTERM", timeoutMs = 20_000): Promise<ExitStatus> {
    const child = this.child;
    const exited = this.exited;
    if (child === undefined || exited === undefined) throw new Error(`${this.id} was never started`);
    if (!this.running) return exited;
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** kill -9: no shutdown at all, as a crash. */
  kill(): Promise<ExitStatus> {
    return this.stop("SIGKILL");
  }

  /** Resolves when the process exits on its own. */
  waitForExit(): Promise<ExitStatus> {
    if (this.exited === undefined) throw new Error(`${this.id} was never started`);
    return this.exited;
  }
}
