/**
 * In-process broker clusters for the broker tests: real NodeStorage (LevelDB in temp dirs), real
 * Transport on loopback (ephemeral ports), real RaftHost, one BrokerService per node. Nodes can
 * be killed abruptly (no leadership transfer) as a crash looks to the others.
 */
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RAFT_CHANNEL, RaftHost } from "../../../raft/host/index.js";
import { NodeStorage } from "../../../raft/storage/index.js";
import { Transport } from "../../../raft/transport/index.js";
import type { FieldTable } from "../../meta/types.js";
import { BrokerService } from "../broker-service.js";
import type { BrokerSettings } from "../context.js";
import type {
  ClientContext,
  ConsumerSink,
  Delivery,
  ExchangeDeclareRequest,
  PublishOutcome,
  QueueDeclareRequest,
  QueueDeclareResult,
  QueueInfo,
  QueueMembers,
} from "../types.js";

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

/**
 * Data directories not removed yet, of every cluster of this test process: a test that times out
 * or a worker torn down before its afterAll still leaves nothing behind in the temp directory.
 */
const liveDirs = new Set<string>();
process.on("exit", () => {
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
});

/** The transport's send and (private) delivery of received frames, which `freeze` holds. */
interface FreezableTransport {
  send(to: string, channel: string, payload: unknown): boolean;
  deliver(from: string, channel: string, payload: unknown): void;
}

