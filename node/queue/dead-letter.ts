/**
 * Builds a dead-lettered message exactly as RabbitMQ (3.13) rewrites it: the `x-death` array
 * (one table per {queue, reason}, most recent first, `count` incremented when the same message
 * dies again in the same queue for the same reason), `x-first-death-*` (set once, never
 * changed) and `x-last-death-*` (updated on every death), `expiration` removed (kept as the
 * entry's `original-expiration`), routed with `x-dead-letter-routing-key` or the original keys.
 *
 * Field types: `count` is a long (number), `time` an AMQP timestamp (a Date with whole seconds,
 * which the codec writes as type 'T'), `routing-keys` an array of strings.
 */
import type { DeadLetterEffect, MessageProperties } from "./types.js";

export interface DeadLetterInput {
  /** The message as enqueued (from its enqueue command). */
  readonly exchange: string;
  readonly routingKeys: readonly string[];
  readonly properties: MessageProperties;
  /** The effect the queue issued. */
  readonly effect: Pick<DeadLetterEffect, "reason" | "queue" | "exchange" | "routingKey" | "time">;
}

export interface DeadLetteredMessage {
  /** Publish to this exchange (the queue's `x-dead-letter-exchange`). */
  readonly exchange: string;
  /** Route with these keys (each one routed; a message reaches a queue at most once). */
  readonly routingKeys: readonly string[];
  readonly properties: MessageProperties;
}

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date)
  );
}

function text(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return undefined;
}

function countOf(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return 0;
}

export function deadLetterMessage(input: DeadLetterInput): DeadLetteredMessage {
  const { effect, properties } = input;
  const headers: Table = { ...(properties.headers ?? {}) };
  const previous = Array.isArray(headers["x-death"]) ? (headers["x-death"] as unknown[]).filter(isTable) : [];
  const matches = (t: Table): boolean => text(t.queue) === effect.queue && text(t.reason) === effect.reason;
  const existing = previous.find(matches);
  let entry: Table;
  if (existing) {
    // RabbitMQ keeps the first death's time, exchange and routing keys and bumps the count.
    entry = { ...existing, count: countOf(existing.count) + 1 };
  } else {
    entry = {};
    if (properties.expiration !== undefined) entry["original-expiration"] = properties.expiration;
    entry.count = 1;
    entry.reason = effect.reason;
    entry.queue = effect.queue;
    entry.time = new Date(Math.floor(effect.time / 1000) * 1000);
    entry.exchange = input.exchange;
    entry["routing-keys"] = [...input.routingKeys];
  }
  headers["x-death"] = [entry, ...previous.filter((t) => !matches(t))];
  if (headers["x-first-death-reason"] === undefined) {
    headers["x-first-death-reason"] = effect.reason;
    headers["x-first-death-queue"] = effect.queue;
    headers["x-first-death-exchange"] = input.exchange;
  }
  headers["x-last-death-reason"] = effect.reason;
  headers["x-last-death-queue"] = effect.queue;
  headers["x-last-death-exchange"] = input.exchange;

  let routingKeys: readonly string[] = input.routingKeys;
  if (effect.routingKey !== undefined) {
    // A dead-letter routing key replaces the keys, so the CC header goes too.
    routingKeys = [effect.routingKey];
    delete headers.CC;
  }
  delete headers.BCC;
  const { expiration: _dropped, ...rest } = properties;
  return { exchange: effect.exchange, routingKeys, properties: { ...rest, headers } };
}

/**
 * RabbitMQ's cycle rule: a dead-lettered message that would reach `queue` again is dropped
 * for that queue if it already died there and no death on the way was a rejection
 * (a fully automatic cycle, e.g. TTL expiry through the default exchange, would loop forever).
 */
export function isDeadLetterCycle(headers: Readonly<Table> | undefined, queue: string): boolean {
  const deaths =
    headers && Array.isArray(headers["x-death"]) ? (headers["x-death"] as unknown[]).filter(isTable) : [];
  const i = deaths.findIndex((t) => text(t.queue) === queue);
  if (i < 0) return false;
  // x-death is most recent first: entries 0..i are the deaths since the message left `queue`.
  return !deaths.slice(0, i + 1).some((t) => text(t.reason) === "rejected");
}
