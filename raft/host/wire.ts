/**
 * Wire form of a Raft message inside a "raft" payload: a positional tuple instead of a
 * string-keyed map. msgpack writes a map's keys in every message (and msgpackr decodes them
 * back into property names); the tuple drops them, so a message is smaller and cheaper to
 * encode and decode (bench/raft/wire-micro.ts).
 *
 * v2, what this build sends:
 *
 *   [WIRE_V2, type, term, logTerm, index, commit, entries, reject, rejectHint, logTermHint,
 *    context, quiesce]
 *
 * An absent optional field is nil, and trailing nils are left off. The first element is the
 * format version: a receiver drops (and logs) a payload whose version it does not know,
 * exactly like a malformed one. `to` and `from` are not sent: a payload travels on the one
 * authenticated connection from its sender to its receiver, so the receiver knows both (and a
 * peer cannot claim to be another node). `entries` is either
 *  - one flat array `[term, index, type, data, term, index, type, data, ...]`, or
 *  - for two entries or more, ONE byte string holding them back to back, each as `index`
 *    (float64 BE), `term` (float64 BE), `type` (u8), `length` (u32 BE), then `length` bytes of
 *    data (see {@link encodeEntries}). A leader sends the same entries to every follower: as
 *    one byte string they are laid out once per loop stage (the outbox shares it between the
 *    followers' MsgApps) instead of being msgpack-encoded again per follower, and the receiver
 *    gets them with one copy out of the socket's buffer per message (msgpack's copy of the
 *    byte string) instead of one allocation per entry; each entry's data is a view into that
 *    copy. The copy holds one group's entries of one message, so a kept entry never pins other
 *    groups' data. For a single entry the flat array is cheaper.
 *
 * Compatibility: this build also accepts the two previous forms, v1 (the same tuple with
 * `to, from` after `type`, entries always flat) and the map form (each message a msgpack map
 * with the {@link Message} field names), so nodes of this build can join a cluster of an
 * earlier one; earlier builds drop v2 as malformed. A cluster therefore runs one build; a
 * rolling upgrade only works from an earlier build to this one once every node runs it.
 *
 * MsgSnap never travels here (snapshot-transfer.ts chunks it on its own channel).
 */
import type { Entry, EntryType, Message, MessageType } from "../core/types.js";

/** Version tag of the first tuple form (with `to` and `from`, entries flat). */
export const WIRE_V1 = 1;
/** Version tag of the tuple form this build sends (see the module comment). */
export const WIRE_V2 = 2;

/** Bytes before each entry's data in an entries byte string: index, term, type, length. */
const ENTRY_HEADER_BYTES = 21;

/** One encoded message (see the module comment). */
export type WireMessage = unknown[];

/** The ends of the connection a message arrived on: what a v2 message leaves out. */
export interface Link {
  /** The authenticated peer that sent it. */
  readonly from: string;
  /** This node. */
  readonly to: string;
}

/**
 * Encodes `m` (v2). `m.snapshot` must be absent (MsgSnap goes through snapshot-transfer).
 * `entryBytes`, when given, must be `encodeEntries(m.entries)` (the outbox encodes the entries a
 * leader sends several followers once); without it the entries go as a flat array.
 */
export function encodeMessage(m: Message, entryBytes?: Uint8Array): WireMessage {
  if (m.snapshot !== undefined) throw new Error("raft wire: a MsgSnap cannot travel on the raft channel");
  let entries: unknown[] | Uint8Array | undefined = entryBytes;
  if (entries === undefined && m.entries !== undefined) {
    const flat = new Array<unknown>(m.entries.length * 4);
    let i = 0;
    for (const e of m.entries) {
      flat[i++] = e.term;
      flat[i++] = e.index;
      flat[i++] = e.type;
      flat[i++] = e.data;
    }
    entries = flat;
  }
  const t: unknown[] = [
    WIRE_V2,
    m.type,
    m.term,
    m.logTerm ?? null,
    m.index ?? null,
    m.commit ?? null,
    entries ?? null,
    m.reject ?? null,
    m.rejectHint ?? null,
    m.logTermHint ?? null,
    m.context ?? null,
    m.quiesce ?? null,
  ];
  let n = t.length;
  while (t[n - 1] === null) n--;
  t.length = n;
  return t;
}

const isNum = (v: unknown): v is number => typeof v === "number";
const isIdx = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Decodes one tuple that arrived on `link`, or returns undefined when it is not a well-formed
 * message of a known version (wrong types, a malformed entries string). Peers are
 * authenticated, but a bad message must never reach a core. A v1 tuple names its own `to` and
 * `from` (the host checks `from` against the link).
 */
