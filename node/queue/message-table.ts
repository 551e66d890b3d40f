/**
 * The compact per-message records of one priority level: parallel typed-array columns over a
 * growable window, sorted by message id (ids are Raft indexes, so appends arrive in order).
 * About 29 bytes per message, off the JS heap, no object per message.
 *
 * Layout of the window [head, tail):
 *   [head, cursor)  messages delivered at least once: checked out, returned (ready again),
 *                   pending dead-letter, or tombstones (settled, not yet compacted away);
 *   [cursor, tail)  fresh messages: ready and never delivered, in publish order.
 * Returned messages wait in a min-heap of ids, so they always go out before fresh ones and
 * in their original order (every returned id is below every fresh id).
 * Settled records become tombstones; the head skips them and a compaction drops the rest
 * when they outnumber live records, so acks in any order free memory.
 */
import { DeadLetterReason } from "./types.js";

export const State = {
  Empty: 0,
  Ready: 1,
  CheckedOut: 2,
  /** Pending dead-letter: 3 + index in DEAD_LETTER_REASONS. */
  DeadLettering: 3,
} as const;

export const DEAD_LETTER_REASONS: readonly DeadLetterReason[] = [
  DeadLetterReason.Rejected,
  DeadLetterReason.Expired,
  DeadLetterReason.MaxLen,
  DeadLetterReason.DeliveryLimit,
];

const MIN_CAPACITY = 64;

/** Columns serialized in snapshots (tombstones dropped). */
export interface LevelData {
  ids: Float64Array;
  times: Float64Array;
  sizes: Uint32Array;
  counts: Uint32Array;
  owners: Uint32Array;
  states: Uint8Array;
  /** Number of leading records that are not fresh (the cursor, after dropping tombstones). */
  cursor: number;
  /** Returned message ids, sorted ascending. */
  returned: Float64Array;
}

export class MessageLevel {
  ids = new Float64Array(MIN_CAPACITY);
  /** Expiry (ms since epoch, Infinity = never) while queued; the death time while dead-lettering. */
  times = new Float64Array(MIN_CAPACITY);
  sizes = new Uint32Array(MIN_CAPACITY);
  /** Delivery count: how many times the message was returned to the queue. */
  counts = new Uint32Array(MIN_CAPACITY);
  /** Consumer slot holding the message while checked out; 0 otherwise. */
  owners = new Uint32Array(MIN_CAPACITY);
  states = new Uint8Array(MIN_CAPACITY);
  head = 0;
  cursor = 0;
  tail = 0;
  private holes = 0;
  private heap = new Float64Array(16);
  private heapSize = 0;

  readyCount = 0;
  readyBytes = 0;
  checkedOutCount = 0;
  checkedOutBytes = 0;
  deadLetteringCount = 0;

  get capacity(): number {
    return this.ids.length;
  }

  /** Live records (everything but tombstones). */
  get size(): number {
    return this.tail - this.head - this.holes;
  }

  append(id: number, expiry: number, size: number): void {
    if (this.tail > this.head && id <= this.ids[this.tail - 1]!) {
      throw new RangeError(`message ids must increase: ${id} after ${this.ids[this.tail - 1]}`);
    }
    if (this.tail === this.capacity) {
      // Grow when at least half full, else squeeze the tombstones out in place.
      this.relayout(this.size * 2 >= this.capacity ? this.capacity * 2 : this.capacity);
    }
    const p = this.tail++;
    this.ids[p] = id;
    this.times[p] = expiry;
    this.sizes[p] = size;
    this.counts[p] = 0;
    this.owners[p] = 0;
    this.states[p] = State.Ready;
    this.readyCount++;
    this.readyBytes += size;
  }

