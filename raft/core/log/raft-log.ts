/**
 * The Raft log as the core sees it: durable entries in {@link LogStorage} followed by the
 * {@link Unstable} part, plus the commit and applied indexes (Raft Figure 2's
 * commitIndex / lastApplied).
 *
 * Invariants: applied <= committed <= lastIndex(); committed entries are never truncated
 * (Raft §5.3: a follower only ever drops a conflicting, hence uncommitted, suffix).
 */
import { RaftInvariantError } from "../../errors.js";
import { CompactedError, UnavailableError } from "../errors.js";
import type { LogStorage } from "../storage.js";
import { countWithin, limitSize } from "../storage.js";
import type { Entry, Snapshot } from "../types.js";
import { Unstable } from "./unstable.js";

export class RaftLog {
  readonly storage: LogStorage;
  readonly unstable: Unstable;
  /** The highest index known to be committed (durable on a majority). */
  committed: number;
  /** The highest index the host reported applied (through advance()). */
  applied: number;

  constructor(storage: LogStorage, applied = 0) {
    this.storage = storage;
    const first = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    // Everything up to the snapshot is committed and applied by definition.
    this.committed = first - 1;
    this.applied = Math.max(first - 1, applied);
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /**
   * The highest index known durable locally: below the unstable part, unless a received
   * snapshot is still being installed (then nothing is claimed).
   */
  stableIndex(): number {
    return this.unstable.snapshot ? 0 : this.unstable.offset - 1;
  }

  /**
   * The term of entry `i`; 0 for an index beyond the log. Throws CompactedError below
   * firstIndex() - 1 (the snapshot's index, whose term is known).
   */
  term(i: number): number {
    const dummy = this.firstIndex() - 1;
    if (i < dummy) throw new CompactedError(i);
    if (i > this.lastIndex()) return 0;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  /** term(i), or 0 when `i` is compacted or unavailable. */
  zeroTermOnError(i: number): number {
    try {
      return this.term(i);
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return 0;
      throw e;
    }
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** True when the entry at `i` has term `t` (Raft §5.3's Log Matching check). */
  matchTerm(i: number, t: number): boolean {
    if (i > this.lastIndex()) return false;
    try {
      return this.term(i) === t;
    } catch (e) {
      if (e instanceof CompactedError || e instanceof UnavailableError) return false;
      throw e;
    }
  }

  /**
   * Raft §5.4.1: a candidate's log (last entry `lasti` of term `term`) is at least as
   * up-to-date as ours if its last term is later, or equal with an index at least as high.
   */
  isUpToDate(lasti: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && lasti >= this.lastIndex());
  }

  /**
   * The index of the first entry of `ents` that conflicts with the log (same index, other
   * term) or is new; 0 when all are already present.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * Fast backtracking (etcd's findConflictByTerm, thesis §5.3's optimisation): the largest
   * index <= `index` whose term is <= `term`, with its term. The leader, holding entries of
   * `term` up to `index`, can skip every follower entry of a later term in one round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i >= 0; i--) {
      let t: number;
      try {
        t = this.term(i);
      } catch (e) {
        if (e instanceof CompactedError || e instanceof UnavailableError) return { index: i, term: 0 };
        throw e;
      }
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  /**
   * The follower's AppendEntries receiver (Figure 2, steps 2-5): if the entry at `index` has
   * `logTerm`, drops any conflicting suffix, appends what is new, advances the commit index
   * to min(leaderCommit, index of last new entry) and returns that last new index;
   * returns undefined when the log does not match at `index`.
   */
  maybeAppend(index: number, logTerm: number, committed: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) {
        throw new RaftInvariantError(
          `entry ${ci} conflicts with the committed entry (committed ${this.committed})`,
        );
      }
      this.append(ents.slice(ci - (index + 1)));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  /** Appends entries (the leader's own, or a follower's new suffix) to the unstable part. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) {
      throw new RaftInvariantError(`append after ${after} is below committed ${this.committed}`);
    }
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** Entries to hand the host for persisting. */
  unstableEntries(): Entry[] {
    return [...this.unstable.entries];
  }

  /** True when committed entries wait to be applied. */
  hasNextCommittedEntries(): boolean {
    return this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  /** Committed entries not yet applied (the host applies them after persisting). */
  nextCommittedEntries(maxSize: number): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1, maxSize);
  }

  /** The snapshot to send a follower that needs compacted entries. */
  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(toCommit: number): void {
    if (toCommit <= this.committed) return; // never decrease
    if (toCommit > this.lastIndex()) {
      throw new RaftInvariantError(`commit ${toCommit} is beyond the last index ${this.lastIndex()}`);
    }
    this.committed = toCommit;
  }

  appliedTo(i: number): void {
    if (i === 0 || i <= this.applied) return;
    if (i > this.committed)
      throw new RaftInvariantError(`applied ${i} is beyond committed ${this.committed}`);
    this.applied = i;
  }

  stableTo(i: number, t: number): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapTo(i: number): void {
    this.unstable.stableSnapTo(i);
  }

  /**
   * Commits `maxIndex` if it is of the leader's current `term` (Raft §5.4.2 / Figure 8: a
   * leader never commits an earlier term's entry by counting replicas; those commit
   * indirectly, with the first entry of its own term).
   */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.zeroTermOnError(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  /** Installs a snapshot from the leader: the whole log is replaced. */
  restore(s: Snapshot): void {
    this.committed = s.meta.index;
    this.unstable.restore(s);
  }

  /**
   * Entries from `i` to the end, at most `maxSize` bytes (at least one entry).
   * Throws CompactedError when `i` is below firstIndex().
   */
  entries(i: number, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  /** Entries in [lo, hi) from storage then the unstable part, size-limited. */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1 || lo > hi) {
      throw new RaftInvariantError(`slice[${lo},${hi}) out of bounds (last ${this.lastIndex()})`);
    }
    if (lo === hi) return [];
    let ents: Entry[] = [];
    const off = this.unstable.offset;
    if (lo < off) {
      ents = this.storage.entries(lo, Math.min(hi, off), maxSize);
      // Storage stopped early (size limit): the unstable part would exceed it anyway.
      if (ents.length < Math.min(hi, off) - lo) return ents;
    }
    if (hi > off) {
      // Take only what can fit: a far-behind follower must not cost a copy of the whole tail.
      const from = Math.max(lo, off);
      const n = countWithin(this.unstable.entries, from - off, hi - off, maxSize);
      const u = this.unstable.slice(from, from + n);
      ents = ents.length > 0 ? ents.concat(u) : u;
    }
    return limitSize(ents, maxSize);
  }
}
