/**
 * What a command handler gets: the store, the entry's index and time, and the change list it
 * appends to. Handlers validate everything first and mutate after, so a refused command leaves
 * the store untouched; refusals are thrown as WarrenError and become `{ ok: false }` replies.
 */
import { WarrenError } from "../errors.js";
import { rs } from "./format.js";
import type { MetaStore } from "./store.js";
import type { ConnectionId, MetaChange, QueueRecord, VHostRecord } from "./types.js";

export interface ApplyContext {
  readonly store: MetaStore;
  readonly index: number;
  readonly time: number;
  readonly changes: MetaChange[];
}

/** The default exchange: RabbitMQ refuses every operation on it with one text. */
export function checkNotDefaultExchange(name: string): void {
  if (name === "") throw new WarrenError("ACCESS_REFUSED", "operation not permitted on the default exchange");
}

/** AMQP 0-9-1: names starting with "amq." are reserved for the server (checked on creation). */
export function checkName(kind: "queue" | "exchange", name: string): void {
  if (name.startsWith("amq.")) {
    throw new WarrenError("ACCESS_REFUSED", `${kind} name '${name}' contains reserved prefix 'amq.*'`);
  }
}

/** RabbitMQ strips CR and LF from exchange and queue names it receives. */
export function stripCrLf(name: string): string {
  return name.replace(/[\r\n]/g, "");
}

export function requireVHost(ctx: ApplyContext, vhost: string): VHostRecord {
  const v = ctx.store.vhosts.get(vhost);
  if (v === undefined) throw new WarrenError("NOT_FOUND", `vhost '${vhost}' not found`);
  return v;
}

export function notFound(kind: "queue" | "exchange", vhost: string, name: string): WarrenError {
  return new WarrenError("NOT_FOUND", `no ${rs(kind, vhost, name)}`);
}

/**
 * rabbit_amqqueue:check_exclusive_access/3. `strict` (redeclare) also refuses a declare whose
 * exclusive flag differs from the queue's; `lax` only refuses other connections.
 */
export function checkExclusiveAccess(
  q: QueueRecord,
  connection: ConnectionId | undefined,
  mode: "strict" | "lax",
): void {
  if (q.owner === connection) return;
  if (mode === "lax" && q.owner === undefined) return;
  throw new WarrenError(
    "RESOURCE_LOCKED",
    `cannot obtain exclusive access to locked ${rs("queue", q.vhost, q.name)}. It could be originally declared ` +
      "on another connection or the exclusive property value does not match that of the original declaration.",
  );
}
