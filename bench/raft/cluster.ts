/**
 * The benchmark's three node processes (bench/raft/node.ts) and the requests run.ts sends them.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchNodeConfig } from "./node.js";

/** This checkout's node script; `--baseline DIR` runs DIR's instead (same IPC protocol). */
export const NODE_SCRIPT = fileURLToPath(new URL("./node.ts", import.meta.url));
const IDS = ["n1", "n2", "n3"];

export interface LoadResult {
  commits: number;
  errors: number;
  leaderChanges: number;
  peerDowns: number;
  cpuShare: number;
  fsyncMs: { p50: number; p99: number; max: number; mean: number };
  /** Event-loop utilization of the node during the phase (absent from older node scripts). */
  elu?: number;
  /** Mean ms between a batch write's completion and the next one's start (absent from older node scripts). */
  handoffMs?: number;
  hist: string;
  flushes: number;
  seconds: number;
}

type Reply = { id: number } & Record<string, unknown>;

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

async function until(
  cond: () => Promise<boolean> | boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

class BenchNode {
  child: ChildProcess | undefined;
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  /** Unsolicited "first-commit" reports (failover). */
  readonly firstCommits: Array<{ at: number; term: number }> = [];

  constructor(
    readonly cfg: BenchNodeConfig,
    private readonly cpuProf: string | undefined,
    private readonly script: string,
  ) {}

  async start(): Promise<void> {
    const execArgv = ["--import", "tsx"];
    if (this.cpuProf !== undefined) execArgv.push("--cpu-prof", `--cpu-prof-dir=${this.cpuProf}`);
    const child = fork(this.script, [JSON.stringify(this.cfg)], {
      execArgv,
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child = child;
    child.on("error", () => {}); // IPC errors of a killed child; "exit" does the bookkeeping
    child.on("message", (m: Reply & { type?: string; at?: number; term?: number }) => {
      if (m.type === "first-commit") this.firstCommits.push({ at: m.at!, term: m.term! });
      const cb = this.waiting.get(m.id);
      if (cb !== undefined) {
        this.waiting.delete(m.id);
        cb(m);
      }
    });
    child.on("exit", () => {
      if (this.child === child) this.child = undefined;
    });
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: { type?: string }) => {
        if (m.type === "ready") {
          child.off("message", onMsg);
          resolve();
        }
      };
      child.on("message", onMsg);
      child.once("exit", (code) => reject(new Error(`bench node ${this.cfg.id} exited with ${code}`)));
    });
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const gone = new Promise((r) => child.once("exit", r));
    child.kill(signal);
    await gone;
  }

  request<T = Reply>(req: Record<string, unknown>): Promise<T> {
    const child = this.child;
    if (child === undefined) return Promise.reject(new Error(`bench node ${this.cfg.id} is down`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, resolve as (r: Reply) => void);
      child.send({ ...req, id }, (err) => {
        if (err === null) return;
        this.waiting.delete(id);
        reject(err);
      });
    });
  }
}

export class BenchCluster {
  private constructor(
    private readonly root: string,
    readonly nodes: BenchNode[],
    readonly groups: string[],
  ) {}

  static async start(
    groupCount: number,
    cpuProf: string | undefined,
    tuning: { electionTick?: number; heartbeatTick?: number; snapshotEvery?: number } = {},
    script: string = NODE_SCRIPT,
  ): Promise<BenchCluster> {
    const root = await mkdtemp(join(tmpdir(), "warren-bench-raft-"));
    const ports: Record<string, number> = {};
    for (const id of IDS) ports[id] = await freePort();
    const groups = Array.from({ length: groupCount }, (_, i) => `g${i}`);
    const nodes = IDS.map(
      (id) =>
        new BenchNode(
          { id, dir: join(root, id), ports, groups, secret: "bench-secret", ...tuning },
          cpuProf,
          script,
        ),
    );
    const c = new BenchCluster(root, nodes, groups);
    await Promise.all(nodes.map((n) => n.start()));
    await c.waitForLeaders();
    return c;
  }

