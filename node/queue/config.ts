/**
 * Queue arguments the state machine obeys, read from `queue.declare` arguments.
 * Validation (406 on bad values, unsupported combinations) is the metadata group's job at
 * declare time; here values are already valid, so unknown keys and wrong types are ignored.
 */

export const Overflow = {
  DropHead: "drop-head",
  RejectPublish: "reject-publish",
} as const;
export type Overflow = (typeof Overflow)[keyof typeof Overflow];

/** RabbitMQ caps `x-max-priority` at 255. */
export const MAX_PRIORITY_LIMIT = 255;

export interface QueueConfig {
  /** The queue name: x-death's `queue`. */
  readonly name: string;
  /** `x-message-ttl` (ms). */
  readonly messageTtl?: number;
  /** `x-expires` (ms): delete the queue after this long unused. */
  readonly expires?: number;
  /** `x-max-length` (ready messages). */
  readonly maxLength?: number;
  /** `x-max-length-bytes` (ready message bodies). */
  readonly maxLengthBytes?: number;
  readonly overflow: Overflow;
  /** `x-delivery-limit`: dead-letter (`delivery_limit`) once returned more often than this. */
  readonly deliveryLimit?: number;
  readonly deadLetterExchange?: string;
  readonly deadLetterRoutingKey?: string;
  readonly singleActiveConsumer: boolean;
  /** `x-max-priority`: priority levels 0..max (transient queues, as classic queues). */
  readonly maxPriority?: number;
}

function num(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

function str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return undefined;
}

/** Builds the config from `queue.declare` arguments (an AMQP field table as decoded). */
export function parseQueueArguments(name: string, args: Readonly<Record<string, unknown>> = {}): QueueConfig {
  const config: {
    -readonly [K in keyof QueueConfig]: QueueConfig[K];
  } = {
    name,
    overflow: str(args["x-overflow"]) === Overflow.RejectPublish ? Overflow.RejectPublish : Overflow.DropHead,
    singleActiveConsumer: args["x-single-active-consumer"] === true,
  };
  const ttl = num(args["x-message-ttl"]);
  if (ttl !== undefined && ttl >= 0) config.messageTtl = ttl;
  const expires = num(args["x-expires"]);
  if (expires !== undefined && expires > 0) config.expires = expires;
  const maxLength = num(args["x-max-length"]);
  if (maxLength !== undefined && maxLength >= 0) config.maxLength = maxLength;
  const maxBytes = num(args["x-max-length-bytes"]);
  if (maxBytes !== undefined && maxBytes >= 0) config.maxLengthBytes = maxBytes;
  const limit = num(args["x-delivery-limit"]);
  if (limit !== undefined && limit >= 0) config.deliveryLimit = limit;
  const dlx = str(args["x-dead-letter-exchange"]);
  if (dlx !== undefined) config.deadLetterExchange = dlx;
  const dlrk = str(args["x-dead-letter-routing-key"]);
  if (dlrk !== undefined) config.deadLetterRoutingKey = dlrk;
  const maxPriority = num(args["x-max-priority"]);
  if (maxPriority !== undefined && maxPriority > 0) {
    config.maxPriority = Math.min(Math.floor(maxPriority), MAX_PRIORITY_LIMIT);
  }
  return config;
}

/**
 * A message's TTL in ms: the lower of `x-message-ttl` and its `expiration` property, as
 * RabbitMQ does. An unparsable expiration is ignored (the channel rejects it at publish).
 */
export function messageTtl(config: QueueConfig, expiration: string | undefined): number | undefined {
  let ttl = config.messageTtl;
  if (expiration !== undefined && /^\d+$/.test(expiration)) {
    const own = Number(expiration);
    ttl = ttl === undefined ? own : Math.min(ttl, own);
  }
  return ttl;
}
