/**
 * In-process broker clusters for the broker tests: real NodeStorage (LevelDB in temp dirs), real
 * Transport on loopback (ephemeral ports), real RaftHost, one BrokerService per node. Nodes can
 * be killed abruptly (no leadership transfer) as a crash looks to the others.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RaftHost } from "../../../raft/host/index.js";
import { NodeStorage } from "../../../raft/storage/index.js";
import { Transport } from "../../../raft/transport/index.js";
import { BrokerService } from "../broker-service.js";
import type { BrokerSettings } from "../context.js";
import type { ClientContext, ConsumerSink, Delivery } from "../types.js";

export const SECRET = "broker-test-secret-0123456789";

export async function eventually<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface TestNode {
  readonly id: string;
  readonly dir: string;
  port: number;
  storage: NodeStorage;
  transport: Transport;
  host: RaftHost;
  broker: BrokerService;
  alive: boolean;
}

export class BrokerCluster {
  readonly nodes: TestNode[] = [];

  private constructor(
    private readonly ids: string[],
    private readonly settings: Partial<BrokerSettings>,
    private readonly snapshotEvery: number | undefined,
  ) {}

  static async start(
    size: number,
    settings: Partial<BrokerSettings> = {},
    opts: { snapshotEvery?: number } = {},
  ): Promise<BrokerCluster> {
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const c = new BrokerCluster(
      ids,
      {
        proposalTimeoutMs: 3000,
        memoryHighWatermark: 0,
        nodeDownGraceMs: 500,
        ...settings,
      },
      opts.snapshotEvery,
    );
    const transports: Transport[] = [];
    const storages: NodeStorage[] = [];
    const dirs: string[] = [];
    for (const id of ids) {
      const dir = await mkdtemp(join(tmpdir(), `warren-broker-${id}-`));
      dirs.push(dir);
      storages.push(await NodeStorage.open(dir));
      const t = new Transport({
        nodeId: id,
        listen: { host: "127.0.0.1", port: 0 },
        peers: new Map(),
        secret: SECRET,
      });
      await t.start();
      transports.push(t);
    }
    for (const [i, t] of transports.entries()) {
      for (const [j, other] of transports.entries()) if (i !== j) t.setPeer(ids[j]!, other.address());
    }
    await Promise.all(
      ids.map(async (id, i) => {
        const node = await c.boot(id, dirs[i]!, storages[i]!, transports[i]!);
        c.nodes[i] = node;
      }),
    );
    await eventually("a metadata leader and a default user", () =>
      c.nodes.every((n) => n.broker.isReady() && n.broker.listPermissions({ user: "guest" }).length > 0),
    );
    return c;
  }

  private async boot(id: string, dir: string, storage: NodeStorage, transport: Transport): Promise<TestNode> {
    const host = new RaftHost({
      nodeId: id,
      storage,
      transport,
      tickMs: 10,
      electionTick: 30,
      heartbeatTick: 2,
      proposalTimeoutMs: this.settings.proposalTimeoutMs ?? 3000,
      ...(this.snapshotEvery !== undefined ? { snapshotEvery: this.snapshotEvery, trailingEntries: 2 } : {}),
    });
    await host.start();
    const broker = await BrokerService.start({
      nodeId: id,
      host,
      transport,
      peers: this.ids.filter((p) => p !== id),
      storage,
      settings: this.settings,
    });
    return { id, dir, port: transport.address().port, storage, transport, host, broker, alive: true };
  }

  node(id: string): TestNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** Stops a node abruptly: no leadership transfer, connections just close. */
  async kill(id: string): Promise<void> {
    const n = this.node(id);
    if (!n.alive) return;
    n.alive = false;
    await n.broker.stop();
    await n.host.stop();
    await n.transport.close();
    await n.storage.close();
  }

  /** Starts a stopped node again on its port and data directory, as a process restart would. */
  async restart(id: string): Promise<TestNode> {
    const old = this.node(id);
    if (old.alive) throw new Error(`${id} is running`);
    const storage = await NodeStorage.open(old.dir);
    const peers = new Map(
      this.nodes.filter((n) => n.id !== id).map((n) => [n.id, { host: "127.0.0.1", port: n.port }]),
    );
    const transport = new Transport({
      nodeId: id,
      listen: { host: "127.0.0.1", port: old.port },
      peers,
      secret: SECRET,
    });
    await transport.start();
    const node = await this.boot(id, old.dir, storage, transport);
    this.nodes[this.nodes.indexOf(old)] = node;
    return node;
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.kill(n.id)));
    await Promise.all(this.nodes.map((n) => rm(n.dir, { recursive: true, force: true })));
  }
}

let connections = 0;

/** A client context of a fresh connection on `node`. */
export function client(node: TestNode, user = "guest", vhost = "/"): ClientContext {
  return { user, vhost, connection: `${node.id}/test.${++connections}`, remoteAddress: "127.0.0.1" };
}

/** A sink that records deliveries and cancellations. */
export function recorder(): ConsumerSink & { deliveries: Delivery[]; cancelledWith: string[] } {
  const deliveries: Delivery[] = [];
  const cancelledWith: string[] = [];
  return {
    deliveries,
    cancelledWith,
    deliver: (d) => deliveries.push(d),
    cancelled: (reason) => cancelledWith.push(reason),
  };
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);