  /** Every group's leader as the running nodes agree on it (undefined while they disagree). */
  async leaders(): Promise<Map<string, string> | undefined> {
    const views = await Promise.all(
      this.nodes
        .filter((n) => n.child)
        .map((n) => n.request<{ leaders: Record<string, string | null> }>({ op: "leaders" })),
    );
    const out = new Map<string, string>();
    for (const g of this.groups) {
      const l = views[0]?.leaders[g];
      if (l == null || !views.every((v) => v.leaders[g] === l)) return undefined;
      if (!this.nodes.find((n) => n.cfg.id === l)?.child) return undefined;
      out.set(g, l);
    }
    return out;
  }

  async waitForLeaders(): Promise<Map<string, string>> {
    let found: Map<string, string> | undefined;
    await until(async () => {
      found = await this.leaders();
      return found !== undefined;
    }, "leaders of all groups");
    return found!;
  }

  /** Spreads leadership evenly: group i is led by node i mod 3 (as Warren's placement would). */
  async balanceLeaders(): Promise<void> {
    const leaders = await this.waitForLeaders();
    if (this.groups.length < IDS.length) return;
    await Promise.all(
      this.groups.map(async (g, i) => {
        const want = IDS[i % IDS.length]!;
        const cur = leaders.get(g)!;
        if (cur !== want) await this.node(cur).request({ op: "transfer", group: g, to: want });
      }),
    );
    await this.waitForLeaders();
  }

  closedLoop(window: number, warmupMs: number, durationMs: number): Promise<LoadResult[]> {
    return Promise.all(
      this.nodes.map((n) => n.request<LoadResult>({ op: "closed", window, warmupMs, durationMs })),
    );
  }

  /** Open loop at `rate` proposals/s in total (each node proposes for the groups it leads). */
  async openLoop(rate: number, warmupMs: number, durationMs: number): Promise<LoadResult[]> {
    await this.waitForLeaders();
    return Promise.all(
      this.nodes.map((n) => n.request<LoadResult>({ op: "open", rate, warmupMs, durationMs })),
    );
  }

  /**
   * Kills g0's leader with SIGKILL while commits flow, and returns the time until a new
   * leader's first commit; then restarts the killed node and waits for a stable leader.
   */
  async failoverOnce(): Promise<number> {
    const leader = (await this.waitForLeaders()).get("g0")!;
    await Promise.all(this.nodes.map((n) => n.request({ op: "failover", on: true })));
    const victim = this.node(leader);
    // Commits flowing for a moment, so the survivors see a live leader until the kill.
    await new Promise((r) => setTimeout(r, 500));
    const survivors = this.nodes.filter((n) => n !== victim);
    const before = survivors.map((n) => n.firstCommits.length);
    const killedAt = Date.now();
    await victim.kill();
    let gap = Number.NaN;
    await until(
      () =>
        survivors.some((n, i) => {
          const fresh = n.firstCommits.slice(before[i]).find((f) => f.at >= killedAt);
          if (fresh !== undefined) gap = fresh.at - killedAt;
          return fresh !== undefined;
        }),
      "a commit by a new leader",
      10_000,
    );
    await Promise.all(survivors.map((n) => n.request({ op: "failover", on: false })));
    await victim.start();
    await this.waitForLeaders();
    return gap;
  }

  node(id: string): BenchNode {
    return this.nodes.find((n) => n.cfg.id === id)!;
  }

  async close(): Promise<void> {
    // SIGTERM-free shutdown: disconnecting IPC makes each node exit (and write its --cpu-prof).
    await Promise.all(
      this.nodes.map(async (n) => {
        const child = n.child;
        if (child === undefined) return;
        const gone = new Promise((r) => child.once("exit", r));
        child.disconnect();
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        await n.kill();
      }),
    );
    await rm(this.root, { recursive: true, force: true });
  }
}
