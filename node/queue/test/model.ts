/**
 * The reference model for property tests: the same RabbitMQ rules written the obvious way,
 * with plain arrays and objects and no attention to cost. Single priority level.
 */
import type { DeadLetterReason, PublisherRef, QueueReply } from "../types.js";

export interface ModelConfig {
  ttl?: number | undefined;
  maxLength?: number | undefined;
  maxBytes?: number | undefined;
  overflow: "drop-head" | "reject-publish";
  deliveryLimit?: number | undefined;
  dlx: boolean;
  singleActive: boolean;
}

interface Msg {
  id: number;
  size: number;
  expiry: number;
  count: number;
  state: "ready" | "out" | "dead";
  owner?: string | undefined;
}

interface Consumer {
  key: string;
  tag: string;
  channel: number;
  prefetch: number;
  noAck: boolean;
  cancelled: boolean;
  isGet: boolean;
  credit: number;
}

export type Event =
  | { kind: "deliver"; id: number; tag: string; redelivered: boolean; count: number }
  | { kind: "dead"; id: number; reason: DeadLetterReason };

export class Model {
  msgs: Msg[] = [];
  consumers: Consumer[] = [];
  events: Event[] = [];

  constructor(readonly config: ModelConfig) {}

  private ready(): Msg[] {
    return this.msgs.filter((m) => m.state === "ready").sort((a, b) => a.id - b.id);
  }

  private held(c: Consumer): number {
    return this.msgs.filter((m) => m.state === "out" && m.owner === c.key).length;
  }

  private remove(m: Msg): void {
    this.msgs = this.msgs.filter((x) => x !== m);
  }

  private die(m: Msg, reason: DeadLetterReason): void {
    if (this.config.dlx) {
      m.state = "dead";
      m.owner = undefined;
      this.events.push({ kind: "dead", id: m.id, reason });
    } else {
      this.remove(m);
    }
  }

  /** The head after dead-lettering expired heads. */
  private head(now: number): Msg | undefined {
    for (;;) {
      const m = this.ready()[0];
      if (!m || !(now > m.expiry)) return m;
      this.die(m, "expired");
    }
  }

  publish(id: number, size: number, expiration: number | undefined, now: number): boolean {
    const c = this.config;
    const readyBytes = this.ready().reduce((n, m) => n + m.size, 0);
    if (
      c.overflow === "reject-publish" &&
      ((c.maxLength !== undefined && this.ready().length + 1 > c.maxLength) ||
        (c.maxBytes !== undefined && readyBytes + size > c.maxBytes))
    ) {
      return false;
    }
    let ttl = c.ttl;
    if (expiration !== undefined) ttl = ttl === undefined ? expiration : Math.min(ttl, expiration);
    this.msgs.push({ id, size, expiry: ttl === undefined ? Infinity : now + ttl, count: 0, state: "ready" });
    this.deliver(now);
    return true;
  }

  consume(tag: string, channel: number, prefetch: number, noAck: boolean, now: number): boolean {
    const key = `${channel}/${tag}`;
    if (this.consumers.some((c) => c.key === key && !c.isGet)) return false;
    this.consumers.push({
      key,
      tag,
      channel,
      prefetch,
      noAck,
      cancelled: false,
      isGet: false,
      credit: prefetch || 2000,
    });
    this.deliver(now);
    return true;
  }

  private live(): Consumer[] {
    return this.consumers.filter((c) => !c.cancelled && !c.isGet);
  }

  grant(tag: string, channel: number, n: number, now: number): void {
    const c = this.consumers.find((x) => x.key === `${channel}/${tag}` && !x.isGet);
    if (c?.noAck && !c.cancelled) c.credit = Math.min(c.credit + n, c.prefetch || 2000);
    this.deliver(now);
  }

  cancel(tag: string, channel: number, now: number): void {
    const c = this.consumers.find((x) => x.key === `${channel}/${tag}` && !x.isGet);
    if (c) c.cancelled = true;
    this.deliver(now);
  }

