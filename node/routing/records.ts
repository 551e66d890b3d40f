/**
 * Internal records of the routing table. Queues and exchanges are interned objects so a route
 * can mark what it has already reached with a per-call stamp instead of building sets.
 */
import type { ExchangeType, FieldTable, HashableProperties } from "./types.js";

export interface QueueRec {
  readonly kind: "queue";
  readonly name: string;
  /** Route call that last reached this queue (dedup without allocating a set). */
  stamp: number;
  readonly inbound: Set<BindingRec>;
}

export interface ExchangeRec {
  readonly kind: "exchange";
  readonly name: string;
  readonly type: ExchangeType;
  readonly args: FieldTable;
  readonly canonicalArgs: string;
  readonly internal: boolean;
  /** `alternate-exchange` argument, when it is a string. */
  readonly alternate: string | undefined;
  stamp: number;
  readonly inbound: Set<BindingRec>;
  /** Bindings with this exchange as source, by binding id. */
  readonly outbound: Map<string, BindingRec>;
  readonly behaviour: ExchangeBehaviour;
}

export type DestRec = QueueRec | ExchangeRec;

export interface BindingRec {
  readonly id: string;
  readonly source: ExchangeRec;
  readonly dest: DestRec;
  readonly routingKey: string;
  readonly args: FieldTable;
}

/** What an exchange type sees of a message. */
export interface RoutedMessage {
  /** The routing key plus any CC/BCC keys (sender-selected distribution); never empty. */
  readonly keys: readonly string[];
  readonly headers: FieldTable | undefined;
  readonly properties: HashableProperties | undefined;
}

/**
 * One exchange type's index over the bindings of one exchange. `collect` appends every
 * destination the message matches (duplicates allowed; the table dedups).
 */
export interface ExchangeBehaviour {
  add(b: BindingRec): void;
  remove(b: BindingRec): void;
  collect(msg: RoutedMessage, out: DestRec[]): void;
}

export function destId(d: { readonly kind: "queue" | "exchange"; readonly name: string }): string {
  return (d.kind === "queue" ? "q:" : "e:") + d.name;
}