export class BrokerCluster {
  readonly nodes: TestNode[] = [];
  /** Every data directory this cluster made (also those of nodes that never finished booting). */
  private readonly dirs: string[] = [];
  /** Opened by `start()`, by node index: closed by `close()` if that node never booted. */
  private readonly transports: Transport[] = [];
  private readonly storages: NodeStorage[] = [];
  /** Nodes that joined the running cluster (`join()`): they restart with `join` too. */
  private readonly joined = new Set<string>();
  /** Frozen nodes (`freeze()`): how to resume each. */
  private readonly frozen = new Map<string, () => void>();

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
    try {
      await c.bootAll(ids);
    } catch (err) {
      await c.close();
      throw err;
    }
    return c;
  }

  /** Opens storage and transport for every node, connects them, boots the brokers, waits for bootstrap. */
  private async bootAll(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const dir = await mkdtemp(join(tmpdir(), `warren-broker-${id}-`));
      this.dirs.push(dir);
      liveDirs.add(dir);
      this.storages.push(await NodeStorage.open(dir));
      const t = new Transport({
        nodeId: id,
        listen: { host: "127.0.0.1", port: 0 },
        peers: new Map(),
        secret: SECRET,
      });
      this.transports.push(t);
      await t.start();
    }
    const transports = this.transports;
    for (const [i, t] of transports.entries()) {
      for (const [j, other] of transports.entries()) if (i !== j) t.setPeer(ids[j]!, other.address());
    }
    await Promise.all(
      ids.map(async (id, i) => {
        const node = await this.boot(id, this.dirs[i]!, this.storages[i]!, transports[i]!);
        this.nodes[i] = node;
      }),
    );
    await eventually("a metadata leader and a default user", () =>
      this.nodes.every((n) => n.broker.isReady() && n.broker.listPermissions({ user: "guest" }).length > 0),
    );
  }

  private async boot(
    id: string,
    dir: string,
    storage: NodeStorage,
    transport: Transport,
    extra: Partial<BrokerSettings> = {},
  ): Promise<TestNode> {
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
      settings: { ...this.settings, ...extra },
    }).catch(async (err: unknown) => {
      await host.stop();
      throw err;
    });
    return { id, dir, port: transport.address().port, storage, transport, host, broker, alive: true };
  }

  node(id: string): TestNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /**
   * Freezes a node as SIGSTOP does, as the other nodes see it: its connections stay open (no
   * peer-down) but it answers nothing, and what is sent to it waits (as in the kernel's buffers)
   * until `thaw` delivers it in order. Its own timers still run in this process; what it sends
   * meanwhile is dropped (a stopped process would not have sent it). Reaches into the
   * transport's internals: there is no public way to hold a live link.
   */
  freeze(id: string): void {
    const n = this.node(id);
    if (this.frozen.has(id)) return;
    const t = n.transport as unknown as FreezableTransport;
    const send = t.send;
    const deliver = t.deliver;
    const held: [string, string, unknown][] = [];
    t.send = () => true;
    t.deliver = (from, channel, payload) => {
      held.push([from, channel, payload]);
    };
    this.frozen.set(id, () => {
      t.send = send;
      t.deliver = deliver;
      for (const [from, channel, payload] of held) t.deliver(from, channel, payload);
    });
  }

  /**
   * Makes `id`, the leader of `group`, a leader that was replaced without noticing: `group`'s
   * Raft frames to `id` wait (as with `freeze`), its copy of `group` stops ticking (so its
   * quorum check never runs), and it hands leadership to `to`, which the other members then
   * follow. `id` goes on believing it leads, for as long as the test needs; a real one notices
   * within an election timeout (a late timer, a GC pause or a loaded machine opens that window).
   * Everything else on `id` (its other groups, RPC, clients) works. Resolves once every other
   * node follows `to`, with the undo: frames delivered in order, ticks back. Reaches into the
   * transport's and the host's internals: there is no public way to hold one group's view.
   */
  async deposeUnnoticed(id: string, group: string, to: string): Promise<() => void> {
    const n = this.node(id);
    const t = n.transport as unknown as FreezableTransport;
    const groups = (n.host as unknown as { groups: Map<string, { node: { tick(): void } }> }).groups;
    const core = groups.get(group)?.node;
    if (core === undefined) throw new Error(`${id} hosts no group ${group}`);
    // The transfer needs `to` known to be caught up: an append ack still on its way when the
    // frames start waiting would leave the leader waiting for it, and the transfer never starts.
    await eventually(`${id} knowing ${to} has its whole log of ${group}`, () => {
      const s = n.host.status(group);
      const mine = s.progress?.get(id)?.match;
      return mine !== undefined && s.commit === mine && s.progress?.get(to)?.match === mine;
    });
    const deliver = t.deliver;
    const held: [string, string, unknown][] = [];
    t.deliver = (from, channel, payload) => {
      // A raft payload is a list of [group, message] pairs (raft/host/outbox.ts).
      if (channel !== RAFT_CHANNEL || !Array.isArray(payload)) return deliver.call(t, from, channel, payload);
      const mine = payload.filter((p: unknown) => Array.isArray(p) && p[0] === group);
      if (mine.length > 0) held.push([from, channel, mine]);
      if (mine.length < payload.length || payload.length === 0) {
        deliver.call(
          t,
          from,
          channel,
          payload.filter((p: unknown) => !(Array.isArray(p) && p[0] === group)),
        );
      }
    };
    const tick = core.tick;
    core.tick = () => undefined;
    const undo = () => {
      core.tick = tick;
      t.deliver = deliver;
      for (const [from, channel, payload] of held.splice(0)) t.deliver(from, channel, payload);
    };
    try {
      // It never sees `to` lead, so its wait for that ends in an error: ignored.
      n.host.transferLeadership(group, to).catch(() => undefined);
      await eventually(`every node but ${id} following ${to} in ${group}`, () =>
        this.nodes.every(
          (m) =>
            !m.alive || m.id === id || !m.host.groupIds().includes(group) || m.host.leaderOf(group) === to,
        ),
      );
    } catch (err) {
      undo();
      throw err;
    }
    return undo;
  }

  /** Resumes a frozen node: what was sent to it meanwhile is handled now. */
  thaw(id: string): void {
    const resume = this.frozen.get(id);
    this.frozen.delete(id);
    resume?.();
  }

  /** Stops a node abruptly: no leadership transfer, connections just close. */
  async kill(id: string): Promise<void> {
    const n = this.node(id);
    if (!n.alive) return;
    n.alive = false;
    this.frozen.delete(id);
    await n.broker.stop();
    await n.host.stop();
    await n.transport.close();
    await n.storage.close();
  }

  /**
   * Starts a stopped node again on its port and data directory, as a process restart would. A
   * node that joined restarts with `join` unless `join: false` (an operator who dropped the flag).
   */
  async restart(id: string, opts: { join?: boolean } = {}): Promise<TestNode> {
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
    const extra = opts.join === false ? {} : this.joinSettings(id, transport);
    const node = await this.boot(id, old.dir, storage, transport, extra);
    this.nodes[this.nodes.indexOf(old)] = node;
    return node;
  }

  /**
   * Starts a new node that joins the running cluster (as an operator adds a node: it knows the
   * running nodes' addresses, they learn its own from the metadata). Resolves once it booted;
   * poll `broker.isReady()` for the end of the join.
   */
  async join(id: string, opts: { advertise?: string } = {}): Promise<TestNode> {
    if (this.ids.includes(id)) throw new Error(`${id} exists`);
    const dir = await mkdtemp(join(tmpdir(), `warren-broker-${id}-`));
    this.dirs.push(dir);
    liveDirs.add(dir);
    const storage = await NodeStorage.open(dir);
    this.storages.push(storage);
    const peers = new Map(
      this.nodes.filter((n) => n.alive).map((n) => [n.id, { host: "127.0.0.1", port: n.port }]),
    );
    const transport = new Transport({
      nodeId: id,
      listen: { host: "127.0.0.1", port: 0 },
      peers,
      secret: SECRET,
    });
    this.transports.push(transport);
    await transport.start();
    this.joined.add(id);
    const settings = this.joinSettings(id, transport);
    const node = await this.boot(id, dir, storage, transport, {
      ...settings,
      ...(opts.advertise !== undefined ? { self: { raft: opts.advertise } } : {}),
    });
    this.nodes.push(node);
    this.ids.push(id);
    return node;
  }

  private joinSettings(id: string, transport: Transport): Partial<BrokerSettings> {
    if (!this.joined.has(id)) return {};
    return { join: true, self: { raft: `127.0.0.1:${transport.address().port}` } };
  }

  /**
   * Stops every node and removes every data directory, whatever failed on the way (a node that
   * will not stop, a cluster that never finished starting): the directories go in any case.
   */
  async close(): Promise<void> {
    const unbooted = (i: number) => this.nodes[i] === undefined;
    const stops = await Promise.allSettled([
      ...this.nodes.filter((n) => n !== undefined).map((n) => this.kill(n.id)),
      // Parts of nodes that never booted a broker.
      ...this.transports.filter((_, i) => unbooted(i)).map((t) => t.close()),
      ...this.storages.filter((_, i) => unbooted(i)).map((st) => st.close()),
    ]);
    await Promise.all(
      this.dirs.map(async (d) => {
        await rm(d, { recursive: true, force: true });
        liveDirs.delete(d);
      }),
    );
    const failed = stops.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }

  /** The data directories this cluster made (tests check they are gone after close). */
  dataDirs(): readonly string[] {
    return [...this.dirs];
  }
}

