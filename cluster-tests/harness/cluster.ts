/**
 * A real Warren cluster for the process-level tests: N `warren-node` child processes on loopback,
 * each on its own free ports (HTTP, Raft, AMQP), with data under a fresh temporary
 * directory and a shared secret file. `destroy()` kills every process and removes the directory;
 * call it from `afterAll` (it is safe to call twice, and after a failed start).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpClient } from "./http.js";
import { NodeProcess } from "./node-process.js";
import { waitFor } from "./poll.js";
import { freePorts } from "./ports.js";

export interface ClusterOptions {
  /** Number of nodes (default 3). */
  readonly size?: number;
  /** Extra WARREN_* settings for every node (e.g. WARREN_MAX_MESSAGE_SIZE). */
  readonly env?: Readonly<Record<string, string>>;
  /** Deadline for all nodes to report ready (default 60 s: a busy 2-core machine compiles TS slowly). */
  readonly readyTimeoutMs?: number;
}

export interface ClusterNode {
  readonly id: string;
  readonly proc: NodeProcess;
  readonly http: HttpClient;
  readonly httpPort: number;
  readonly raftPort: number;
  readonly amqpPort: number;
  /** What an AMQP client connects to: `amqp://guest:guest@127.0.0.1:<amqpPort>`. */
  readonly amqpUrl: string;
  readonly dataDir: string;
}

const HOST = "127.0.0.1";

export class TestCluster {
  private destroyed = false;

  private constructor(
    readonly dir: string,
    readonly nodes: readonly ClusterNode[],
    private readonly readyTimeoutMs: number,
  ) {}

  /** Spawn every node and wait until each answers 200 on /ready. */
  static async start(opts: ClusterOptions = {}): Promise<TestCluster> {
    const size = opts.size ?? 3;
    const dir = await mkdtemp(join(tmpdir(), "warren-cluster-"));
    const secretFile = join(dir, "cluster-secret");
    await writeFile(secretFile, `${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
    const ports = await freePorts(size * 3, HOST);
    const plan = Array.from({ length: size }, (_, i) => ({
      id: `n${i + 1}`,
      httpPort: ports[3 * i] as number,
      raftPort: ports[3 * i + 1] as number,
      amqpPort: ports[3 * i + 2] as number,
      dataDir: join(dir, `n${i + 1}`),
    }));
    const nodes = plan.map((p): ClusterNode => {
      const peers = plan
        .filter((q) => q.id !== p.id)
        .map((q) => `${q.id}=${HOST}:${q.raftPort};amqp=${HOST}:${q.amqpPort};http=${HOST}:${q.httpPort}`)
        .join(",");
      const env: Record<string, string> = {
        WARREN_NODE_ID: p.id,
        WARREN_DATA_DIR: p.dataDir,
        WARREN_HTTP_HOST: HOST,
        WARREN_HTTP_PORT: String(p.httpPort),
        WARREN_RAFT_HOST: HOST,
        WARREN_RAFT_PORT: String(p.raftPort),
        WARREN_AMQP_HOST: HOST,
        WARREN_AMQP_PORT: String(p.amqpPort),
        WARREN_CLUSTER_SECRET_FILE: secretFile,
        WARREN_LOG_LEVEL: "info",
        ...(size > 1 ? { WARREN_PEERS: peers } : {}),
        ...opts.env,
      };
      return {
        ...p,
        proc: new NodeProcess(p.id, env),
        http: new HttpClient(`http://${HOST}:${p.httpPort}`),
        amqpUrl: `amqp://guest:guest@${HOST}:${p.amqpPort}`,
      };
    });
    const cluster = new TestCluster(dir, nodes, opts.readyTimeoutMs ?? 60_000);
    try {
      for (const n of nodes) n.proc.start();
      await cluster.waitReady();
      await cluster.checkGuestServed();
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  node(id: string): ClusterNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Nodes whose process runs. */
  running(): ClusterNode[] {
    return this.nodes.filter((n) => n.proc.running);
  }

  /** Poll /ready on the given nodes (default: all running ones) until each answers 200. */
  async waitReady(ids?: readonly string[], timeoutMs = this.readyTimeoutMs): Promise<void> {
    const targets = ids ? ids.map((id) => this.node(id)) : this.running();
    await Promise.all(
      targets.map(async (n) => {
        const ready = await n.proc.waitForReadyLine(timeoutMs);
        // The AMQP door listens where the harness told it to (amqpUrl is only true if it does).
        if (ready.amqp !== `${HOST}:${n.amqpPort}`) {
          throw new Error(
            `${n.id} reports AMQP at ${String(ready.amqp)}, not ${HOST}:${n.amqpPort}\n${n.proc.tail()}`,
          );
        }
        await waitFor(
          async () => {
            if (!n.proc.running) throw new Error(`${n.id} exited:\n${n.proc.tail()}`);
            return (await n.http.get("/ready")).status === 200;
          },
          { timeoutMs, what: `${n.id} /ready`, intervalMs: 100 },
        ).catch((err: Error) => {
          throw new Error(`${err.message}\n${this.tail()}`);
        });
      }),
    );
  }

  /**
   * A first boot: every node that says ready serves guest on the default vhost at once (the
   * default user comes with its permissions in one metadata entry, applied before /ready).
   */
  private async checkGuestServed(): Promise<void> {
    for (const n of this.nodes) {
      // Needs guest's write permission on "/" (an administrator may list without any), and
      // changes nothing: no queue is bound to this key.
      const res = await n.http.post("/api/exchanges/%2F/amq.default/publish", {
        routing_key: "harness.no-such-queue",
        payload: "",
        payload_encoding: "string",
        properties: {},
      });
      if (res.status !== 200) {
        throw new Error(
          `${n.id} is ready but a publish as guest is ${res.status} ${JSON.stringify(res.body)}\n${this.tail()}`,
        );
      }
    }
  }

  /** Start a stopped node again (same ports, same data) and wait for it to be ready. */
  async restart(id: string): Promise<void> {
    const n = this.node(id);
    n.proc.start();
    await this.waitReady([id]);
  }

  /** The last lines of every node's output, for failure messages. */
  tail(n = 30): string {
    return this.nodes.map((x) => x.proc.tail(n)).join("\n");
  }

  /** Kill every process (SIGKILL) and remove the data directory. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all(this.nodes.map((n) => (n.proc.running ? n.proc.kill() : undefined)));
    await rm(this.dir, { recursive: true, force: true });
  }
}
