/**
 * Value encodings of the node's LevelDB (msgpackr), with strict decoders.
 *
 * Records are msgpack arrays rather than maps: smaller, faster, and a stray field cannot be
 * mistaken for a valid one. Every decoder checks the full shape and throws {@link RecordDecodeError}
 * with a reason; the loader turns that into a CorruptStorageError naming the group and key, because
 * a record we cannot read is never skipped (a skipped vote or entry silently breaks Raft's safety).
 *
 * ```
 * entry      [index, term, type, data]
 * hardState  [term, vote, commit]
 * snapshot   [index, term, voters, learners, live, data]
 * ```
 * `useRecords: false`: msgpackr's record extension keeps structure definitions in the Packr
 * instance, which would make a stored value depend on the process that wrote it.
 */
import { Packr } from "msgpackr";
import type { ConfState, Entry, EntryType, HardState, NodeId, Snapshot } from "../core/types.js";

/** One encoder/decoder for every storage value; stateless with `useRecords: false`. */
const packr = new Packr({ useRecords: false });

/** A stored value failed to decode or does not have the expected shape. */
export class RecordDecodeError extends Error {
  override name = "RecordDecodeError";
}

/**
 * Decodes one msgpack value. msgpackr also rejects trailing bytes ("end of buffer not reached"),
 * so a value that was cut short or had garbage appended fails here rather than half-decoding.
 */
function unpack(bytes: Uint8Array): unknown {
  try {
    return packr.unpack(bytes);
  } catch (err) {
    throw new RecordDecodeError(`undecodable msgpack (${(err as Error).message})`);
  }
}

/** A non-negative safe integer: indexes and terms beyond 2^53 cannot be represented exactly. */
function isIndex(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** msgpackr returns Buffers that view the value's bytes; hand out plain Uint8Arrays. */
function asBytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new RecordDecodeError(`${what} is not a byte string`);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

function asNodeIds(v: unknown, what: string): NodeId[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new RecordDecodeError(`${what} is not a list of node ids`);
  }
  return v as NodeId[];
}

/** Encodes a log entry; the index is stored too so recovery can check it against the key. */
export function encodeEntry(e: Entry): Buffer {
  return packr.pack([e.index, e.term, e.type, e.data]);
}

/** Decodes a stored entry; throws RecordDecodeError on anything but `[index>=1, term, 0|1, bytes]`. */
export function decodeEntry(bytes: Uint8Array): Entry {
  const v = unpack(bytes);
  if (!Array.isArray(v) || v.length !== 4) throw new RecordDecodeError("entry is not a 4-element array");
  const [index, term, type, data] = v as unknown[];
  if (!isIndex(index) || index < 1) throw new RecordDecodeError("entry index is not a positive integer");
  if (!isIndex(term)) throw new RecordDecodeError("entry term is not a non-negative integer");
  if (type !== 0 && type !== 1) throw new RecordDecodeError(`entry type ${String(type)} is unknown`);
  return { index, term, type: type as EntryType, data: asBytes(data, "entry data") };
}

/** Encodes a HardState as `[term, vote, commit]`. */
export function encodeHardState(hs: HardState): Buffer {
  return packr.pack([hs.term, hs.vote, hs.commit]);
}

/** Decodes a stored HardState; throws RecordDecodeError on a wrong shape. */
export function decodeHardState(bytes: Uint8Array): HardState {
  const v = unpack(bytes);
  if (!Array.isArray(v) || v.length !== 3) throw new RecordDecodeError("hard state is not a 3-element array");
  const [term, vote, commit] = v as unknown[];
  if (!isIndex(term)) throw new RecordDecodeError("hard state term is not a non-negative integer");
  if (typeof vote !== "string") throw new RecordDecodeError("hard state vote is not a node id");
  if (!isIndex(commit)) throw new RecordDecodeError("hard state commit is not a non-negative integer");
  return { term, vote, commit };
}

/** Encodes a Snapshot (meta, live list and data in one record, so they are replaced together). */
export function encodeSnapshot(s: Snapshot): Buffer {
  const m = s.meta;
  return packr.pack([m.index, m.term, m.conf.voters, m.conf.learners, s.live, s.data]);
}

/** Decodes a stored Snapshot, including the live-list invariant of the Snapshot contract. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const v = unpack(bytes);
  if (!Array.isArray(v) || v.length !== 6) throw new RecordDecodeError("snapshot is not a 6-element array");
  const [index, term, voters, learners, live, data] = v as unknown[];
  if (!isIndex(index)) throw new RecordDecodeError("snapshot index is not a non-negative integer");
  if (!isIndex(term)) throw new RecordDecodeError("snapshot term is not a non-negative integer");
  const conf: ConfState = {
    voters: asNodeIds(voters, "snapshot voters"),
    learners: asNodeIds(learners, "snapshot learners"),
  };
  if (!Array.isArray(live) || !live.every(isIndex)) {
    throw new RecordDecodeError("snapshot live list is not a list of indexes");
  }
  checkLiveList(live as number[], index);
  return { meta: { index, term, conf }, live: live as number[], data: asBytes(data, "snapshot data") };
}

/** Live indexes are strictly ascending, each in [1, snapshotIndex] (the Snapshot contract). */
export function checkLiveList(live: readonly number[], snapshotIndex: number): void {
  let prev = 0;
  for (const i of live) {
    if (i <= prev || i > snapshotIndex) {
      throw new RecordDecodeError(
        `live list is not strictly ascending within [1, ${snapshotIndex}] (found ${i} after ${prev})`,
      );
    }
    prev = i;
  }
}

/** Encodes the database's format version (the `w:format` key). */
export function encodeFormat(version: number): Buffer {
  return packr.pack(version);
}

/** Decodes the format version; throws RecordDecodeError if it is not an integer. */
export function decodeFormat(bytes: Uint8Array): number {
  const v = unpack(bytes);
  if (!isIndex(v)) throw new RecordDecodeError("format version is not an integer");
  return v;
}
