/**
 * Per-publisher enqueue order, as `rabbit_fifo`'s enqueuers: a publisher (an AMQP channel, or a
 * node's HTTP publishes) numbers its enqueues to this queue 1, 2, 3, ... within an epoch, and
 * the queue applies them strictly in that order, exactly once:
 * - `seq` = the next expected one: applied (stored, or refused by reject-publish);
 * - `seq` below it (same epoch): a duplicate of an applied enqueue (a retry after a lost reply):
 *   answered with the original outcome, nothing stored again;
 * - `seq` above it: an earlier enqueue has not arrived (it was overtaken while the leader moved):
 *   refused as out of order, nothing stored; the sender resends everything unanswered in order.
 * Epochs let a sender start numbering again (it gave up on an enqueue that may or may not be in
 * the log, or it forgot its numbering): a higher epoch starts at seq 1 and makes every enqueue
 * of an older epoch stale (refused), so an abandoned enqueue can never land after newer ones.
 *
 * Rejecting rather than buffering an out-of-order enqueue keeps message ids (Raft indexes)
 * increasing in the message table, and the refused entry is not live (compacted away).
 *
 * State is per publisher id, removed by `down` (channel or connection closed; ids are
 * `${connection}|${channel}`), by `node-down` (prefix `${node}/`), or, past MAX_PUBLISHERS, the
 * least recently used are forgotten (a forgotten publisher's next enqueue is refused as out of
 * order with expected seq 1, and the sender starts a new epoch).
 */

import type { PublisherRef, QueueReply } from "./types.js";

/** Publishers remembered per queue before the least recently used are forgotten. */
export const MAX_PUBLISHERS = 4096;
/** How many are forgotten at once when over the bound (one scan, amortised). */
const EVICT_BATCH = 256;

/** Where a publisher stands, as a queue sees it. */
export interface PublisherState {
  epoch: number;
  /** The next seq this queue will apply. */
  next: number;
  /** Seqs >= the sender's floor that reject-publish refused (duplicates must be refused too). */
  refused: number[];
  /** Raft index of the last applied enqueue (least-recently-used order). */
  last: number;
}

/** The verdict on an enqueue before it is applied. */
export type SequenceCheck =
  | { readonly kind: "apply" }
  | { readonly kind: "duplicate"; readonly refused: boolean }
  | { readonly kind: "out-of-order"; readonly expected: { readonly epoch: number; readonly seq: number } };

const APPLY: SequenceCheck = { kind: "apply" };

export interface PublisherData {
  readonly id: string;
  readonly epoch: number;
  readonly next: number;
  readonly refused: number[];
  readonly last: number;
}

export class Publishers {
  private readonly byId = new Map<string, PublisherState>();

  get size(): number {
    return this.byId.size;
  }

  /**
   * Runs `append` (the enqueue itself) only if it is `p`'s next one; otherwise answers it as a
   * duplicate (with the original outcome) or as out of order, storing nothing.
   */
  sequence(p: PublisherRef, index: number, append: () => QueueReply): QueueReply {
    const check = this.check(p);
    if (check.kind === "duplicate") {
      return { type: "duplicate", publisher: p, outcome: check.refused ? "rejected" : "enqueued" };
    }
    if (check.kind === "out-of-order")
      return { type: "out-of-order", publisher: p, expected: check.expected };
    const reply = append();
    this.applied(p, index, reply.type === "rejected");
    return reply;
  }

  /** Pure check; `applied()` records an enqueue that went through. */
  check(p: PublisherRef): SequenceCheck {
    const epoch = p.epoch ?? 0;
    const st = this.byId.get(p.id);
    if (st === undefined || epoch > st.epoch) {
      return p.seq === 1 ? APPLY : { kind: "out-of-order", expected: { epoch, seq: 1 } };
    }
    if (epoch < st.epoch) return { kind: "out-of-order", expected: { epoch: st.epoch, seq: st.next } };
    if (p.seq === st.next) return APPLY;
    if (p.seq < st.next) return { kind: "duplicate", refused: st.refused.includes(p.seq) };
    return { kind: "out-of-order", expected: { epoch, seq: st.next } };
  }

  /** Records the enqueue `check()` allowed, applied at `index` (`refused`: reject-publish said no). */
  applied(p: PublisherRef, index: number, refused: boolean): void {
    const epoch = p.epoch ?? 0;
    let st = this.byId.get(p.id);
    if (st === undefined || epoch > st.epoch) {
      if (st === undefined && this.byId.size >= MAX_PUBLISHERS) this.evict();
      st = { epoch, next: 1, refused: [], last: index };
      this.byId.set(p.id, st);
    }
    st.next = p.seq + 1;
    st.last = index;
    const floor = p.floor ?? p.seq;
    if (st.refused.length > 0 && st.refused[0]! < floor) st.refused = st.refused.filter((s) => s >= floor);
    if (refused) st.refused.push(p.seq);
  }

  /** A channel (`channel` given) or connection closed: forget its publishers of epochs <= `upToEpoch`. */
  down(connection: string, channel: number | undefined, upToEpoch?: number): void {
    if (this.byId.size === 0) return;
    if (channel !== undefined) {
      this.forget(`${connection}|${channel}`, upToEpoch);
      return;
    }
    const prefix = `${connection}|`;
    for (const id of [...this.byId.keys()]) if (id.startsWith(prefix)) this.forget(id, upToEpoch);
  }

  /** Every publisher of a node that is gone (ids start with `${node}/`). */
  nodeDown(node: string): void {
    const prefix = `${node}/`;
    for (const id of [...this.byId.keys()]) if (id.startsWith(prefix)) this.byId.delete(id);
  }

  private forget(id: string, upToEpoch: number | undefined): void {
    const st = this.byId.get(id);
    if (st !== undefined && (upToEpoch === undefined || st.epoch <= upToEpoch)) this.byId.delete(id);
  }

  /** Forgets the least recently used (lowest `last`; ties by id, so every replica agrees). */
  private evict(): void {
    const order = [...this.byId].sort(([a, x], [b, y]) => x.last - y.last || (a < b ? -1 : a > b ? 1 : 0));
    for (const [id] of order.slice(0, EVICT_BATCH)) this.byId.delete(id);
  }

  /** Canonical (sorted by id): replicas with the same state encode the same bytes. */
  toData(): PublisherData[] {
    return [...this.byId]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, s]) => ({ id, epoch: s.epoch, next: s.next, refused: [...s.refused], last: s.last }));
  }

  static fromData(data: readonly PublisherData[] | undefined): Publishers {
    const p = new Publishers();
    for (const d of data ?? []) {
      p.byId.set(d.id, { epoch: d.epoch, next: d.next, refused: [...d.refused], last: d.last });
    }
    return p;
  }

  /** For tests and the management view. */
  get(id: string): Readonly<PublisherState> | undefined {
    return this.byId.get(id);
  }
}
