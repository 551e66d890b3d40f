/**
 * A three-node Warren cluster where every link goes through a Toxiproxy proxy:
 *
 * - `nI_to_nJ` carries everything nI sends to nJ. Warren's transport has one connection per
 *   ordered pair (nI dials nJ and sends on it; nJ answers on the connection it dialed), so each
 *   node's peer address for nJ is the listen address of `nI_to_nJ`, and disabling that one proxy
 *   cuts exactly the direction nI -> nJ;
 * - `nI_http` carries the test's HTTP clients to nI (the names match deploy/toxiproxy.json).
 *
 * Built on the harness's NodeProcess (the harness's TestCluster wires peers directly). Process
 * faults (kill -9, restart, SIGSTOP/SIGCONT) act on the local child processes.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Toxiproxy } from "toxiproxy-node-client";
import { type ExitStatus, freePorts, HttpClient, NodeProcess, waitFor } from "../harness/index.js";
import { type AcquiredToxiproxy, acquireToxiproxy } from "../toxiproxy/index.js";

const HOST = "127.0.0.1";

/** What the scenarios need from a node's process (NodeProcess locally; RemoteNode for CHAOS_NODES). */
export interface NodeControl {
  readonly running: boolean;
  readonly pid: number | undefined;
  start(): void;
  kill(): Promise<unknown>;
  /** Send `signal` and wait for the exit (SIGKILL after `timeoutMs`, reported as such). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<ExitStatus>;
  tail(n?: number): string;
  waitForReadyLine(timeoutMs: number): Promise<unknown>;
}

/** A node of a cluster we did not start (docker-compose): network faults only. */
class RemoteNode implements NodeControl {
  readonly running = true;
  readonly pid = undefined;
  constructor(private readonly id: string) {}
  start(): void {
    throw new Error(`${this.id}: process faults need the nodes the suite starts itself (unset CHAOS_NODES)`);
  }
  kill(): Promise<unknown> {
    return Promise.reject(new Error(`${this.id}: process faults need local nodes (unset CHAOS_NODES)`));
  }
  stop(): Promise<ExitStatus> {
    return Promise.reject(new Error(`${this.id}: process faults need local nodes (unset CHAOS_NODES)`));
  }
  tail(): string {
    return `[${this.id}] remote node: see its own logs`;
  }
  waitForReadyLine(): Promise<unknown> {
    return Promise.resolve(undefined);
  }
}

export interface ChaosNode {
  readonly id: string;
  readonly proc: NodeControl;
  /** The test's client, through `nI_http`. */
  readonly client: HttpClient;
  /** Straight to the node (for observing state without the faults in the way). */
  readonly direct: HttpClient;
}

export interface ProxiedClusterOptions {
  readonly random: () => number;
  /** Extra WARREN_* settings for every node. */
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

type ProxyHandle = Awaited<ReturnType<Toxiproxy["createProxy"]>>;

export const linkName = (from: string, to: string): string => `${from}_to_${to}`;

export class ProxiedCluster {
  private destroyed = false;
  private readonly paused = new Set<string>();

  private constructor(
    private readonly dir: string | undefined,
    private readonly toxi: AcquiredToxiproxy,
    readonly toxiproxy: Toxiproxy,
    readonly nodes: readonly ChaosNode[],
    private readonly proxies: ReadonlyMap<string, ProxyHandle>,
    private readonly readyTimeoutMs: number,
  ) {}

  /**
   * The cluster under test: with CHAOS_NODES set (`n1=http://host:15672,...`, each node's HTTP
   * address reached directly) the running cluster behind TOXIPROXY_URL, whose proxies must be
   * named `nI_to_nJ` and `nI_http` (deploy/toxiproxy.json) and whose `nI_http` listeners are
   * reached at CHAOS_PROXY_HOST (default 127.0.0.1); otherwise three local nodes we start.
   */
  static async acquire(opts: ProxiedClusterOptions): Promise<ProxiedCluster> {
    const remote = process.env.CHAOS_NODES;
    if (remote === undefined || remote === "") return ProxiedCluster.start(opts);
    return ProxiedCluster.attach(remote, process.env.CHAOS_PROXY_HOST ?? HOST, opts);
  }

