/**
 * The broker service's contract with its front doors (HTTP now, AMQP next).
 *
 * One `Broker` runs per node. Any node serves any client: the broker routes locally, proposes
 * metadata changes to the metadata group and messages to each queue's Raft group, forwarding to
 * whichever node leads it, so a front door never needs to know where leaders are. Every method
 * either resolves or rejects with a `WarrenError` (node/errors.ts) whose code maps to an AMQP
 * reply code and an HTTP status; front doors translate, they do not invent errors.
 */
import type { NodeId } from "../../raft/core/types.js";
import type {
  BindingRecord,
  ConnectionId,
  DestinationKind,
  ExchangeRecord,
  FieldTable,
  PermissionKind,
  PermissionRecord,
  QueueRecord,
  UserRecord,
  VHostRecord,
} from "../meta/index.js";
import type { MessageId, MessageProperties } from "../queue/types.js";

export type { MessageId, MessageProperties };

/**
 * Who acts, and through which connection. Both doors build one per client connection
 * (the HTTP door per request, or per consume session).
 * `connection` is unique across the cluster and MUST be `${nodeId}/${localId}`: queue
 * machines find a dead node's consumers by that prefix.
 */
export interface ClientContext {
  readonly user: string;
  readonly vhost: string;
  readonly connection: ConnectionId;
  /** Tags of the user (administrator, management, ...): the HTTP door checks them per route. */
  readonly tags?: readonly string[];
  /** The peer address, for logs and the loopback-only rule of `guest`. */
  readonly remoteAddress?: string;
}

// ----------------------------------------------------------------------------------------------
// Messages
// ----------------------------------------------------------------------------------------------

export interface PublishRequest {
  readonly exchange: string;
  readonly routingKey: string;
  readonly properties: MessageProperties;
  readonly body: Uint8Array;
  /** AMQP `mandatory`: an unroutable message is returned (outcome `unroutable`). */
  readonly mandatory: boolean;
  /** AMQP channel number (0 for HTTP): only for logs and publisher identity. */
  readonly channel?: number;
}

/**
 * The outcome of a publish, known only once every target queue has committed it (a majority of
 * each quorum queue's replicas fsynced the entry) or refused it.
 * - `routed`: committed to `queues` (>= 1) queues. AMQP: basic.ack when confirms are on.
 * - `unroutable`: no queue matched. AMQP: basic.return (312 NO_ROUTE) when mandatory, then basic.ack.
 * - `rejected`: a target refused it (`x-overflow: reject-publish`); the message may have been
 *   stored in other targets, as RabbitMQ. AMQP: basic.nack.
 * A publish that cannot commit within the proposal timeout rejects with WarrenError NO_QUORUM
 * (AMQP: basic.nack; HTTP: 503 + Retry-After): it is never silently dropped nor confirmed.
 */
export type PublishOutcome =
  | { readonly kind: "routed"; readonly queues: number }
  | { readonly kind: "unroutable" }
  | { readonly kind: "rejected"; readonly queues: number };

/** A message handed to a consumer (or returned by basic.get). */
export interface Delivery {
  readonly queue: string;
  /** Identifies the message inside `queue` (settle it with this id). */
  readonly id: MessageId;
  /** Empty for basic.get. */
  readonly consumerTag: string;
  readonly redelivered: boolean;
  /** Times it was returned to the queue before; the properties carry `x-delivery-count` when > 0. */
  readonly deliveryCount: number;
  readonly exchange: string;
  readonly routingKey: string;
  readonly properties: MessageProperties;
  readonly body: Uint8Array;
}

/** basic.get-ok also reports how many messages remain ready. */
export interface GetResult extends Delivery {
  readonly messageCount: number;
}

/** Where a consumer's deliveries go. Called on the node that owns the client's connection. */
export interface ConsumerSink {
  deliver(delivery: Delivery): void;
  /**
   * The broker cancelled the consumer (its queue was deleted, or its queue became unavailable
   * for good): AMQP sends basic.cancel (consumer_cancel_notify).
   */
  cancelled(reason: string): void;
}

export interface ConsumeRequest {
  readonly queue: string;
  /** AMQP channel number (HTTP consume sessions use their own numbers). */
  readonly channel: number;
  /** Empty: the broker generates `amq.ctag-...`. Must be unique on the channel (else 530 NOT_ALLOWED). */
  readonly consumerTag: string;
  /** Per-consumer prefetch (basic.qos); 0 = unlimited. */
  readonly prefetch: number;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly arguments: FieldTable;
}

export type SettleOp = "ack" | "requeue" | "reject";

// ----------------------------------------------------------------------------------------------
// Metadata requests
// ----------------------------------------------------------------------------------------------

export interface ExchangeDeclareRequest {
  readonly name: string;
  readonly type: string;
  readonly passive: boolean;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
}

export interface QueueDeclareRequest {
  /** "" = server-named (`amq.gen-...`). */
  readonly name: string;
  readonly passive: boolean;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
}