  /** Position of a live record with this id, or -1. */
  find(id: number): number {
    let lo = this.head;
    let hi = this.tail - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.ids[mid]!;
      if (v < id) lo = mid + 1;
      else if (v > id) hi = mid - 1;
      else return this.states[mid] === State.Empty ? -1 : mid;
    }
    return -1;
  }

  /** Position of the next ready message (returned ones first), or -1. */
  peekReady(): number {
    if (this.heapSize > 0) return this.find(this.heap[0]!);
    return this.cursor < this.tail ? this.cursor : -1;
  }

  /** Takes the record at `peekReady()` out of the ready set (the caller gives it a new state). */
  private takeReady(p: number): void {
    if (this.heapSize > 0) this.heapPop();
    else this.cursor++;
    this.readyCount--;
    this.readyBytes -= this.sizes[p]!;
  }

  /** Next ready message -> checked out by `owner`. */
  checkOut(p: number, owner: number): void {
    this.takeReady(p);
    this.states[p] = State.CheckedOut;
    this.owners[p] = owner;
    this.checkedOutCount++;
    this.checkedOutBytes += this.sizes[p]!;
  }

  /** Next ready message -> gone (no-ack delivery, purge, drop without DLX). */
  dropReady(p: number): void {
    this.takeReady(p);
    this.tombstone(p);
  }

  /** Next ready message -> pending dead-letter. */
  deadLetterReady(p: number, reason: DeadLetterReason, time: number): void {
    this.takeReady(p);
    this.markDeadLettering(p, reason, time);
  }

  /** Checked-out message -> settled and gone. */
  settle(p: number): void {
    this.releaseCheckedOut(p);
    this.tombstone(p);
  }

  /** Checked-out message -> pending dead-letter. */
  deadLetterCheckedOut(p: number, reason: DeadLetterReason, time: number): void {
    this.releaseCheckedOut(p);
    this.markDeadLettering(p, reason, time);
  }

  /** Checked-out message -> ready again (before every fresh message), delivery count + 1. */
  requeue(p: number): void {
    this.releaseCheckedOut(p);
    this.states[p] = State.Ready;
    this.counts[p]!++;
    this.readyCount++;
    this.readyBytes += this.sizes[p]!;
    this.heapPush(this.ids[p]!);
  }

  /** Pending dead-letter -> gone. */
  settleDeadLettered(p: number): void {
    this.deadLetteringCount--;
    this.tombstone(p);
  }

  isDeadLettering(p: number): boolean {
    return this.states[p]! >= State.DeadLettering;
  }

  deadLetterReasonAt(p: number): DeadLetterReason {
    return DEAD_LETTER_REASONS[this.states[p]! - State.DeadLettering]!;
  }

  private releaseCheckedOut(p: number): void {
    this.owners[p] = 0;
    this.checkedOutCount--;
    this.checkedOutBytes -= this.sizes[p]!;
  }

  private markDeadLettering(p: number, reason: DeadLetterReason, time: number): void {
    this.states[p] = State.DeadLettering + DEAD_LETTER_REASONS.indexOf(reason);
    this.times[p] = time;
    this.deadLetteringCount++;
  }

  private tombstone(p: number): void {
    this.states[p] = State.Empty;
    this.owners[p] = 0;
    this.holes++;
    while (this.head < this.tail && this.states[this.head] === State.Empty) {
      this.head++;
      this.holes--;
    }
    if (this.cursor < this.head) this.cursor = this.head;
    if (this.head === this.tail) {
      // Empty: start over at the front (and give a drained big queue its memory back).
      this.head = this.cursor = this.tail = 0;
      if (this.capacity > MIN_CAPACITY * 16) this.relayout(MIN_CAPACITY);
      this.heapSize = 0;
    } else if (this.holes > 1024 && this.holes > this.size) {
      this.relayout(this.capacity);
    }
  }

  /** Copies live records to the front of arrays of `cap` records, dropping tombstones. */
  private relayout(cap: number): void {
    const fresh = cap !== this.capacity;
    const ids = fresh ? new Float64Array(cap) : this.ids;
    const times = fresh ? new Float64Array(cap) : this.times;
    const sizes = fresh ? new Uint32Array(cap) : this.sizes;
    const counts = fresh ? new Uint32Array(cap) : this.counts;
    const owners = fresh ? new Uint32Array(cap) : this.owners;
    const states = fresh ? new Uint8Array(cap) : this.states;
    let w = 0;
    let cursor = -1;
    for (let r = this.head; r < this.tail; r++) {
      if (r === this.cursor) cursor = w;
      if (this.states[r] === State.Empty) continue;
      ids[w] = this.ids[r]!;
      times[w] = this.times[r]!;
      sizes[w] = this.sizes[r]!;
      counts[w] = this.counts[r]!;
      owners[w] = this.owners[r]!;
      states[w] = this.states[r]!;
      w++;
    }
    if (cursor === -1) cursor = w;
    if (!fresh) states.fill(State.Empty, w, this.tail);
    this.ids = ids;
    this.times = times;
    this.sizes = sizes;
    this.counts = counts;
    this.owners = owners;
    this.states = states;
    this.head = 0;
    this.tail = w;
    this.cursor = cursor;
    this.holes = 0;
  }

  /** Positions of every live record that has been delivered (not fresh), ascending. */
  *delivered(): Generator<number> {
    for (let p = this.head; p < this.cursor; p++) if (this.states[p] !== State.Empty) yield p;
  }

  // ---- returned-message min-heap ---------------------------------------------------------

  private heapPush(id: number): void {
    if (this.heapSize === this.heap.length) {
      const bigger = new Float64Array(this.heap.length * 2);
      bigger.set(this.heap);
      this.heap = bigger;
    }
    const h = this.heap;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]! <= id) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = id;
  }

  private heapPop(): void {
    const h = this.heap;
    const last = h[--this.heapSize]!;
    let i = 0;
    const n = this.heapSize;
    while (true) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1]! < h[c]!) c++;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    if (n > 0) h[i] = last;
  }

  /** Empties the ready set (purge): returns the positions, returned ones first, ascending by id. */
  takeAllReady(): number[] {
    const out: number[] = [];
    while (this.heapSize > 0) {
      out.push(this.find(this.heap[0]!));
      this.heapPop();
    }
    for (let p = this.cursor; p < this.tail; p++) out.push(p);
    this.cursor = this.tail;
    this.readyCount = 0;
    this.readyBytes = 0;
    return out;
  }

  /** Marks a record taken by `takeAllReady` as gone. */
  dropTaken(p: number): void {
    this.tombstone(p);
  }

  // ---- snapshots -------------------------------------------------------------------------

  toData(): LevelData {
    const n = this.size;
    const data: LevelData = {
      ids: new Float64Array(n),
      times: new Float64Array(n),
      sizes: new Uint32Array(n),
      counts: new Uint32Array(n),
      owners: new Uint32Array(n),
      states: new Uint8Array(n),
      cursor: 0,
      returned: this.heap.slice(0, this.heapSize).sort(),
    };
    let w = 0;
    for (let r = this.head; r < this.tail; r++) {
      if (r === this.cursor) data.cursor = w;
      if (this.states[r] === State.Empty) continue;
      data.ids[w] = this.ids[r]!;
      data.times[w] = this.times[r]!;
      data.sizes[w] = this.sizes[r]!;
      data.counts[w] = this.counts[r]!;
      data.owners[w] = this.owners[r]!;
      data.states[w] = this.states[r]!;
      w++;
    }
    if (this.cursor >= this.tail) data.cursor = w;
    return data;
  }

  static fromData(d: LevelData): MessageLevel {
    const level = new MessageLevel();
    const n = d.ids.length;
    let cap = MIN_CAPACITY;
    while (cap < n + 1) cap *= 2;
    level.ids = new Float64Array(cap);
    level.ids.set(d.ids);
    level.times = new Float64Array(cap);
    level.times.set(d.times);
    level.sizes = new Uint32Array(cap);
    level.sizes.set(d.sizes);
    level.counts = new Uint32Array(cap);
    level.counts.set(d.counts);
    level.owners = new Uint32Array(cap);
    level.owners.set(d.owners);
    level.states = new Uint8Array(cap);
    level.states.set(d.states);
    level.tail = n;
    level.cursor = d.cursor;
    // Sorted ascending is already a valid min-heap.
    level.heap = new Float64Array(Math.max(16, d.returned.length));
    level.heap.set(d.returned);
    level.heapSize = d.returned.length;
    for (let p = 0; p < n; p++) {
      const s = d.states[p]!;
      if (s === State.Ready) {
        level.readyCount++;
        level.readyBytes += d.sizes[p]!;
      } else if (s === State.CheckedOut) {
        level.checkedOutCount++;
        level.checkedOutBytes += d.sizes[p]!;
      } else if (s >= State.DeadLettering) {
        level.deadLetteringCount++;
      }
    }
    return level;
  }
}
