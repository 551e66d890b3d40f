/**
 * The key layout of the node's LevelDB. Every key is a UTF-8 string, readable in a dump:
 *
 * ```
 * w:format                      storage format version (msgpack number)
 * m:<group>                     the group exists (lets `groups()` list groups without a full scan)
 * g:<group>:e:<index, 16 hex>   one log entry (or a live entry at or below the snapshot index)
 * g:<group>:h                   the group's HardState
 * g:<group>:s                   the group's latest snapshot (meta + live list + data)
 * ```
 *
 * `<group>` is the group id through `encodeURIComponent`, which escapes `:` and `;`. So the range
 * `["g:<group>:", "g:<group>;")` holds exactly one group's keys: another group's encoded id differs
 * from this one at some character before the `:` and falls outside the range.
 *
 * The index is 16 lower-case hex digits (a fixed-width 64-bit big-endian number), so LevelDB's
 * byte order is index order and a group's entries come out of an iterator sorted, with `e:` keys
 * before `h` and `s`.
 */
import type { GroupId } from "../core/types.js";

/** Version of this layout and of the value encodings in `codec.ts`. Bumped on any incompatible change. */
export const FORMAT_VERSION = 1;

export const FORMAT_KEY = "w:format";

/** Prefix of the per-group existence markers. */
export const MARKER_PREFIX = "m:";

const INDEX_DIGITS = 16;

/** Escapes a group id so it contains neither `:` nor `;` (see the range argument above). */
export function encodeGroup(group: GroupId): string {
  return encodeURIComponent(group);
}

export function markerKey(group: GroupId): string {
  return MARKER_PREFIX + encodeGroup(group);
}

/** Inclusive lower bound of every key of `group`. */
export function groupLowerBound(group: GroupId): string {
  return `g:${encodeGroup(group)}:`;
}

/** Exclusive upper bound of every key of `group` (`;` is the character after `:`). */
export function groupUpperBound(group: GroupId): string {
  return `g:${encodeGroup(group)};`;
}

export function entryKey(group: GroupId, index: number): string {
  return `g:${encodeGroup(group)}:e:${index.toString(16).padStart(INDEX_DIGITS, "0")}`;
}

/** Same as {@link entryKey} with the group already encoded (hot path of `stage`). */
export function entryKeyEncoded(encodedGroup: string, index: number): string {
  return `g:${encodedGroup}:e:${index.toString(16).padStart(INDEX_DIGITS, "0")}`;
}

export function hardStateKey(group: GroupId): string {
  return `g:${encodeGroup(group)}:h`;
}

export function snapshotKey(group: GroupId): string {
  return `g:${encodeGroup(group)}:s`;
}

/** What a key of one group's range names, as parsed by {@link parseGroupKey}. */
export type GroupRecordKey =
  | { readonly kind: "entry"; readonly index: number }
  | { readonly kind: "hardState" }
  | { readonly kind: "snapshot" };

const HEX_INDEX = /^[0-9a-f]{16}$/;

/**
 * Parses the part of a key after `g:<group>:`. Returns undefined for anything this layout does
 * not produce (the caller reports it as corruption rather than skipping it).
 */
export function parseGroupKey(group: GroupId, key: string): GroupRecordKey | undefined {
  const prefix = groupLowerBound(group);
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  if (rest === "h") return { kind: "hardState" };
  if (rest === "s") return { kind: "snapshot" };
  if (rest.startsWith("e:")) {
    const hex = rest.slice(2);
    if (!HEX_INDEX.test(hex)) return undefined;
    const index = Number.parseInt(hex, 16);
    // Indexes are 1-based and must stay exact as JS numbers.
    if (index < 1 || !Number.isSafeInteger(index)) return undefined;
    return { kind: "entry", index };
  }
  return undefined;
}

/** Decodes the group id of a marker key; throws URIError on a malformed escape. */
export function parseMarkerKey(key: string): GroupId {
  return decodeURIComponent(key.slice(MARKER_PREFIX.length));
}