let connections = 0;

/** A client context of a fresh connection on `node`. */
export function client(node: { readonly id: string }, user = "guest", vhost = "/"): ClientContext {
  return { user, vhost, connection: `${node.id}/test.${++connections}`, remoteAddress: "127.0.0.1" };
}

/** A durable quorum queue's queue.declare as the tests send it: no passive, exclusive or auto-delete. */
export function quorumQueue(name: string, args: FieldTable = {}): QueueDeclareRequest {
  return { name, passive: false, durable: true, exclusive: false, autoDelete: false, arguments: args };
}

/** A durable exchange's exchange.declare as the tests send it: no passive, auto-delete or internal. */
export function durableExchange(name: string, type: string, args: FieldTable = {}): ExchangeDeclareRequest {
  return { name, type, passive: false, durable: true, autoDelete: false, internal: false, arguments: args };
}

/** Declares a quorum queue through `b`, as a fresh connection on that node. */
export function declareQueue(
  b: BrokerService,
  name: string,
  args: FieldTable = {},
): Promise<QueueDeclareResult> {
  return b.declareQueue(client({ id: b.nodeId }), quorumQueue(name, args));
}

/**
 * Declares a quorum queue through `b` and waits until every live node of `c` knows it and its
 * leader: `b`'s view of it then.
 */
export async function declareLed(
  c: BrokerCluster,
  b: BrokerService,
  name: string,
  args: FieldTable = {},
): Promise<QueueInfo> {
  await declareQueue(b, name, args);
  return eventually(`a leader of ${name} on every node`, async () => {
    const alive = c.nodes.filter((n) => n.alive);
    const infos = await Promise.all(alive.map((n) => n.broker.getQueue("/", name)));
    if (!infos.every((i) => i?.leader !== undefined)) return undefined;
    const own = alive.findIndex((n) => n.broker === b);
    return own >= 0 ? infos[own] : b.getQueue("/", name);
  });
}

/** Declares a quorum queue through `b` and waits until its members are settled and led. */
export async function declareSettled(
  b: BrokerService,
  name: string,
  args: FieldTable = {},
): Promise<QueueMembers> {
  await declareQueue(b, name, args);
  return eventually(`${name}'s members settled`, async () => {
    const m = await b.queueMembers("/", name);
    return m.settled && m.leader !== undefined ? m : undefined;
  });
}

/** Takes every message of `queue` through `b` (basic.get, no-ack, one connection): their bodies in queue order. */
export async function drainBodies(b: BrokerService, queue: string): Promise<string[]> {
  const ctx = client({ id: b.nodeId });
  const got: string[] = [];
  for (;;) {
    const m = await b.get(ctx, 1, queue, true);
    if (m === undefined) return got;
    got.push(str(m.body));
  }
}

/** A persistent message of `body` to `queue` through the default exchange, from `b`. */
export function publishText(b: BrokerService, queue: string, body: string): Promise<PublishOutcome> {
  return b.publish(client({ id: b.nodeId }), {
    exchange: "",
    routingKey: queue,
    properties: { deliveryMode: 2 },
    body: text(body),
    mandatory: false,
  });
}

/** A manual-ack consumer of `queue` on channel 1 of a fresh connection to `b`, recording into a new sink. */
export async function consumeRecorded(
  b: BrokerService,
  queue: string,
  consumerTag: string,
  prefetch: number,
): Promise<ReturnType<typeof recorder>> {
  const sink = recorder();
  await b.consume(
    client({ id: b.nodeId }),
    { queue, channel: 1, consumerTag, prefetch, noAck: false, exclusive: false, arguments: {} },
    sink,
  );
  return sink;
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