  private returnOne(m: Msg): void {
    m.count++;
    if (this.config.deliveryLimit !== undefined && m.count > this.config.deliveryLimit) {
      this.die(m, "delivery_limit");
    } else {
      m.state = "ready";
      m.owner = undefined;
    }
  }

  settle(op: "ack" | "requeue" | "reject", channel: number, ids: number[], now: number): number {
    let n = 0;
    for (const id of [...ids].sort((a, b) => a - b)) {
      const m = this.msgs.find((x) => x.id === id);
      const owner = m && m.state === "out" ? this.consumers.find((c) => c.key === m.owner) : undefined;
      if (!m || !owner || owner.channel !== channel) continue;
      n++;
      if (op === "ack") this.remove(m);
      else if (op === "reject") this.die(m, "rejected");
      else this.returnOne(m);
    }
    this.gc();
    this.deliver(now);
    return n;
  }

  down(channel: number | undefined, now: number): void {
    const gone = this.consumers.filter((c) => channel === undefined || c.channel === channel);
    const keys = new Set(gone.map((c) => c.key));
    for (const m of [...this.msgs].sort((a, b) => a.id - b.id)) {
      if (m.state === "out" && keys.has(m.owner!)) this.returnOne(m);
    }
    this.consumers = this.consumers.filter((c) => !gone.includes(c));
    this.deliver(now);
  }

  get(channel: number, noAck: boolean, now: number): { id: number; count: number; left: number } | undefined {
    const m = this.head(now);
    let result: { id: number; count: number; left: number } | undefined;
    if (m) {
      if (noAck) this.remove(m);
      else {
        let g = this.consumers.find((c) => c.isGet && c.channel === channel);
        if (!g) {
          g = {
            key: `${channel}/get`,
            tag: "",
            channel,
            prefetch: 0,
            noAck: false,
            cancelled: true,
            isGet: true,
            credit: 0,
          };
          this.consumers.push(g);
        }
        m.state = "out";
        m.owner = g.key;
      }
      result = { id: m.id, count: m.count, left: this.ready().length };
    }
    this.deliver(now);
    return result;
  }

  purge(now: number): number {
    const r = this.ready();
    for (const m of r) this.remove(m);
    this.deliver(now);
    return r.length;
  }

  tick(now: number): void {
    this.head(now);
    this.deliver(now);
  }

  deadSettled(now: number): void {
    this.msgs = this.msgs.filter((m) => m.state !== "dead");
    this.deliver(now);
  }

  private gc(): void {
    this.consumers = this.consumers.filter((c) => !(c.cancelled && this.held(c) === 0));
  }

  /** Serves consumers, then enforces drop-head length limits (rabbit_fifo's order). */
  private deliver(now: number): void {
    this.serve(now);
    const c = this.config;
    if (c.overflow === "drop-head") {
      const over = () =>
        (c.maxLength !== undefined && this.ready().length > c.maxLength) ||
        (c.maxBytes !== undefined && this.ready().reduce((n, m) => n + m.size, 0) > c.maxBytes);
      while (over()) this.die(this.ready()[0]!, "maxlen");
    }
  }

  private serve(now: number): void {
    this.gc();
    for (;;) {
      const live = this.live();
      const credit = (c: Consumer) =>
        c.noAck ? c.credit > 0 : c.prefetch === 0 || this.held(c) < c.prefetch;
      const c = this.config.singleActive
        ? live[0] && credit(live[0])
          ? live[0]
          : undefined
        : live.find(credit);
      if (!c) return;
      const m = this.head(now);
      if (!m) return;
      this.events.push({ kind: "deliver", id: m.id, tag: c.tag, redelivered: m.count > 0, count: m.count });
      if (c.noAck) {
        this.remove(m);
        c.credit--;
      } else {
        m.state = "out";
        m.owner = c.key;
      }
      if (!this.config.singleActive) {
        this.consumers = [...this.consumers.filter((x) => x !== c), c];
      }
    }
  }

