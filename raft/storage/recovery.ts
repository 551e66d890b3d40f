/**
 * Recovery: reads one group's records back and checks that they form a valid Raft log.
 *
 * Policy: any record that does not decode, any key this layout does not produce, and any log that
 * contradicts itself (a hole, an entry whose stored index differs from its key, a stray entry
 * below the snapshot, a missing live entry, terms going backwards, a commit index beyond the log)
 * throws CorruptStorageError naming the group and key. Nothing is ever skipped: a node that
 * silently forgot a vote or an acknowledged entry could elect two leaders or lose a committed
 * write, so the operator must look at the disk instead.
 */
import type { Entry, GroupId, HardState, Snapshot } from "../core/types.js";
import { CorruptStorageError } from "../errors.js";
import { decodeEntry, decodeHardState, decodeSnapshot, RecordDecodeError } from "./codec.js";
import { type GroupLog, newGroupLog } from "./group-log.js";
import { groupLowerBound, groupUpperBound, hardStateKey, parseGroupKey } from "./keys.js";

/** What `NodeStorage.load` returns: the log after the snapshot (live entries are served by `readEntry`). */
export interface LoadedGroup {
  hardState: HardState | undefined;
  snapshot: Snapshot | undefined;
  /** Entries `snapshot.meta.index + 1 ..` (from 1 without a snapshot), consecutive. */
  entries: Entry[];
}

/**
 * The subset of a LevelDB handle recovery needs (a plain `Level<string, Buffer>` fits). Keeping
 * it this narrow lets a test or tool run recovery over any sorted key-value source.
 */
export interface RecordSource {
  iterator(opts: { gte: string; lt: string }): AsyncIterable<[string, Buffer]>;
}

/**
 * The one wording of a corruption found at startup: it names the group, the key and the reason,
 * and tells the operator what to do, because this error ends the process.
 */
export function corrupt(group: GroupId, key: string, reason: string): CorruptStorageError {
  return new CorruptStorageError(
    `refusing to start: raft storage for group ${JSON.stringify(group)} is corrupt at key ` +
      `${JSON.stringify(key)}: ${reason}. Inspect or restore the node's data directory; ` +
      `the node must not run on a log it cannot read.`,
  );
}

/** Runs a decoder and turns its shape error into a CorruptStorageError naming group and key. */
function decodeAt<T>(group: GroupId, key: string, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (err) {
    if (err instanceof RecordDecodeError) throw corrupt(group, key, `${what}: ${err.message}`);
    throw err;
  }
}

/**
 * Reads and validates one group; returns the Raft view and the bookkeeping for later stages.
 *
 * One range scan returns the group's keys in byte order: entries first (sorted by index, see
 * keys.ts), then `h`, then `s`. The entries are only checked once the snapshot is known, since
 * which ones may sit below it depends on its live list.
 */
export async function recoverGroup(
  db: RecordSource,
  group: GroupId,
): Promise<{ loaded: LoadedGroup; log: GroupLog }> {
  let hardState: HardState | undefined;
  let snapshot: Snapshot | undefined;
  let snapshotKeyName = "";
  const stored: { key: string; entry: Entry }[] = [];

  for await (const [key, value] of db.iterator({ gte: groupLowerBound(group), lt: groupUpperBound(group) })) {
    const parsed = parseGroupKey(group, key);
    if (!parsed) throw corrupt(group, key, "the key is not part of the storage layout");
    if (parsed.kind === "hardState") {
      hardState = decodeAt(group, key, "hard state", () => decodeHardState(value));
    } else if (parsed.kind === "snapshot") {
      snapshot = decodeAt(group, key, "snapshot", () => decodeSnapshot(value));
      snapshotKeyName = key;
    } else {
      const entry = decodeAt(group, key, `entry ${parsed.index}`, () => decodeEntry(value));
      if (entry.index !== parsed.index) {
        throw corrupt(
          group,
          key,
          `the entry stored under index ${parsed.index} says it is entry ${entry.index}`,
        );
      }
      stored.push({ key, entry });
    }
  }

  // Without a snapshot the log starts at index 1 and any term is acceptable for it.
  const snapIndex = snapshot?.meta.index ?? 0;
  const snapTerm = snapshot?.meta.term ?? 0;
  const live = snapshot?.live ?? [];
  const liveSet = new Set(live);
  const entries: Entry[] = [];
  const liveFound = new Set<number>();
  let prevTerm = snapTerm;

  for (const { key, entry } of stored) {
    // Below the snapshot only live entries survive compaction (it deletes the rest atomically).
    if (entry.index <= snapIndex) {
      if (!liveSet.has(entry.index)) {
        throw corrupt(group, key, `entry ${entry.index} is below snapshot ${snapIndex} and not live`);
      }
      liveFound.add(entry.index);
      continue;
    }
    // Raft's Log Matching property needs the log to be one contiguous run after the snapshot.
    const expected = snapIndex + entries.length + 1;
    if (entry.index !== expected) {
      throw corrupt(group, key, `the log has a hole: expected entry ${expected}, found ${entry.index}`);
    }
    // Terms never decrease along a Raft log (a leader only appends entries of its own term).
    if (entry.term < prevTerm) {
      throw corrupt(
        group,
        key,
        `entry ${entry.index} has term ${entry.term} below the previous term ${prevTerm}`,
      );
    }
    prevTerm = entry.term;
    entries.push(entry);
  }

  for (const i of live) {
    if (!liveFound.has(i))
      throw corrupt(group, snapshotKeyName, `live entry ${i} named by the snapshot is missing`);
  }
  // etcd's loadState check: a commit index beyond the log means entries the node acknowledged
  // as committed are gone.
  const lastIndex = snapIndex + entries.length;
  if (hardState && hardState.commit > lastIndex) {
    throw corrupt(
      group,
      hardStateKey(group),
      `commit ${hardState.commit} is beyond the last stored index ${lastIndex}`,
    );
  }

  const log = newGroupLog(group, true);
  log.snapIndex = snapIndex;
  log.snapTerm = snapTerm;
  log.lastIndex = lastIndex;
  log.live = [...live];
  return { loaded: { hardState, snapshot, entries }, log };
}