  private static async attach(
    spec: string,
    proxyHost: string,
    opts: ProxiedClusterOptions,
  ): Promise<ProxiedCluster> {
    const toxi = await acquireToxiproxy({ random: opts.random });
    if (toxi.source !== "external")
      throw new Error("CHAOS_NODES needs TOXIPROXY_URL (the cluster's Toxiproxy)");
    const toxiproxy = new Toxiproxy(toxi.url);
    const all = await toxiproxy.getAll();
    const proxies = new Map<string, ProxyHandle>(Object.entries(all));
    const nodes: ChaosNode[] = spec.split(",").map((item) => {
      const [id, url] = item.split("=") as [string, string | undefined];
      const clientProxy = proxies.get(`${id}_http`);
      if (url === undefined || clientProxy === undefined)
        throw new Error(`CHAOS_NODES item ${item}: want id=http://host:port and a proxy ${id}_http`);
      const port = clientProxy.listen.slice(clientProxy.listen.lastIndexOf(":") + 1);
      return {
        id,
        proc: new RemoteNode(id),
        client: new HttpClient(`http://${proxyHost}:${port}`, { timeoutMs: 8_000 }),
        direct: new HttpClient(url.replace(/\/+$/, ""), { timeoutMs: 8_000 }),
      };
    });
    const cluster = new ProxiedCluster(
      undefined,
      toxi,
      toxiproxy,
      nodes,
      proxies,
      opts.readyTimeoutMs ?? 90_000,
    );
    await cluster.restore();
    return cluster;
  }

  static async start(opts: ProxiedClusterOptions): Promise<ProxiedCluster> {
    const ids = ["n1", "n2", "n3"];
    const dir = await mkdtemp(join(tmpdir(), "warren-chaos-"));
    const toxi = await acquireToxiproxy({ random: opts.random });
    const toxiproxy = new Toxiproxy(toxi.url);
    const proxies = new Map<string, ProxyHandle>();
    const nodes: ChaosNode[] = [];
    let cluster: ProxiedCluster | undefined;
    try {
      const secretFile = join(dir, "cluster-secret");
      await writeFile(secretFile, `${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
      const ports = await freePorts(ids.length * 3, HOST);
      const port = (i: number, k: number) => ports[3 * i + k] as number;
      const create = async (name: string, upstream: number) => {
        const p = await toxiproxy.createProxy({ name, listen: `${HOST}:0`, upstream: `${HOST}:${upstream}` });
        proxies.set(name, p);
        return p;
      };
      for (const [i, from] of ids.entries()) {
        await create(`${from}_http`, port(i, 0));
        for (const [j, to] of ids.entries()) if (i !== j) await create(linkName(from, to), port(j, 1));
      }
      for (const [i, id] of ids.entries()) {
        const peers = ids
          .map((to, j) => ({ to, j }))
          .filter(({ j }) => j !== i)
          .map(({ to, j }) => `${to}=${proxies.get(linkName(id, to))?.listen};amqp=${HOST}:${port(j, 2)}`)
          .join(",");
        const env: Record<string, string> = {
          WARREN_NODE_ID: id,
          WARREN_DATA_DIR: join(dir, id),
          WARREN_HTTP_HOST: HOST,
          WARREN_HTTP_PORT: String(port(i, 0)),
          WARREN_RAFT_HOST: HOST,
          WARREN_RAFT_PORT: String(port(i, 1)),
          WARREN_AMQP_HOST: HOST,
          WARREN_AMQP_PORT: String(port(i, 2)),
          WARREN_CLUSTER_SECRET_FILE: secretFile,
          WARREN_LOG_LEVEL: "info",
          WARREN_PEERS: peers,
          ...opts.env,
        };
        nodes.push({
          id,
          proc: new NodeProcess(id, env),
          client: new HttpClient(`http://${proxies.get(`${id}_http`)?.listen}`, { timeoutMs: 8_000 }),
          direct: new HttpClient(`http://${HOST}:${port(i, 0)}`, { timeoutMs: 8_000 }),
        });
      }
      cluster = new ProxiedCluster(dir, toxi, toxiproxy, nodes, proxies, opts.readyTimeoutMs ?? 90_000);
      for (const n of nodes) n.proc.start();
      await cluster.waitReady(ids);
      return cluster;
    } catch (err) {
      if (cluster) await cluster.destroy();
      else {
        for (const n of nodes) if (n.proc.running) await n.proc.kill();
        await toxi.close();
        await rm(dir, { recursive: true, force: true });
      }
      throw err;
    }
  }