export interface QueueDeclareResult {
  readonly queue: QueueRecord;
  readonly messageCount: number;
  readonly consumerCount: number;
}

export interface BindingRequest {
  readonly source: string;
  readonly destinationKind: DestinationKind;
  readonly destination: string;
  readonly routingKey: string;
  readonly arguments: FieldTable;
}

/** A queue as the management API lists it: record + live figures from its leader. */
export interface QueueInfo {
  readonly record: QueueRecord;
  readonly messages: number;
  readonly messagesReady: number;
  readonly messagesUnacknowledged: number;
  readonly messageBytes: number;
  readonly consumers: number;
  /** The node leading its Raft group right now (transient queues: the home node); undefined if none. */
  readonly leader: NodeId | undefined;
  readonly members: readonly NodeId[];
  /** "running", or "minority" when no leader is known. */
  readonly state: "running" | "minority";
}

export interface NodeInfo {
  readonly name: NodeId;
  readonly running: boolean;
  readonly amqp?: string;
  readonly http?: string;
  readonly raft: string;
  /** Groups this node leads right now. */
  readonly leaderOf: number;
  readonly uptimeMs?: number;
}

export interface GroupStatus {
  readonly group: string;
  readonly queue?: { readonly vhost: string; readonly name: string };
  readonly leader: NodeId | undefined;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  /** Leader only: match index per follower. */
  readonly progress?: Readonly<Record<NodeId, number>>;
}

/** A quorum queue's membership: as the metadata records it, and as its Raft group has it now. */
export interface QueueMembers {
  readonly vhost: string;
  readonly name: string;
  /** The members the metadata records: what the group's configuration is being brought to. */
  readonly members: readonly NodeId[];
  readonly leader: NodeId | undefined;
  /** The group's configuration as its leader applied it (empty when no leader answered). */
  readonly voters: readonly NodeId[];
  /** Members still catching up (they receive the log but do not vote yet). */
  readonly learners: readonly NodeId[];
  /** True once the voters are exactly the recorded members and no learner is left. */
  readonly settled: boolean;
}

/** One queue's result of a grow or shrink (rabbitmq-queues prints one line per queue). */
export interface MemberChangeOutcome {
  readonly vhost: string;
  readonly name: string;
  readonly ok: boolean;
  readonly error?: string;
  /** The configuration reached the recorded members before the call returned. */
  readonly settled?: boolean;
}

/** rabbitmq-queues grow: every quorum queue (`all`) or those with an even number of members. */
export type GrowStrategy = "all" | "even";

// ----------------------------------------------------------------------------------------------
// The service
// ----------------------------------------------------------------------------------------------

export interface Broker {
  readonly nodeId: NodeId;

  /**
   * A fresh connection id for a front door: `${nodeId}/${bootId}.${n}`, unique across the cluster
   * AND across restarts of this node (a restarted node releases its previous process's consumers
   * by node, and must never hit a new connection). Optional so test doubles may omit it.
   */
  newConnectionId?(): ConnectionId;

  // --- authentication and authorisation (RabbitMQ's rules and texts) ---
  /**
   * Checks a password against the stored hash; `guest` only from loopback (loopback_users).
   * Rejects UNAUTHORIZED (AMQP: 403 ACCESS_REFUSED closing the connection; HTTP: 401).
   */
  authenticate(username: string, password: string, remoteAddress: string | undefined): Promise<UserRecord>;
  /** Throws ACCESS_REFUSED ("access to queue 'q' in vhost '/' refused for user 'u'") unless permitted. */
  authorize(
    ctx: ClientContext,
    kind: PermissionKind,
    resource: { kind: "queue" | "exchange"; name: string },
  ): void;
  /** Throws ACCESS_REFUSED / NOT_ALLOWED unless the user may use the vhost (connection.open). */
  checkVhostAccess(user: string, vhost: string): void;

  // --- metadata (proposed to the metadata group; resolve once applied on THIS node) ---
  declareExchange(ctx: ClientContext, req: ExchangeDeclareRequest): Promise<ExchangeRecord>;
  deleteExchange(ctx: ClientContext, name: string, opts: { ifUnused: boolean }): Promise<void>;
  declareQueue(ctx: ClientContext, req: QueueDeclareRequest): Promise<QueueDeclareResult>;
  /** Resolves with the number of messages deleted with it. */
  deleteQueue(
    ctx: ClientContext,
    name: string,
    opts: { ifUnused: boolean; ifEmpty: boolean },
  ): Promise<number>;
  /** Resolves with the number of messages purged. */
  purgeQueue(ctx: ClientContext, name: string): Promise<number>;
  bind(ctx: ClientContext, req: BindingRequest): Promise<void>;
  unbind(ctx: ClientContext, req: BindingRequest): Promise<void>;