export function decodeMessage(t: unknown, link: Link): Message | undefined {
  if (!Array.isArray(t)) return undefined;
  let to: unknown = link.to;
  let from: unknown = link.from;
  let at: number;
  if (t[0] === WIRE_V2) {
    if (t.length < 3) return undefined;
    at = 2;
  } else if (t[0] === WIRE_V1) {
    if (t.length < 5) return undefined;
    to = t[2];
    from = t[3];
    at = 4;
  } else {
    return undefined;
  }
  const type: unknown = t[1];
  const term: unknown = t[at];
  if (!isNum(type) || typeof to !== "string" || typeof from !== "string" || !isIdx(term)) return undefined;
  const m: { -readonly [K in keyof Message]: Message[K] } = { type: type as MessageType, to, from, term };
  const logTerm: unknown = t[at + 1];
  if (logTerm != null) {
    if (!isIdx(logTerm)) return undefined;
    m.logTerm = logTerm;
  }
  const index: unknown = t[at + 2];
  if (index != null) {
    if (!isIdx(index)) return undefined;
    m.index = index;
  }
  const commit: unknown = t[at + 3];
  if (commit != null) {
    if (!isIdx(commit)) return undefined;
    m.commit = commit;
  }
  const entries: unknown = t[at + 4];
  if (entries != null) {
    const list =
      entries instanceof Uint8Array && t[0] === WIRE_V2 ? decodeEntryBytes(entries) : decodeEntries(entries);
    if (list === undefined) return undefined;
    m.entries = list;
  }
  const reject: unknown = t[at + 5];
  if (reject != null) {
    if (typeof reject !== "boolean") return undefined;
    m.reject = reject;
  }
  const rejectHint: unknown = t[at + 6];
  if (rejectHint != null) {
    if (!isIdx(rejectHint)) return undefined;
    m.rejectHint = rejectHint;
  }
  const logTermHint: unknown = t[at + 7];
  if (logTermHint != null) {
    if (!isIdx(logTermHint)) return undefined;
    m.logTermHint = logTermHint;
  }
  const context: unknown = t[at + 8];
  if (context != null) {
    if (!(context instanceof Uint8Array)) return undefined;
    m.context = context;
  }
  const quiesce: unknown = t[at + 9];
  if (quiesce != null) {
    if (typeof quiesce !== "boolean") return undefined;
    m.quiesce = quiesce;
  }
  return m;
}

function decodeEntries(flat: unknown): Entry[] | undefined {
  if (!Array.isArray(flat) || flat.length % 4 !== 0) return undefined;
  const out = new Array<Entry>(flat.length / 4);
  for (let i = 0, j = 0; i < flat.length; i += 4, j++) {
    const term: unknown = flat[i];
    const index: unknown = flat[i + 1];
    const type: unknown = flat[i + 2];
    const data: unknown = flat[i + 3];
    if (!isIdx(term) || !isIdx(index) || !isNum(type) || !(data instanceof Uint8Array)) return undefined;
    out[j] = { term, index, type: type as EntryType, data };
  }
  return out;
}

/**
 * Hands out byte ranges of large chunks, so the entries strings of one outbox stage share a
 * few allocations instead of one each. A chunk is never reused: the strings stay valid for as
 * long as anything holds them (the transport encodes a payload when it is sent, but nothing
 * here depends on that).
 */
export class ByteArena {
  private chunk = new Uint8Array(0);
  private view = new DataView(this.chunk.buffer);
  private used = 0;

  constructor(private readonly chunkBytes = 64 << 10) {}

  /** Reserves `n` bytes; returns where they start in `bytes` / `dataView`, valid until the next call. */
  take(n: number): { bytes: Uint8Array; dataView: DataView; at: number } {
    if (this.used + n > this.chunk.length) {
      this.chunk = new Uint8Array(Math.max(this.chunkBytes, n));
      this.view = new DataView(this.chunk.buffer);
      this.used = 0;
    }
    const at = this.used;
    this.used += n;
    return { bytes: this.chunk, dataView: this.view, at };
  }
}

/** Entries as one byte string (layout in the module comment), in `arena` if given. */
export function encodeEntries(entries: readonly Entry[], arena?: ByteArena): Uint8Array {
  let size = 0;
  for (const e of entries) size += ENTRY_HEADER_BYTES + e.data.byteLength;
  const { bytes, dataView, at: start } = (arena ?? new ByteArena(0)).take(size);
  let at = start;
  for (const e of entries) {
    const n = e.data.byteLength;
    dataView.setFloat64(at, e.index);
    dataView.setFloat64(at + 8, e.term);
    bytes[at + 16] = e.type;
    dataView.setUint32(at + 17, n);
    bytes.set(e.data, at + ENTRY_HEADER_BYTES);
    at += ENTRY_HEADER_BYTES + n;
  }
  return bytes.subarray(start, at);
}

/**
 * Decodes an entries byte string, or undefined when it is malformed (a header or data running
 * past the end, an index or term that is not a non-negative safe integer). Each entry's data
 * is a view into `bytes`: the receiver's transport hands every byte string over as its own
 * copy, so the views pin only this message's entries.
 */
function decodeEntryBytes(bytes: Uint8Array): Entry[] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = bytes.byteLength;
  const out: Entry[] = [];
  let at = 0;
  while (at < end) {
    if (at + ENTRY_HEADER_BYTES > end) return undefined;
    const index = view.getFloat64(at);
    const term = view.getFloat64(at + 8);
    const type = bytes[at + 16]!;
    const n = view.getUint32(at + 17);
    const start = at + ENTRY_HEADER_BYTES;
    if (!isIdx(index) || !isIdx(term) || start + n > end) return undefined;
    out.push({ term, index, type: type as EntryType, data: bytes.subarray(start, start + n) });
    at = start + n;
  }
  return out;
}
