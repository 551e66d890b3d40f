/**
 * Three RaftHosts in three child processes (fixtures/host-process.ts run with tsx), for the
 * real-I/O test: SIGKILL loses everything not fsynced, exactly like a crash.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { HostProcessConfig } from "./fixtures/host-process.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/host-process.ts", import.meta.url));

export interface GroupState {
  leader: string | undefined;
  applied: number;
  values: Array<[number, string]>;
}

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
  leaderHint?: string;
  groups?: Record<string, GroupState>;
}

/** A free loopback port (bound then released: the child binds it a moment later). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr !== null ? addr.port : 0));
    });
  });
}

class ProcessNode {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();

  constructor(private readonly cfg: HostProcessConfig) {}

  get id(): string {
    return this.cfg.id;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    const child = fork(FIXTURE, [JSON.stringify(this.cfg)], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child = child;
    child.on("error", () => {}); // IPC errors of a killed child; "exit" does the bookkeeping
    child.on("message", (m: Reply | { type: string }) => {
      if ("id" in m) {
        const cb = this.waiting.get(m.id);
        this.waiting.delete(m.id);
        cb?.(m);
      }
    });
    child.on("exit", () => {
      if (this.child === child) this.child = undefined;
      for (const cb of this.waiting.values()) cb({ id: 0, ok: false, error: "ProcessExited" });
      this.waiting.clear();
    });
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: { type?: string }) => {
        if (m.type !== "ready") return;
        child.off("message", onMsg);
        resolve();
      };
      child.on("message", onMsg);
      child.once("exit", (code) => reject(new Error(`${this.cfg.id} exited with ${code} before ready`)));
    });
  }

  /** SIGKILL: no flush, no goodbye. Resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await gone;
  }

  request(req: Record<string, unknown>): Promise<Reply> {
    const child = this.child;
    if (child === undefined) return Promise.resolve({ id: 0, ok: false, error: "ProcessExited" });
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      // The child may be dying (killed by the test): a failed send is that node's "down".
      child.send({ ...req, id }, (err) => {
        if (err === null) return;
        this.waiting.delete(id);
        resolve({ id, ok: false, error: "ProcessExited" });
      });
    });
  }
}

export class ProcessCluster {
  readonly nodes: ProcessNode[];

  private constructor(
    private readonly root: string,
    configs: HostProcessConfig[],
  ) {
    this.nodes = configs.map((c) => new ProcessNode(c));
  }

  static async create(groups: string[], snapshotEvery: number): Promise<ProcessCluster> {
    const root = await mkdtemp(join(tmpdir(), "warren-host-proc-"));
    const ids = ["n1", "n2", "n3"];
    const ports: Record<string, number> = {};
    for (const id of ids) ports[id] = await freePort();
    const configs = ids.map((id) => ({
      id,
      dir: join(root, id),
      port: ports[id]!,
      ports,
      groups,
      secret: "proc-secret",
      snapshotEvery,
    }));
    return new ProcessCluster(root, configs);
  }

  node(id: string): ProcessNode {
    return this.nodes.find((n) => n.id === id)!;
  }

  /** Every running node's view of every group. */
  async states(): Promise<Map<string, Record<string, GroupState>>> {
    const out = new Map<string, Record<string, GroupState>>();
    for (const n of this.nodes) {
      if (!n.running) continue;
      const r = await n.request({ op: "state" });
      if (r.ok && r.groups) out.set(n.id, r.groups);
    }
    return out;
  }

  /**
   * Proposes `v` once to whichever node leads (following hints while the answer is
   * NotLeaderError, which guarantees nothing was appended). Returns whether it was acknowledged.
   */
  async propose(group: string, v: string, deadlineMs: number): Promise<boolean> {
    let target = this.nodes.find((n) => n.running)?.id;
    while (Date.now() < deadlineMs && target !== undefined) {
      const r = await this.node(target).request({ op: "propose", group, v });
      if (r.ok) return true;
      if (r.error !== "NotLeaderError") return false;
      const next = r.leaderHint !== undefined && this.node(r.leaderHint).running ? r.leaderHint : undefined;
      const running = this.nodes.filter((n) => n.running);
      target = next ?? running[Math.floor(Math.random() * running.length)]?.id;
      if (next === undefined) await new Promise((res) => setTimeout(res, 20));
    }
    return false;
  }

  async close(): Promise<void> {
    for (const n of this.nodes) await n.kill();
    await rm(this.root, { recursive: true, force: true });
  }
}
