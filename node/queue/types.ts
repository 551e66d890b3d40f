/**
 * The quorum-queue state machine's contract with the node layer: commands it applies,
 * replies it returns to the proposer, and effects only the leader's node executes.
 *
 * Everything here is plain data (msgpackr encodes it as is). Shaped after RabbitMQ's
 * `rabbit_fifo`: `apply(meta, command) -> { reply, effects }`; bodies stay in the Raft log
 * (the enqueue entry is "live" until the message is settled) and effects name messages by id.
 */

/** A message id is the Raft index of its enqueue entry (the local driver assigns its own). */
export type MessageId = number;

/** AMQP 0-9-1 basic properties, as the codec decodes them. Kept verbatim in the log. */
export interface MessageProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: Record<string, unknown>;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  /** Per-message TTL in milliseconds, as a decimal string (AMQP's `expiration`). */
  expiration?: string;
  messageId?: string;
  /** AMQP timestamp (seconds); the codec decodes it as a Date or a number. */
  timestamp?: Date | number;
  type?: string;
  userId?: string;
  appId?: string;
}

/** Identifies a consumer: consumer tags are unique per channel, channels per connection. */
export interface ConsumerRef {
  readonly connection: string;
  readonly channel: number;
  readonly tag: string;
}

export const DeadLetterReason = {
  Rejected: "rejected",
  Expired: "expired",
  MaxLen: "maxlen",
  DeliveryLimit: "delivery_limit",
} as const;
export type DeadLetterReason = (typeof DeadLetterReason)[keyof typeof DeadLetterReason];

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

/** basic.publish routed to this queue. The whole command (with the body) stays in the log. */
export interface EnqueueCommand {
  readonly type: "enqueue";
  /** The exchange the message was published to ("" = default exchange). */
  readonly exchange: string;
  /** The routing key followed by any CC keys (not BCC): what x-death's `routing-keys` lists. */
  readonly routingKeys: readonly string[];
  readonly properties: MessageProperties;
  readonly body: Uint8Array;
  /**
   * Per-publisher order (./publishers.ts): the queue applies a publisher's enqueues in `seq`
   * order exactly once, refusing out-of-order ones and answering duplicates with the original
   * outcome. Absent: applied as it comes (dead-letter publishes, older nodes).
   */
  readonly publisher?: PublisherRef;
}

/** Who published an enqueue and its place in that publisher's order (./publishers.ts). */
export interface PublisherRef {
  /** `${connection}|${channel}` (the connection id starts with `${nodeId}/`): `down`/`node-down` forget it. */
  readonly id: string;
  /** 1, 2, 3, ... within an epoch. */
  readonly seq: number;
  /** Absent = 0. A higher epoch starts again at seq 1; older epochs are then refused. */
  readonly epoch?: number;
  /**
   * Every seq below this one (in this epoch) was answered to the sender, so the queue may forget
   * their outcomes. Absent = `seq`.
   */
  readonly floor?: number;
}

/** basic.consume. */
export interface CheckoutCommand {
  readonly type: "checkout";
  readonly consumer: ConsumerRef;
  /** basic.qos prefetch-count; 0 = unlimited. */
  readonly prefetch: number;
  /**
   * no-ack consumers: every delivery is settled at once (the node must read the body first);
   * `prefetch` (2000 when 0) is then a credit window the node replenishes with `credit`.
   */
  readonly noAck: boolean;
  readonly exclusive: boolean;
  /** `x-priority` consumer argument: higher-priority consumers are served first. */
  readonly priority?: number;
}

/** basic.cancel: no more deliveries; unacked messages stay with the consumer until settled or `down`. */
export interface CancelCommand {
  readonly type: "cancel";
  readonly consumer: ConsumerRef;
}

/**
 * basic.ack / basic.nack / basic.reject, already mapped from delivery tags (incl. `multiple`)
 * to message ids by the node. Only messages checked out on this connection+channel are settled;
 * others (a stale tag after the channel was recovered) are ignored and listed in the reply.
 * - `ack`: done.
 * - `requeue`: back to the queue before newer messages, redelivered, delivery count + 1
 *   (dead-lettered `delivery_limit` past `x-delivery-limit`).
 * - `reject` (nack/reject with requeue=false): dead-lettered with reason `rejected`.
 */
export interface SettleCommand {
  readonly type: "settle";
  readonly op: "ack" | "requeue" | "reject";
  readonly connection: string;
  readonly channel: number;
  readonly ids: readonly MessageId[];
}

/** A channel (when `channel` is given) or a whole connection went away: cancel its consumers, return its unacked messages. */
export interface DownCommand {
  readonly type: "down";
  readonly connection: string;
  readonly channel?: number;
  /**
   * Also forget the publisher state of that channel (or of every channel of the connection) up
   * to this epoch; absent: whatever its epoch. The bound keeps a reopened channel number, whose
   * publisher already started a higher epoch, from being forgotten by a late `down`.
   */
  readonly publishersUpToEpoch?: number;
}

/**
 * A node is gone: `down` for every connection whose id starts with `${node}/` (connection ids
 * are `${nodeId}/${local id}`, so the queue can release consumers it cannot otherwise name).
 */
export interface NodeDownCommand {
  readonly type: "node-down";
  readonly node: string;
}

/**
 * Flow control for no-ack consumers, which never ack: the machine sends a no-ack consumer at
 * most its prefetch (or NO_ACK_WINDOW = 2000 when 0) deliveries, then waits until the node,
 * having written `credit` of them to the socket, grants that many more.
 */
export interface CreditCommand {
  readonly type: "credit";
  readonly consumer: ConsumerRef;
  readonly credit: number;
}

