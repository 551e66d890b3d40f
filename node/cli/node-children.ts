/**
 * The launcher's node processes: spawns each node with its environment, turns its output into
 * prefixed lines (formatted JSON logs), notices its `ready` log record and its exit.
 *
 * Children run in their own process group (`detached`), so a Ctrl-C in the terminal reaches only
 * the launcher, which then stops each node exactly once with SIGTERM (a node treats a second
 * signal as "exit now"). If the launcher exits for any reason, remaining children get SIGKILL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { formatPretty } from "../log.js";
import type { NodePlan } from "./cluster-plan.js";

const COLORS = [36, 33, 35, 32, 34, 31, 96, 93, 95] as const;

export interface ChildExit {
  readonly id: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** How to run `node/main` next to this file: the built .js, or the .ts source through tsx. */
export function nodeCommand(): string[] {
  const self = fileURLToPath(import.meta.url);
  if (self.endsWith(".ts")) {
    return ["--import", import.meta.resolve("tsx"), fileURLToPath(new URL("../main.ts", import.meta.url))];
  }
  return [fileURLToPath(new URL("../main.js", import.meta.url))];
}

export interface ChildOptions {
  readonly json: boolean;
  readonly color: boolean;
  readonly write: (text: string) => void;
  readonly onReadyLine: (id: string, record: Record<string, unknown>) => void;
  readonly onExit: (exit: ChildExit) => void;
}

export class NodeChild {
  readonly process: ChildProcess;
  readonly exited: Promise<ChildExit>;
  private readonly prefix: string;

  constructor(
    readonly plan: NodePlan,
    index: number,
    private readonly opts: ChildOptions,
  ) {
    const label = `${plan.id} |`;
    const color = COLORS[index % COLORS.length] as number;
    this.prefix = opts.color ? `\x1b[${color}m${label}\x1b[0m ` : `${label} `;
    this.process = spawn(process.execPath, nodeCommand(), {
      env: { ...process.env, ...plan.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.process.stdout?.on(
      "data",
      this.lineReader((l) => this.onStdout(l)),
    );
    this.process.stderr?.on(
      "data",
      this.lineReader((l) => this.opts.write(`${this.prefix}${l}\n`)),
    );
    this.exited = new Promise((resolve) => {
      this.process.once("exit", (code, signal) => {
        const exit = { id: plan.id, code, signal };
        opts.onExit(exit);
        resolve(exit);
      });
      // spawn itself failed (e.g. node binary vanished): report it as an exit.
      this.process.once("error", () => resolve({ id: plan.id, code: 127, signal: null }));
    });
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) this.process.kill(sig);
  }

  private lineReader(onLine: (line: string) => void): (chunk: Buffer) => void {
    let partial = "";
    return (chunk) => {
      const parts = (partial + chunk.toString("utf8")).split("\n");
      partial = parts.pop() ?? "";
      for (const line of parts) if (line !== "") onLine(line);
    };
  }

  private onStdout(line: string): void {
    if (line.startsWith("{")) {
      try {
        const rec = JSON.parse(line) as Record<string, unknown>;
        if (rec.msg === "ready") this.opts.onReadyLine(this.plan.id, rec);
      } catch {
        // Not a whole JSON record: printed as it is below.
      }
    }
    const text = this.opts.json ? `${line}\n` : formatPretty(line);
    for (const l of text.replace(/\n$/, "").split("\n")) this.opts.write(`${this.prefix}${l}\n`);
  }
}
