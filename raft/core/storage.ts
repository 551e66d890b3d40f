/**
 * The log storage the core reads synchronously, and an in-memory implementation.
 *
 * The core never writes to storage: it hands entries, hard state and snapshots to the host
 * through `Ready`, the host makes them durable and then puts them here (etcd/raft's
 * `Storage` / `MemoryStorage` split). Everything the core reads through {@link LogStorage}
 * must therefore already be durable.
 */
import { RaftInvariantError } from "../errors.js";
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from "./errors.js";
import type { ConfState, Entry, HardState, Snapshot } from "./types.js";
import { NONE } from "./types.js";

/** Synchronous, read-only view of a group's durable log. */
export interface LogStorage {
  /**
   * The state to restart from. `confState` must be the configuration as of the index the
   * host reports as `RaftConfig.applied` (or as of the snapshot when `applied` is absent):
   * configuration changes in entries the host re-applies are re-applied by it.
   */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries in [lo, hi), at most `maxSize` bytes of `data` in total but always at least one
   * entry when the range is non-empty. Throws CompactedError when `lo` is at or below the
   * snapshot index, UnavailableError when `hi` is beyond `lastIndex() + 1`.
   */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /**
   * The term of the entry at `i`, for i in [firstIndex() - 1, lastIndex()] (the index just
   * below the first is the snapshot's). CompactedError below, UnavailableError above.
   */
  term(i: number): number;
  /** The index of the first entry still in the log (snapshot index + 1). */
  firstIndex(): number;
  /** The index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): number;
  /** The most recent snapshot. UnavailableError means "not ready yet, try again later". */
  snapshot(): Snapshot;
}

/** Total payload size of an entry, as counted against `maxSizePerMsg`. */
export function entrySize(e: Entry): number {
  return e.data.byteLength;
}

/**
 * How many of `ents[from..to)` fit in `maxSize` bytes (at least one): lets callers slice
 * once instead of copying a long range and then truncating it.
 */
export function countWithin(ents: readonly Entry[], from: number, to: number, maxSize: number): number {
  if (to <= from) return 0;
  let size = entrySize(ents[from]!);
  let i = from + 1;
  for (; i < to; i++) {
    size += entrySize(ents[i]!);
    if (size > maxSize) break;
  }
  return i - from;
}

/**
 * Truncates `ents` so their total size stays within `maxSize`, keeping at least one entry
 * (a single oversized entry must still be able to travel).
 */
export function limitSize<T extends Entry>(ents: T[], maxSize: number): T[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]!);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

const EMPTY_CONF: ConfState = { voters: [], learners: [] };

/**
 * An in-memory {@link LogStorage}, also usable as the host's cache in front of a durable
 * store. Invariant: `ents[0]` is a dummy entry standing for the snapshot (its index and term),
 * so `ents[i].index === ents[0].index + i` for every i.
 */
export class MemoryStorage implements LogStorage {
  private hardState: HardState = { term: 0, vote: NONE, commit: 0 };
  private snap: Snapshot;
  private ents: Entry[];
  /** The configuration reported by initialState(); follows snapshots unless set explicitly. */
  private conf: ConfState;

  /** `conf` is the group's initial configuration (bootstrap); empty for a node that joins later. */
  constructor(conf: ConfState = EMPTY_CONF) {
    this.snap = { meta: { index: 0, term: 0, conf }, data: new Uint8Array(0), live: [] };
    this.ents = [dummy(0, 0)];
    this.conf = conf;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.conf };
  }

  /** Records the durable hard state (the host calls it after the fsync). */
  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  /** Overrides the configuration initialState() reports (after applying a ConfChange). */
  setConfState(conf: ConfState): void {
    this.conf = conf;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    if (lo >= hi) return [];
    const n = countWithin(this.ents, lo - offset, hi - offset, maxSize);
    return this.ents.slice(lo - offset, lo - offset + n);
  }

  term(i: number): number {
    const offset = this.ents[0]!.index;
    if (i < offset) throw new CompactedError(i);
    const e = this.ents[i - offset];
    if (e === undefined) throw new UnavailableError(i);
    return e.term;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with `s` (a snapshot received from the leader), as etcd does. */
  applySnapshot(s: Snapshot): void {
    if (s.meta.index < this.snap.meta.index)
      throw new SnapshotOutOfDateError(s.meta.index, this.snap.meta.index);
    this.snap = s;
    this.conf = s.meta.conf;
    this.ents = [dummy(s.meta.index, s.meta.term)];
  }

  /**
   * Records a snapshot of the state machine as of `index` (which must be applied, hence
   * in the log). Does not compact: call {@link compact} when the log before it may go.
   */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array, live: readonly number[]): Snapshot {
    if (index <= this.snap.meta.index) throw new SnapshotOutOfDateError(index, this.snap.meta.index);
    if (index > this.lastIndex()) {
      throw new RaftInvariantError(`snapshot index ${index} is beyond the last index ${this.lastIndex()}`);
    }
    for (let i = 0; i < live.length; i++) {
      const l = live[i]!;
      if (l > index || (i > 0 && l <= live[i - 1]!)) {
        throw new RaftInvariantError(`live indexes must be ascending and <= ${index}: ${live.join(",")}`);
      }
    }
    this.snap = { meta: { index, term: this.term(index), conf }, data, live: [...live] };
    return this.snap;
  }

  /**
   * Drops entries at or below `index` from memory. Live entries go too: the core never reads
   * below its first index, and the host's durable storage is what keeps them readable.
   */
  compact(index: number): void {
    const offset = this.ents[0]!.index;
    if (index <= offset) throw new CompactedError(index);
    if (index > this.lastIndex()) {
      throw new RaftInvariantError(`compact ${index} is beyond the last index ${this.lastIndex()}`);
    }
    const e = this.ents[index - offset]!;
    this.ents = [dummy(e.index, e.term), ...this.ents.slice(index - offset + 1)];
  }

  /** Appends durable entries; an entry at or below the last index truncates the suffix from it. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // all already compacted
    const ents = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const at = ents[0]!.index - this.ents[0]!.index;
    if (at > this.ents.length) {
      throw new RaftInvariantError(
        `missing log entries: last ${this.lastIndex()}, appending at ${ents[0]!.index}`,
      );
    }
    if (at === this.ents.length) {
      for (const e of ents) this.ents.push(e); // the common case: no copy of the log
    } else {
      this.ents = this.ents.slice(0, at).concat(ents);
    }
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: 0, data: new Uint8Array(0) };
}
