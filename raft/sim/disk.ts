/**
 * The simulated disk of one node: what the node writes goes to an unsynced buffer and becomes
 * durable only at an fsync; a crash throws the buffer away.
 *
 * The durable image is what a restarted node is rebuilt from (hard state, snapshot, log and the
 * live entries its snapshot names), so every write the host forgets to fsync before it answers a
 * peer turns into a lost vote or a lost acknowledged entry after a crash, which the checkers see.
 *
 * Writes are applied in order at fsync, with etcd's storage semantics: appending entries at an
 * index at or below the last one truncates the suffix first; installing a leader's snapshot
 * replaces the whole log; a local snapshot compacts the log but keeps the entries it names live.
 */
import type { Entry, HardState, Snapshot } from "../core/types.js";

/** One buffered write, applied at the next fsync. */
export type DiskWrite =
  /** A snapshot received from the leader (InstallSnapshot) with the live entries it shipped. */
  | { readonly kind: "install"; readonly snapshot: Snapshot; readonly liveEntries: readonly Entry[] }
  /** Log entries; the first one's index says where the log is cut before appending. */
  | { readonly kind: "entries"; readonly entries: readonly Entry[] }
  | { readonly kind: "hardState"; readonly hardState: HardState }
  /** A snapshot the node's own state machine took: the log up to its index is compacted. */
  | { readonly kind: "compact"; readonly snapshot: Snapshot };

/** An entry that became durable, with the term of the durable entry before it (for log matching). */
export interface AppendedEntry {
  readonly entry: Entry;
  readonly prevTerm: number;
}

/**
 * A durable entry a write removed. `byTerm` is the highest term among what replaced it (the new
 * entries of that append, or the installed snapshot): the leader that sent them had at least
 * that term.
 */
export interface LostEntry {
  readonly index: number;
  readonly term: number;
  readonly byTerm: number;
}

/** What one fsync changed, for the checkers. */
export interface FsyncReport {
  /** Entries that became durable, in log order. */
  readonly appended: readonly AppendedEntry[];
  /** Durable entries that were removed without a snapshot covering them (truncated or replaced). */
  readonly lost: readonly LostEntry[];
  /** Writes that make no sense for a log (a hole, a missing live entry): always a bug upstream. */
  readonly anomalies: readonly string[];
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: "", commit: 0 };

export class SimDisk {
  private hardStateD: HardState = EMPTY_HARD_STATE;
  private snapshotD: Snapshot | undefined;
  /** Durable log, contiguous, starting right after the snapshot's index. */
  private log: Entry[] = [];
  /** Entries at or below the snapshot index kept because the snapshot names them live. */
  private live = new Map<number, Entry>();
  private pending: DiskWrite[] = [];
  /** Number of fsyncs that made something durable, for reports. */
  fsyncs = 0;

  /** @param initial a bootstrap snapshot (the group's first configuration), durable from the start. */
  constructor(initial?: Snapshot) {
    this.snapshotD = initial;
  }

  get hardState(): HardState {
    return this.hardStateD;
  }

  get snapshot(): Snapshot | undefined {
    return this.snapshotD;
  }

  /** The durable log entries above the snapshot (a copy). */
  entries(): Entry[] {
    return this.log.slice();
  }

  /** Durable live entries, ascending by index (a copy). */
  liveEntries(): Entry[] {
    return [...this.live.values()].sort((a, b) => a.index - b.index);
  }

  get pendingWrites(): number {
    return this.pending.length;
  }

  snapshotIndex(): number {
    return this.snapshotD?.meta.index ?? 0;
  }

  lastIndex(): number {
    const last = this.log[this.log.length - 1];
    return last ? last.index : this.snapshotIndex();
  }

  /** Term of the durable entry at `i`, or undefined if the durable log does not know it. */
  termAt(i: number): number | undefined {
    if (i === 0) return 0;
    const snap = this.snapshotD;
    if (snap && i === snap.meta.index) return snap.meta.term;
    const first = this.log[0];
    if (!first || i < first.index) return undefined;
    return this.log[i - first.index]?.term;
  }

  /** True when the entry (index, term) is durable here: in the log, or covered by the snapshot. */
  holds(index: number, term: number): boolean {
    if (index <= this.snapshotIndex()) return true;
    return this.termAt(index) === term;
  }