/** basic.get. With `noAck` false the message stays checked out to this channel until settled. */
export interface GetCommand {
  readonly type: "get";
  readonly connection: string;
  readonly channel: number;
  readonly noAck: boolean;
}

/** queue.purge: removes ready messages (not unacked ones); purged messages are not dead-lettered. */
export interface PurgeCommand {
  readonly type: "purge";
}

/** Time progression: expire messages at the head (TTL) and check `x-expires`. Proposed on a `timer` effect. */
export interface TickCommand {
  readonly type: "tick";
}

/** The dead-letter targets committed these messages (at-least-once dead-lettering): forget them. */
export interface DeadLetterSettledCommand {
  readonly type: "dead-letter-settled";
  readonly ids: readonly MessageId[];
}

/** queue.declare (redeclare) of this queue: counts as "use" for `x-expires`. */
export interface TouchCommand {
  readonly type: "touch";
}

export type QueueCommand =
  | EnqueueCommand
  | CheckoutCommand
  | CancelCommand
  | SettleCommand
  | DownCommand
  | NodeDownCommand
  | CreditCommand
  | GetCommand
  | PurgeCommand
  | TickCommand
  | DeadLetterSettledCommand
  | TouchCommand;

// ---------------------------------------------------------------------------------------------
// Effects (only the leader's node executes them)
// ---------------------------------------------------------------------------------------------

/** Send basic.deliver: read the body of `id` from the log; set `x-delivery-count` when deliveryCount > 0. */
export interface DeliverEffect {
  readonly type: "deliver";
  readonly consumer: ConsumerRef;
  readonly id: MessageId;
  readonly redelivered: boolean;
  /** Times the message was returned to the queue before this delivery (RabbitMQ 3.10+ `delivery_count`). */
  readonly deliveryCount: number;
  /** True for no-ack consumers: the message is already settled (not live after this entry). */
  readonly settled: boolean;
}

/**
 * Dead-letter `id`: read its enqueue command, build the new message with `deadLetterMessage()`
 * (./dead-letter.ts) using these fields, publish it to `exchange`, and once every target queue
 * committed it propose `dead-letter-settled`. Re-issued by a new leader until settled.
 */
export interface DeadLetterEffect {
  readonly type: "dead-letter";
  readonly id: MessageId;
  readonly reason: DeadLetterReason;
  /** The source queue (x-death `queue`). */
  readonly queue: string;
  /** `x-dead-letter-exchange`. */
  readonly exchange: string;
  /** `x-dead-letter-routing-key`, when set (else the original routing keys). */
  readonly routingKey?: string;
  /** meta.time when the message died (x-death `time`, stable across leader changes). */
  readonly time: number;
}

/** Propose a `tick` at (or after) `at` (ms since epoch). Replaces any earlier timer. */
export interface TimerEffect {
  readonly type: "timer";
  readonly at: number;
}

/** `x-expires` elapsed while unused: delete the queue (through the metadata group). */
export interface DeleteQueueEffect {
  readonly type: "delete-queue";
  readonly reason: "expires";
}

export type QueueEffect = DeliverEffect | DeadLetterEffect | TimerEffect | DeleteQueueEffect;

// ---------------------------------------------------------------------------------------------
// Replies
// ---------------------------------------------------------------------------------------------

export type EnqueueReply =
  | { readonly type: "enqueued"; readonly id: MessageId; readonly publisher?: PublisherRef }
  /** reject-publish overflow: nack the publisher; nothing was stored. */
  | { readonly type: "rejected"; readonly publisher?: PublisherRef }
  /**
   * This publisher's seq was applied before (a retry): `outcome` is what the first one got;
   * nothing is stored again.
   */
  | {
      readonly type: "duplicate";
      readonly publisher: PublisherRef;
      readonly outcome: "enqueued" | "rejected";
    }
  /**
   * An earlier seq of this publisher has not been applied (or the epoch is stale): nothing
   * stored; the sender resends, in order, from `expected`.
   */
  | {
      readonly type: "out-of-order";
      readonly publisher: PublisherRef;
      readonly expected: { readonly epoch: number; readonly seq: number };
    };

/** Errors a client sees; the node maps the code through node/errors.ts. */
export interface QueueErrorReply {
  readonly type: "error";
  /**
   * ACCESS_REFUSED (403, exclusive use), NOT_ALLOWED (530, duplicate consumer tag),
   * NOT_IMPLEMENTED (540, a command this version does not know).
   */
  readonly code: "ACCESS_REFUSED" | "NOT_ALLOWED" | "NOT_IMPLEMENTED";
  readonly message: string;
}

export interface GetReply {
  readonly type: "get";
  /** Undefined = basic.get-empty. */
  readonly message?: {
    readonly id: MessageId;
    readonly redelivered: boolean;
    readonly deliveryCount: number;
    /** basic.get-ok message-count: ready messages left. */
    readonly messageCount: number;
  };
}

export type QueueReply =
  | EnqueueReply
  | QueueErrorReply
  | GetReply
  | { readonly type: "ok" }
  | { readonly type: "purged"; readonly count: number }
  | { readonly type: "settled"; readonly settled: number; readonly unknown: readonly MessageId[] };

export interface QueueResult {
  readonly reply: QueueReply;
  readonly effects: readonly QueueEffect[];
}

/** Counts for queue.declare-ok, the management API and metrics. */
export interface QueueCounts {
  readonly messagesReady: number;
  readonly messagesUnacknowledged: number;
  /** Dead-lettered, waiting for the targets to commit (still live in the log). */
  readonly messagesDeadLettering: number;
  /** Ready + unacknowledged (RabbitMQ's `messages`). */
  readonly messages: number;
  readonly messageBytesReady: number;
  readonly messageBytesUnacknowledged: number;
  readonly messageBytes: number;
  readonly consumers: number;
}