  node(id: string): ChaosNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /**
   * The cluster secret file of a cluster this suite started (undefined when attached to one
   * with CHAOS_NODES): what an extra node needs to join it.
   */
  secretFile(): string | undefined {
    return this.dir === undefined ? undefined : join(this.dir, "cluster-secret");
  }

  proxy(name: string): ProxyHandle {
    const p = this.proxies.get(name);
    if (p === undefined) throw new Error(`no proxy ${name}`);
    return p;
  }

  async waitReady(ids: readonly string[], timeoutMs = this.readyTimeoutMs): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        const n = this.node(id);
        await n.proc.waitForReadyLine(timeoutMs);
        await waitFor(async () => (await n.direct.get("/ready")).status === 200, {
          timeoutMs,
          what: `${id} /ready`,
          intervalMs: 100,
        });
      }),
    );
  }

  // --- network faults -------------------------------------------------------------------------

  /** Enable or disable one proxy (disabling closes its open connections and refuses new ones). */
  async setLink(name: string, enabled: boolean): Promise<void> {
    const p = this.proxy(name);
    await p.update({ enabled, listen: p.listen, upstream: p.upstream });
  }

  /** Cut (or restore) traffic from `from` to `to` only. */
  cut(from: string, to: string): Promise<void> {
    return this.setLink(linkName(from, to), false);
  }

  /** Split the cluster: no Raft traffic between nodes of different sides (both directions). */
  async partition(...sides: readonly (readonly string[])[]): Promise<void> {
    const sideOf = new Map<string, number>();
    for (const [i, s] of sides.entries()) for (const id of s) sideOf.set(id, i);
    for (const a of this.nodes)
      for (const b of this.nodes)
        if (a.id !== b.id && sideOf.get(a.id) !== sideOf.get(b.id)) await this.cut(a.id, b.id);
  }

  /** Every proxy enabled, every toxic removed. */
  async heal(): Promise<void> {
    await this.toxiproxy.reset();
  }

  /** Back to a healthy cluster: links healed, paused nodes resumed, dead ones restarted, all ready. */
  async restore(): Promise<void> {
    await this.heal();
    for (const id of [...this.paused]) this.resume(id);
    for (const n of this.nodes) if (!n.proc.running) n.proc.start();
    await this.waitReady(this.nodes.map((n) => n.id));
  }

  // --- process faults -------------------------------------------------------------------------

  kill(id: string): Promise<unknown> {
    return this.node(id).proc.kill();
  }

  /**
   * Graceful stop (SIGTERM), as an operator's restart or an orchestrator does: how the process
   * ended and how long it took. A node that outlives `timeoutMs` is SIGKILLed (reported so).
   */
  async stop(id: string, timeoutMs = 30_000): Promise<{ exit: ExitStatus; ms: number }> {
    const started = Date.now();
    const exit = await this.node(id).proc.stop("SIGTERM", timeoutMs);
    return { exit, ms: Date.now() - started };
  }

  async restart(id: string): Promise<void> {
    this.node(id).proc.start();
    await this.waitReady([id]);
  }

  /** SIGSTOP: the process freezes (its sockets stay open, nothing is answered). */
  pause(id: string): void {
    const pid = this.node(id).proc.pid;
    if (pid === undefined) throw new Error(`${id} is not running`);
    process.kill(pid, "SIGSTOP");
    this.paused.add(id);
  }

  resume(id: string): void {
    const pid = this.node(id).proc.pid;
    if (pid === undefined) throw new Error(`${id} is not running`);
    process.kill(pid, "SIGCONT");
    this.paused.delete(id);
  }

  tail(n = 40): string {
    return this.nodes.map((x) => x.proc.tail(n)).join("\n");
  }

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const id of this.paused) this.resume(id);
    if (this.dir === undefined) {
      // Someone else's cluster: leave it running and healed.
      await this.heal();
      await this.toxi.close();
      return;
    }
    await Promise.all(this.nodes.map((n) => (n.proc.running ? n.proc.kill() : undefined)));
    // Our proxies go too (they would clash with the next run's names on a shared server).
    for (const p of this.proxies.values()) await p.remove().catch(() => undefined);
    await this.toxi.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
