/**
 * Consumers and basic.get holders of one queue, and the order in which consumers are served.
 *
 * Every holder of checked-out messages has a numeric slot (stored in the message records).
 * Consumers are served highest `x-priority` first, round-robin within a priority (the one just
 * served moves to the back), as RabbitMQ does; with `x-single-active-consumer` only the
 * earliest-registered live consumer receives messages.
 */
import type { ConsumerRef } from "./types.js";

export interface Holder {
  readonly slot: number;
  readonly ref: ConsumerRef;
  /** "get" holders own unacked basic.get messages of a channel; they never receive deliveries. */
  readonly kind: "consumer" | "get";
  readonly prefetch: number;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly priority: number;
  cancelled: boolean;
  checkedOut: number;
  /** No-ack consumers: deliveries still allowed before the node grants more (`credit` command). */
  noAckCredit: number;
}

export interface ConsumerInfo {
  readonly ref: ConsumerRef;
  readonly prefetch: number;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly priority: number;
  readonly unacked: number;
}

/**
 * Deliveries a no-ack consumer with prefetch 0 may have in flight before the node grants more
 * credit: RabbitMQ's quorum queues use the same figure for "unlimited" prefetch.
 */
export const NO_ACK_WINDOW = 2000;

function keyOf(kind: Holder["kind"], ref: ConsumerRef): string {
  return `${kind}\u0000${ref.connection}\u0000${ref.channel}\u0000${ref.tag}`;
}

export class Consumers {
  private readonly bySlot = new Map<number, Holder>();
  private readonly byKey = new Map<string, Holder>();
  /** Live (not cancelled) consumer slots; the front is served first among equal priorities. */
  private service: number[] = [];
  private nextSlot = 1;

  constructor(private readonly singleActive: boolean) {}

  get(slot: number): Holder | undefined {
    return this.bySlot.get(slot);
  }

  find(ref: ConsumerRef): Holder | undefined {
    return this.byKey.get(keyOf("consumer", ref));
  }

  /** Live consumers (RabbitMQ's `consumers` count; waiting single-active consumers included). */
  get count(): number {
    return this.service.length;
  }

  hasExclusive(): boolean {
    for (const slot of this.service) if (this.bySlot.get(slot)!.exclusive) return true;
    return false;
  }

  add(
    ref: ConsumerRef,
    opts: { prefetch: number; noAck: boolean; exclusive: boolean; priority: number },
  ): Holder {
    const h: Holder = {
      slot: this.nextSlot++,
      ref,
      kind: "consumer",
      ...opts,
      cancelled: false,
      checkedOut: 0,
      noAckCredit: opts.noAck ? noAckWindow(opts.prefetch) : 0,
    };
    this.bySlot.set(h.slot, h);
    this.byKey.set(keyOf("consumer", ref), h);
    this.service.push(h.slot);
    return h;
  }

  /** The holder for a channel's unacked basic.get messages, created on first use. */
  getHolder(connection: string, channel: number): Holder {
    const ref = { connection, channel, tag: "" };
    const key = keyOf("get", ref);
    let h = this.byKey.get(key);
    if (!h) {
      h = {
        slot: this.nextSlot++,
        ref,
        kind: "get",
        prefetch: 0,
        noAck: false,
        exclusive: false,
        priority: 0,
        cancelled: true,
        checkedOut: 0,
        noAckCredit: 0,
      };
      this.bySlot.set(h.slot, h);
      this.byKey.set(key, h);
    }
    return h;
  }

  /** Stops deliveries to a consumer; it stays while it holds unacked messages. */
  cancel(h: Holder): void {
    if (!h.cancelled) {
      h.cancelled = true;
      this.service = this.service.filter((s) => s !== h.slot);
    }
    this.maybeForget(h);
  }

  /** Drops a cancelled consumer (or get holder) once it holds nothing. */
  maybeForget(h: Holder): void {
    if (h.cancelled && h.checkedOut === 0) this.remove(h);
  }

  remove(h: Holder): void {
    this.bySlot.delete(h.slot);
    this.byKey.delete(keyOf(h.kind, h.ref));
    if (!h.cancelled) this.service = this.service.filter((s) => s !== h.slot);
  }

  /** Holders on a connection, or on one channel of it. */
  holdersOf(connection: string, channel: number | undefined): Holder[] {
    const out: Holder[] = [];
    for (const h of this.bySlot.values()) {
      if (h.ref.connection === connection && (channel === undefined || h.ref.channel === channel))
        out.push(h);
    }
    return out;
  }

  /** Holders whose connection id starts with `prefix` (every connection of a node). */
  holdersWithPrefix(prefix: string): Holder[] {
    return [...this.bySlot.values()].filter((h) => h.ref.connection.startsWith(prefix));
  }

  /** The consumer to serve next, or undefined when nobody has credit. Does not rotate. */
  next(): Holder | undefined {
    if (this.singleActive) {
      const slot = this.service[0];
      const h = slot === undefined ? undefined : this.bySlot.get(slot)!;
      return h && hasCredit(h) ? h : undefined;
    }
    let best: Holder | undefined;
    for (const slot of this.service) {
      const h = this.bySlot.get(slot)!;
      if (hasCredit(h) && (best === undefined || h.priority > best.priority)) best = h;
    }
    return best;
  }

  /** Round-robin: the consumer just served goes to the back of its priority group. */
  served(h: Holder): void {
    if (this.singleActive) return;
    const i = this.service.indexOf(h.slot);
    if (i >= 0 && i < this.service.length - 1) {
      this.service.splice(i, 1);
      this.service.push(h.slot);
    }
  }

  /** Live consumers in registration order (for the management API). */
  describe(): ConsumerInfo[] {
    return this.all()
      .filter((h) => h.kind === "consumer" && !h.cancelled)
      .map((h) => ({
        ref: h.ref,
        prefetch: h.prefetch,
        noAck: h.noAck,
        exclusive: h.exclusive,
        priority: h.priority,
        unacked: h.checkedOut,
      }));
  }

  /** Every holder, in slot order. */
  all(): Holder[] {
    return [...this.bySlot.values()];
  }

  toData(): { nextSlot: number; service: number[]; holders: Holder[] } {
    return {
      nextSlot: this.nextSlot,
      service: [...this.service],
      holders: this.all().map((h) => ({ ...h })),
    };
  }

  static fromData(
    singleActive: boolean,
    d: { nextSlot: number; service: number[]; holders: Holder[] },
  ): Consumers {
    const c = new Consumers(singleActive);
    c.nextSlot = d.nextSlot;
    c.service = [...d.service];
    for (const h of d.holders) {
      const copy = { ...h };
      c.bySlot.set(copy.slot, copy);
      c.byKey.set(keyOf(copy.kind, copy.ref), copy);
    }
    return c;
  }
}

export function noAckWindow(prefetch: number): number {
  return prefetch > 0 ? prefetch : NO_ACK_WINDOW;
}

function hasCredit(h: Holder): boolean {
  if (h.noAck) return h.noAckCredit > 0;
  return h.prefetch === 0 || h.checkedOut < h.prefetch;
}