  counts(): {
    ready: number;
    unacked: number;
    readyBytes: number;
    unackedBytes: number;
    dead: number;
    consumers: number;
  } {
    const bytes = (state: Msg["state"]) =>
      this.msgs.filter((m) => m.state === state).reduce((n, m) => n + m.size, 0);
    return {
      ready: this.msgs.filter((m) => m.state === "ready").length,
      unacked: this.msgs.filter((m) => m.state === "out").length,
      readyBytes: bytes("ready"),
      unackedBytes: bytes("out"),
      dead: this.msgs.filter((m) => m.state === "dead").length,
      consumers: this.live().length,
    };
  }
}

// ---- publishers -------------------------------------------------------------------------------

/** How the model test's senders pick an enqueue's seq and epoch. */
export type PubMode = "next" | "dup" | "gap" | "stale" | "epoch";

/** The connection of the model test's two publishers (channels 1 and 2). */
export const PUB_CONN = "n1/c";

export type Verdict =
  | { kind: "apply" }
  | { kind: "duplicate"; outcome: "enqueued" | "rejected" }
  | { kind: "out-of-order"; expected: { epoch: number; seq: number } };

/**
 * The reference for publisher order: every outcome kept (the machine keeps only refused seqs at
 * or above the sender's floor), and a sender that picks seqs, epochs and floors as the broker may.
 */
export class PublisherModel {
  private readonly states = new Map<
    string,
    { epoch: number; next: number; outcomes: Map<number, "enqueued" | "rejected"> }
  >();
  private readonly topEpoch = new Map<string, number>();

  ref(p: { who: number; mode: PubMode; k: number }): PublisherRef {
    const id = `${PUB_CONN}|${p.who + 1}`;
    const st = this.states.get(id);
    const top = this.topEpoch.get(id) ?? 0;
    const epoch = st?.epoch ?? top;
    const next = st?.next ?? 1;
    // The sender has answers for everything below `floor` and never resends those.
    const floor = Math.max(1, next - 2);
    switch (p.mode) {
      case "next":
        return { id, epoch, seq: next, floor };
      case "dup":
        return { id, epoch, seq: Math.max(floor, next - 1 - (p.k % 2)), floor };
      case "gap":
        return { id, epoch, seq: next + 1 + (p.k % 2), floor };
      case "stale":
        return { id, epoch: epoch - 1, seq: 1 + (p.k % 3), floor: 1 };
      case "epoch":
        this.topEpoch.set(id, Math.max(top, epoch) + 1);
        return { id, epoch: Math.max(top, epoch) + 1, seq: p.k % 3 === 0 ? 2 : 1, floor: 1 };
    }
  }

  check(p: PublisherRef): Verdict {
    const e = p.epoch ?? 0;
    const st = this.states.get(p.id);
    if (st === undefined || e > st.epoch) {
      return p.seq === 1 ? { kind: "apply" } : { kind: "out-of-order", expected: { epoch: e, seq: 1 } };
    }
    if (e < st.epoch) return { kind: "out-of-order", expected: { epoch: st.epoch, seq: st.next } };
    if (p.seq === st.next) return { kind: "apply" };
    if (p.seq < st.next) return { kind: "duplicate", outcome: st.outcomes.get(p.seq)! };
    return { kind: "out-of-order", expected: { epoch: e, seq: st.next } };
  }

  applied(p: PublisherRef, stored: boolean): void {
    const e = p.epoch ?? 0;
    let st = this.states.get(p.id);
    if (st === undefined || e > st.epoch) {
      st = { epoch: e, next: 1, outcomes: new Map() };
      this.states.set(p.id, st);
    }
    st.outcomes.set(p.seq, stored ? "enqueued" : "rejected");
    st.next = p.seq + 1;
  }

  /** `down` of a channel (or the whole connection), `node-down` of n1. */
  forget(channel: number | undefined): void {
    for (const id of [...this.states.keys()]) {
      if (channel === undefined || id === `${PUB_CONN}|${channel}`) this.states.delete(id);
    }
  }

  /** The reply the machine must give to a publish the verdict did not apply. */
  static reply(p: PublisherRef, v: Exclude<Verdict, { kind: "apply" }>): QueueReply {
    return v.kind === "duplicate"
      ? { type: "duplicate", publisher: p, outcome: v.outcome }
      : { type: "out-of-order", publisher: p, expected: v.expected };
  }
}
