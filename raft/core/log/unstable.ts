/**
 * The part of the log not yet durable: entries (and at most one snapshot) that the host has
 * been handed in a Ready but has not reported persisted through advance().
 *
 * Invariant: `entries[i].index === offset + i`; when `snapshot` is set, `offset` is
 * `snapshot.meta.index + 1` or the entries that follow it. Everything below `offset` is in
 * storage (or covered by the snapshot).
 */
import { RaftInvariantError } from "../../errors.js";
import type { Entry, Snapshot } from "../types.js";

export class Unstable {
  /** A snapshot received from the leader, not yet installed by the host. */
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];
  /** The index of `entries[0]` (or where the next one would go). */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** The first log index if a pending snapshot defines it. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined;
  }

  /** The last log index if the unstable part defines it. */
  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.meta.index;
  }

  /** The term of entry `i` if the unstable part holds it. */
  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      return this.snapshot && this.snapshot.meta.index === i ? this.snapshot.meta.term : undefined;
    }
    return this.entries[i - this.offset]?.term;
  }

  /**
   * The host made entries up to `i` durable (they were in a Ready whose last entry was
   * (i, t)). Ignored when the entry was replaced meanwhile by a conflicting append: its
   * replacement still has to be written.
   */
  stableTo(i: number, t: number): void {
    if (i < this.offset || this.maybeTerm(i) !== t) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }

  /** The host installed the snapshot at index `i`. */
  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.meta.index === i) this.snapshot = undefined;
  }

  /** Replaces everything with a snapshot from the leader. */
  restore(s: Snapshot): void {
    this.offset = s.meta.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  /** Appends `ents`, first dropping any entries at or after `ents[0].index` (a conflicting suffix). */
  truncateAndAppend(ents: readonly Entry[]): void {
    const after = ents[0]!.index;
    if (after === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces the whole unstable part and possibly some stable entries: they become unstable again.
      this.offset = after;
      this.entries = [...ents];
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(ents);
    }
  }

  /** Entries in [lo, hi), which must lie within the unstable part. */
  slice(lo: number, hi: number): Entry[] {
    const upper = this.offset + this.entries.length;
    if (lo > hi || lo < this.offset || hi > upper) {
      throw new RaftInvariantError(`unstable.slice[${lo},${hi}) out of bounds [${this.offset},${upper})`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