  createVhost(
    user: string,
    name: string,
    opts: { description?: string; tags?: readonly string[] },
  ): Promise<void>;
  deleteVhost(user: string, name: string): Promise<void>;
  /** `password` undefined keeps the current one (or none); the broker hashes it (RabbitMQ sha256 scheme). */
  putUser(
    actor: string,
    name: string,
    opts: { password?: string; passwordHash?: string; tags: readonly string[] },
  ): Promise<void>;
  deleteUser(actor: string, name: string): Promise<void>;
  setPermission(
    actor: string,
    vhost: string,
    user: string,
    perm: { configure: string; write: string; read: string },
  ): Promise<void>;
  deletePermission(actor: string, vhost: string, user: string): Promise<void>;

  // --- queries (from this node's copy of the metadata; queue figures asked of each leader) ---
  listVhosts(): readonly VHostRecord[];
  listExchanges(vhost?: string): readonly ExchangeRecord[];
  getExchange(vhost: string, name: string): ExchangeRecord | undefined;
  listQueues(vhost?: string): Promise<readonly QueueInfo[]>;
  getQueue(vhost: string, name: string): Promise<QueueInfo | undefined>;
  listBindings(filter: {
    vhost: string;
    source?: string;
    destinationKind?: DestinationKind;
    destination?: string;
  }): readonly BindingRecord[];
  listUsers(): readonly UserRecord[];
  getUser(name: string): UserRecord | undefined;
  listPermissions(filter?: { vhost?: string; user?: string }): readonly PermissionRecord[];
  listNodes(): Promise<readonly NodeInfo[]>;
  groupStatuses(): readonly GroupStatus[];
  /** In a quorum and the metadata caught up (GET /ready). */
  isReady(): boolean;

  // --- messages ---
  publish(ctx: ClientContext, req: PublishRequest): Promise<PublishOutcome>;
  /** Resolves with the consumer tag once the queue registered the consumer. */
  consume(ctx: ClientContext, req: ConsumeRequest, sink: ConsumerSink): Promise<string>;
  cancel(ctx: ClientContext, channel: number, consumerTag: string): Promise<void>;
  /** Settles messages this connection's channel holds (delivered or got with ack); unknown ids are ignored. */
  settle(
    ctx: ClientContext,
    channel: number,
    queue: string,
    op: SettleOp,
    ids: readonly MessageId[],
  ): Promise<void>;
  /**
   * No-ack consumers: grant `credit` more deliveries once earlier ones were written out. The
   * broker already grants credit as its sink accepts deliveries (half a window at a time), so a
   * door need not call this; extra credit is capped at the consumer's window.
   */
  credit(ctx: ClientContext, channel: number, consumerTag: string, credit: number): Promise<void>;
  get(ctx: ClientContext, channel: number, queue: string, noAck: boolean): Promise<GetResult | undefined>;
  /** Everything the channel held returns to its queues (redelivered), its consumers go. */
  channelClosed(ctx: ClientContext, channel: number): Promise<void>;
  /** As channelClosed for every channel, and the connection's exclusive queues are deleted. */
  connectionClosed(ctx: ClientContext): Promise<void>;

  /**
   * Connections a door must close (AMQP 320 CONNECTION_FORCED with `reason`), as RabbitMQ does:
   * every connection of a deleted user, every connection to a deleted vhost. Called on every
   * node once it applied the deletion. Optional so test doubles may omit it.
   */
  onConnectionsRevoked?(cb: (which: { user?: string; vhost?: string }, reason: string) => void): void;

  // --- membership (Warren's counterparts of rabbitmq-queues add_member/delete_member/grow/shrink
  // and rabbitmqctl forget_cluster_node). Optional so test doubles may omit them. The change is
  // recorded in the metadata at once; the calls then wait (at most `timeoutMs`) for the Raft
  // groups to reach it, and report whether they did (`settled`).
  queueMembers?(vhost: string, name: string): Promise<QueueMembers>;
  addQueueMember?(
    actor: string,
    vhost: string,
    name: string,
    node: NodeId,
    opts?: { timeoutMs?: number },
  ): Promise<QueueMembers>;
  deleteQueueMember?(
    actor: string,
    vhost: string,
    name: string,
    node: NodeId,
    opts?: { timeoutMs?: number },
  ): Promise<QueueMembers>;
  growQueues?(
    actor: string,
    node: NodeId,
    req: { strategy: GrowStrategy; vhostPattern?: string; queuePattern?: string; timeoutMs?: number },
  ): Promise<MemberChangeOutcome[]>;
  shrinkQueues?(actor: string, node: NodeId, opts?: { timeoutMs?: number }): Promise<MemberChangeOutcome[]>;
  /** Removes a node from the cluster; its replicas move to other nodes where there are any. */
  forgetNode?(actor: string, node: NodeId): Promise<{ queues: number }>;

  // --- flow control ---
  /** True while publishes should be held back (memory or backlog over its bound): AMQP connection.blocked. */
  isBlocked(): boolean;
  onBlockedChange(cb: (blocked: boolean, reason: string) => void): void;
}
