/**
 * Wire form of a Raft message inside a "raft" payload: a positional tuple instead of a
 * string-keyed map. msgpack writes a map's keys in every message (and msgpackr decodes them
 * back into property names); the tuple drops them, so a message is smaller and cheaper to
 * encode and decode (bench/raft/wire-micro.ts).
 *
 *   [WIRE_V1, type, to, from, term, logTerm, index, commit, entries, reject, rejectHint,
 *    logTermHint, context, quiesce]
 *
 * An absent optional field is nil, and trailing nils are left off. `entries` is one flat array
 * `[term, index, type, data, term, index, type, data, ...]` (no map per entry either).
 * The first element is the format version: a later format gets a new number, and a receiver
 * drops (and logs) a payload whose version it does not know, exactly like a malformed one.
 *
 * Compatibility: this build also accepts the previous form (each message a msgpack map with
 * the {@link Message} field names), so nodes of this build can join a cluster of the previous
 * one; the previous build drops this form as malformed. A cluster therefore runs one build; a
 * rolling upgrade only works from the previous build to this one once every node runs it.
 *
 * MsgSnap never travels here (snapshot-transfer.ts chunks it on its own channel).
 */
import type { Entry, EntryType, Message, MessageType } from "../core/types.js";

/** Version tag of the tuple form. */
export const WIRE_V1 = 1;

/** One encoded message (see the module comment). */
export type WireMessage = unknown[];

/** Encodes `m` as a tuple. `m.snapshot` must be absent (MsgSnap goes through snapshot-transfer). */
export function encodeMessage(m: Message): WireMessage {
  if (m.snapshot !== undefined) throw new Error("raft wire: a MsgSnap cannot travel on the raft channel");
  let entries: unknown[] | undefined;
  if (m.entries !== undefined) {
    entries = new Array<unknown>(m.entries.length * 4);
    let i = 0;
    for (const e of m.entries) {
      entries[i++] = e.term;
      entries[i++] = e.index;
      entries[i++] = e.type;
      entries[i++] = e.data;
    }
  }
  const t: unknown[] = [
    WIRE_V1,
    m.type,
    m.to,
    m.from,
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
 * Decodes one tuple, or returns undefined when it is not a well-formed v1 message (wrong
 * version, wrong types). Peers are authenticated, but a bad message must never reach a core.
 */
export function decodeMessage(t: unknown): Message | undefined {
  if (!Array.isArray(t) || t.length < 5 || t[0] !== WIRE_V1) return undefined;
  const [
    ,
    type,
    to,
    from,
    term,
    logTerm,
    index,
    commit,
    entries,
    reject,
    rejectHint,
    logTermHint,
    context,
    quiesce,
  ] = t as unknown[];
  if (!isNum(type) || typeof to !== "string" || typeof from !== "string" || !isIdx(term)) return undefined;
  const m: { -readonly [K in keyof Message]: Message[K] } = { type: type as MessageType, to, from, term };
  if (logTerm != null) {
    if (!isIdx(logTerm)) return undefined;
    m.logTerm = logTerm;
  }
  if (index != null) {
    if (!isIdx(index)) return undefined;
    m.index = index;
  }
  if (commit != null) {
    if (!isIdx(commit)) return undefined;
    m.commit = commit;
  }
  if (entries != null) {
    const list = decodeEntries(entries);
    if (list === undefined) return undefined;
    m.entries = list;
  }
  if (reject != null) {
    if (typeof reject !== "boolean") return undefined;
    m.reject = reject;
  }
  if (rejectHint != null) {
    if (!isIdx(rejectHint)) return undefined;
    m.rejectHint = rejectHint;
  }
  if (logTermHint != null) {
    if (!isIdx(logTermHint)) return undefined;
    m.logTermHint = logTermHint;
  }
  if (context != null) {
    if (!(context instanceof Uint8Array)) return undefined;
    m.context = context;
  }
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
