/**
 * Shapes shared by the routing table and its exchange types. Field tables (binding arguments,
 * message headers) are plain objects keyed by field name; values are whatever the AMQP codec
 * decodes (string, number, bigint, boolean, null for void, Uint8Array, Date, arrays, tables).
 * `field-values.ts` says how such values compare.
 */

export const EXCHANGE_TYPES = ["direct", "fanout", "topic", "headers", "x-consistent-hash"] as const;
export type ExchangeType = (typeof EXCHANGE_TYPES)[number];

export type FieldTable = Readonly<Record<string, unknown>>;

export type DestinationKind = "queue" | "exchange";

export interface Destination {
  readonly kind: DestinationKind;
  readonly name: string;
}

/** A binding as RabbitMQ identifies it: source, destination, routing key and arguments. */
export interface BindingInfo {
  readonly source: string;
  readonly destination: Destination;
  readonly routingKey: string;
  readonly args: FieldTable;
}

/** The message properties `x-consistent-hash` can hash on (`hash-property`), as the plugin. */
export interface HashableProperties {
  readonly correlationId?: string | undefined;
  readonly messageId?: string | undefined;
  /** AMQP timestamp (seconds, or a Date); the plugin hashes its decimal text. */
  readonly timestamp?: number | bigint | Date | undefined;
}

export interface RouteResult {
  /** Every queue the message goes to, each at most once, sorted by name (code-unit order). */
  readonly queues: string[];
  /** True when no queue was reached: the publisher gets basic.return if it set `mandatory`. */
  readonly unroutable: boolean;
}

/** Optional exchange properties the table keeps for callers (routing itself ignores them). */
export interface ExchangeOptions {
  /** Internal exchanges refuse direct publishes (the channel checks) but route e2e traffic. */
  readonly internal?: boolean;
}

/**
 * A call that contradicts the table (binding from an unknown exchange, declaring the default
 * exchange, invalid binding key for the type). The metadata machine validates commands before
 * they reach the table, so this signals a bug in the caller, not a client error.
 */
export class RoutingError extends Error {
  override name = "RoutingError";
}