  /** A durable entry by index, from the log or the live entries (what a host serves to readers). */
  readEntry(i: number): Entry | undefined {
    const first = this.log[0];
    if (first && i >= first.index) return this.log[i - first.index];
    return this.live.get(i);
  }

  /** Buffers a write; nothing is durable until {@link fsync}. */
  write(w: DiskWrite): void {
    this.pending.push(w);
  }

  /** Makes every buffered write durable, in order, and reports what changed. */
  fsync(): FsyncReport {
    const appended: AppendedEntry[] = [];
    const lost: LostEntry[] = [];
    const anomalies: string[] = [];
    const writes = this.pending;
    this.pending = [];
    for (const w of writes) {
      switch (w.kind) {
        case "hardState":
          this.hardStateD = w.hardState;
          break;
        case "entries":
          this.applyEntries(w.entries, appended, lost, anomalies);
          break;
        case "install":
          this.applyInstall(w.snapshot, w.liveEntries, lost, anomalies);
          break;
        case "compact":
          this.applyCompact(w.snapshot, anomalies);
          break;
      }
    }
    if (writes.length > 0) this.fsyncs++;
    return { appended, lost, anomalies };
  }

  /** Power loss: the unsynced buffer is gone. Returns how many writes were lost. */
  crash(): number {
    const n = this.pending.length;
    this.pending = [];
    return n;
  }

  private applyEntries(
    entries: readonly Entry[],
    appended: AppendedEntry[],
    lost: LostEntry[],
    anomalies: string[],
  ): void {
    const snapIndex = this.snapshotIndex();
    // Entries at or below the snapshot are already covered (etcd's MemoryStorage ignores them too).
    const fresh = entries.filter((e) => e.index > snapIndex);
    const head = fresh[0];
    if (!head) return;
    if (head.index > this.lastIndex() + 1) {
      anomalies.push(`append at ${head.index} leaves a hole after durable last index ${this.lastIndex()}`);
      return;
    }
    const first = this.log[0]?.index ?? snapIndex + 1;
    const keep = head.index - first;
    const removed = this.log.slice(keep);
    this.log.length = keep;
    const rewritten = new Map<number, number>();
    for (const e of fresh) rewritten.set(e.index, e.term);
    let byTerm = 0;
    for (const e of fresh) byTerm = Math.max(byTerm, e.term);
    for (const r of removed) {
      if (rewritten.get(r.index) !== r.term) lost.push({ index: r.index, term: r.term, byTerm });
    }
    let prevTerm = this.termAt(head.index - 1) ?? -1;
    for (const e of fresh) {
      if (this.log.length > 0 && e.index !== (this.log[this.log.length - 1] as Entry).index + 1) {
        anomalies.push(`non-contiguous entries in one append at ${e.index}`);
        return;
      }
      this.log.push(e);
      appended.push({ entry: e, prevTerm });
      prevTerm = e.term;
    }
  }

  private applyInstall(
    s: Snapshot,
    liveEntries: readonly Entry[],
    lost: LostEntry[],
    anomalies: string[],
  ): void {
    for (const e of this.log) {
      if (e.index > s.meta.index) lost.push({ index: e.index, term: e.term, byTerm: s.meta.term });
    }
    this.snapshotD = s;
    this.log = [];
    this.live = new Map();
    for (const e of liveEntries) this.live.set(e.index, e);
    for (const i of s.live) {
      if (!this.live.has(i))
        anomalies.push(`installed snapshot at ${s.meta.index} names live ${i} but it was not shipped`);
    }
  }

  private applyCompact(s: Snapshot, anomalies: string[]): void {
    if (s.meta.index <= this.snapshotIndex()) return;
    const next = new Map<number, Entry>();
    for (const i of s.live) {
      const e = this.readEntry(i);
      if (e) next.set(i, e);
      else anomalies.push(`snapshot at ${s.meta.index} names live ${i} but the disk does not hold it`);
    }
    const first = this.log[0]?.index ?? this.snapshotIndex() + 1;
    this.log = this.log.slice(Math.max(0, s.meta.index + 1 - first));
    this.live = next;
    this.snapshotD = s;
  }
}
