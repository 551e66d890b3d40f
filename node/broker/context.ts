/**
 * What the broker's parts share on one node. Built once by BrokerService; each part takes the
 * whole context (they call each other: a dead-letter publishes, a delivery goes to a consumer).
 */
import type { NodeId } from "../../raft/core/types.js";
import type { RaftHost } from "../../raft/host/index.js";
import type { Logger } from "../../raft/logger.js";
import type { Transport } from "../../raft/transport/index.js";
import type { Forwarder } from "../cluster/forward.js";
import type { Rpc } from "../cluster/rpc.js";
import type { QueueLeaderLocator } from "../config/defaults.js";
import type { AdvertisedAddress } from "../config/kinds.js";
import { WarrenError } from "../errors.js";
import type { QueueRecord } from "../meta/index.js";
import type { BodyCache } from "./body-cache.js";
import type { MetaClient } from "./meta-client.js";
import type { RoutingMirror } from "./routing-mirror.js";

/** The slice of NodeConfig the broker uses (tests build it directly). */
export interface BrokerSettings {
  readonly maxMessageSize: number;
  readonly proposalTimeoutMs: number;
  readonly initialGroupSize: number;
  /** A new queue's leader without `x-queue-leader-locator` (default `client-local`, as RabbitMQ). */
  readonly queueLeaderLocator?: QueueLeaderLocator;
  readonly maxUncommittedBytes: number;
  /** Fraction of total memory (0 disables the memory check). */
  readonly memoryHighWatermark: number;
  readonly loopbackUsers: readonly string[];
  readonly defaultUser: string;
  readonly defaultPass: string;
  readonly defaultVhost: string;
  /** A peer whose connection stays down this long is declared down to the queues it used. */
  readonly nodeDownGraceMs: number;
  /** Every peer: id and addresses (for listNodes). */
  readonly peers: readonly { id: NodeId; raft: string; amqp?: string; http?: string }[];
  /** This node's own addresses, for listNodes (and, `raft`, what a joining node advertises). */
  readonly self?: { raft?: string; amqp?: string; http?: string };
  /**
   * Addresses of the doors to report instead of the bound ones (`amqp.advertise`,
   * `http.advertise`): `setListeners` keeps these, taking only the bound port when one has none.
   */
  readonly advertise?: { readonly amqp?: AdvertisedAddress; readonly http?: AdvertisedAddress };
  /**
   * This node joins a running cluster (it is not one of the nodes the cluster started with): its
   * metadata replica starts without a configuration and asks `peers` to add it. It matters on the
   * first start only: later starts recover the membership from the stored replica, with or without it.
   */
  readonly join?: boolean;
  /**
   * How often this node carries out membership changes of the groups it leads (default
   * RECONCILE_EVERY_MS, 200 ms). Tests set it very high to hold a change half-way.
   */
  readonly membershipCheckMs?: number;
}

export { DEFAULT_NODE_DOWN_GRACE_MS } from "../config/defaults.js";

export interface BrokerContext {
  readonly nodeId: NodeId;
  readonly host: RaftHost;
  readonly transport: Transport;
  readonly rpc: Rpc;
  readonly forwarder: Forwarder;
  readonly meta: MetaClient;
  readonly routing: RoutingMirror;
  readonly bodies: BodyCache;
  readonly settings: BrokerSettings;
  readonly logger: Logger;
  /**
   * Every node of the cluster, this one included, sorted: the configured ones and those that
   * joined since, less those removed (it changes as nodes join and leave).
   */
  readonly nodes: readonly NodeId[];
  stopped: boolean;
  /**
   * Resolves once this node's previous process was declared gone (`node.down`, `node-down`:
   * startup.ts). Those commands name the node, not a connection, so anything this process
   * registers for its own connections before they commit (a consumer, a basic.get, a transient
   * queue) would be swept away with the old process's: such operations wait for it.
   */
  readonly recovered: Promise<void>;
}

/** Waits (bounded by the proposal timeout) until this node's restart was announced. */
export async function awaitRecovered(ctx: BrokerContext): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new WarrenError("NO_QUORUM", `node ${ctx.nodeId} is still recovering (no quorum yet)`)),
      ctx.settings.proposalTimeoutMs,
    );
  });
  try {
    await Promise.race([ctx.recovered, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a callback the Raft host (or the transport) calls us from. An exception there would
 * unwind into the host's apply loop and stop every group on the node; a broken derived-state
 * update is logged instead (the state machines themselves are unaffected).
 */
export function guarded(logger: Logger, what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    logger.error({ err, what }, "broker callback failed");
  }
}

/** The node that owns a connection id (`${nodeId}/${local id}`). */
export function ownerOf(connection: string): NodeId {
  const slash = connection.indexOf("/");
  return slash < 0 ? connection : connection.slice(0, slash);
}

export function queueKey(vhost: string, name: string): string {
  return `${vhost}\u0000${name}`;
}

export function recordKey(q: QueueRecord): string {
  return queueKey(q.vhost, q.name);
}
