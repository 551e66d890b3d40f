/**
 * Per-group bookkeeping of what is stored (or staged) for one group, and the functions that turn
 * a Raft write (append, snapshot install, compaction, delete) into LevelDB operations.
 *
 * `NodeStorage` keeps one {@link GroupLog} per loaded group. Its fields describe the log as it
 * will be once every staged batch is written, so consecutive stages build on each other without
 * reading the disk. Each function validates its input completely before it touches the batch, so
 * a rejected call leaves both the batch and the bookkeeping unchanged.
 */
import type { Entry, GroupId, Snapshot } from "../core/types.js";
import { RaftInvariantError } from "../errors.js";
import { checkLiveList, encodeEntry, encodeSnapshot, RecordDecodeError } from "./codec.js";
import { encodeGroup, entryKeyEncoded, hardStateKey, markerKey, snapshotKey } from "./keys.js";
import type { WriteBatch } from "./write-batch.js";

/**
 * Invariants: `snapIndex <= lastIndex`; entries `snapIndex+1 .. lastIndex` are stored; below
 * `snapIndex` exactly the indexes in `live` are stored (sorted ascending, each <= snapIndex).
 */
export interface GroupLog {
  readonly group: GroupId;
  /** `encodeGroup(group)`, cached for the per-entry key building. */
  readonly encoded: string;
  /** Index of the stored snapshot, 0 when there is none. */
  snapIndex: number;
  snapTerm: number;
  /** Last log index (== snapIndex for an empty log). */
  lastIndex: number;
  /** Live entries kept below the snapshot. */
  live: readonly number[];
  /** False for a group created in this process until its marker key is staged. */
  markerStaged: boolean;
}

export function newGroupLog(group: GroupId, markerStaged: boolean): GroupLog {
  return {
    group,
    encoded: encodeGroup(group),
    snapIndex: 0,
    snapTerm: 0,
    lastIndex: 0,
    live: [],
    markerStaged,
  };
}

/** Stages the group's existence marker the first time anything is written for it. */
export function stageMarker(batch: WriteBatch, g: GroupLog): void {
  if (g.markerStaged) return;
  batch.put(markerKey(g.group), EMPTY);
  g.markerStaged = true;
}

const EMPTY = Buffer.alloc(0);

function fail(g: GroupLog, msg: string): never {
  throw new RaftInvariantError(`raft storage, group ${g.group}: ${msg}`);
}

/**
 * Appends `entries` (consecutive indexes). Raft §5.3: an entry at an index that already exists
 * replaces the stored one and everything after it, so the stored suffix beyond the new last
 * entry is deleted in the same batch.
 */
export function stageAppend(batch: WriteBatch, g: GroupLog, entries: readonly Entry[]): void {
  const first = entries[0];
  if (!first) return;
  for (let k = 1; k < entries.length; k++) {
    if (entries[k]!.index !== first.index + k)
      fail(g, `appended entries are not consecutive at ${first.index + k}`);
  }
  if (first.index <= g.snapIndex)
    fail(g, `cannot append entry ${first.index} at or below snapshot ${g.snapIndex}`);
  if (first.index > g.lastIndex + 1)
    fail(g, `appending entry ${first.index} would leave a hole after ${g.lastIndex}`);
  const newLast = first.index + entries.length - 1;
  for (let i = newLast + 1; i <= g.lastIndex; i++) batch.delEntry(g.group, entryKeyEncoded(g.encoded, i), i);
  for (const e of entries) batch.putEntry(g.group, entryKeyEncoded(g.encoded, e.index), e, encodeEntry(e));
  g.lastIndex = newLast;
}

function validateSnapshot(g: GroupLog, s: Snapshot): void {
  try {
    checkLiveList(s.live, s.meta.index);
  } catch (err) {
    if (err instanceof RecordDecodeError) fail(g, `snapshot at ${s.meta.index}: ${err.message}`);
    throw err;
  }
}

/**
 * Installs a snapshot received from the leader (Raft Figure 13): the whole stored log is
 * replaced by the snapshot plus its live entries, as etcd's `ApplySnapshot` does. `liveEntries`
 * must carry exactly the entries named by `s.live`.
 */
export function stageInstall(
  batch: WriteBatch,
  g: GroupLog,
  s: Snapshot,
  liveEntries: readonly Entry[],
): void {
  validateSnapshot(g, s);
  if (s.meta.index < g.snapIndex) fail(g, `snapshot ${s.meta.index} is older than the stored ${g.snapIndex}`);
  if (liveEntries.length !== s.live.length || liveEntries.some((e, k) => e.index !== s.live[k])) {
    fail(g, `snapshot ${s.meta.index} names live entries [${s.live.join(",")}] but carries other entries`);
  }
  for (const i of g.live) batch.delEntry(g.group, entryKeyEncoded(g.encoded, i), i);
  for (let i = g.snapIndex + 1; i <= g.lastIndex; i++)
    batch.delEntry(g.group, entryKeyEncoded(g.encoded, i), i);
  batch.put(snapshotKey(g.group), encodeSnapshot(s));
  for (const e of liveEntries)
    batch.putEntry(g.group, entryKeyEncoded(g.encoded, e.index), e, encodeEntry(e));
  g.snapIndex = s.meta.index;
  g.snapTerm = s.meta.term;
  g.lastIndex = s.meta.index;
  g.live = [...s.live];
}

/**
 * Compaction after the local state machine took a snapshot: stores the snapshot and deletes every
 * entry at or below its index except its live ones (RabbitMQ Ra v3's live indexes), so disk is
 * reclaimed even when messages are settled out of order. A live index must be one that is
 * stored: a log entry above the previous snapshot or an entry that was already live.
 */
export function stageCompaction(batch: WriteBatch, g: GroupLog, s: Snapshot): void {
  validateSnapshot(g, s);
  const index = s.meta.index;
  if (index < g.snapIndex) fail(g, `cannot compact to ${index}: already compacted to ${g.snapIndex}`);
  if (index > g.lastIndex) fail(g, `cannot compact to ${index}: the log ends at ${g.lastIndex}`);
  const oldLive = new Set(g.live);
  for (const i of s.live) {
    if (i <= g.snapIndex && !oldLive.has(i)) fail(g, `live entry ${i} was already compacted away`);
  }
  const newLive = new Set(s.live);
  for (const i of g.live) {
    if (!newLive.has(i)) batch.delEntry(g.group, entryKeyEncoded(g.encoded, i), i);
  }
  for (let i = g.snapIndex + 1; i <= index; i++) {
    if (!newLive.has(i)) batch.delEntry(g.group, entryKeyEncoded(g.encoded, i), i);
  }
  batch.put(snapshotKey(g.group), encodeSnapshot(s));
  g.snapIndex = index;
  g.snapTerm = s.meta.term;
  g.live = [...s.live];
}

/** Deletes every key of a loaded (or newly created) group: entries, hard state, snapshot, marker. */
export function stageDeleteLoaded(batch: WriteBatch, g: GroupLog): void {
  for (const i of g.live) batch.del(entryKeyEncoded(g.encoded, i));
  for (let i = g.snapIndex + 1; i <= g.lastIndex; i++) batch.del(entryKeyEncoded(g.encoded, i));
  batch.del(hardStateKey(g.group));
  batch.del(snapshotKey(g.group));
  batch.del(markerKey(g.group));
  batch.clearGroup(g.group);
}
