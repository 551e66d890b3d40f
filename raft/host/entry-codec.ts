/**
 * The host's encoding of a command in an entry's `data`: msgpackr `[leaderTimeMs, command]`.
 *
 * The leader's host stamps the time once, at proposal; every replica applies the entry with
 * the same `meta.time`, so state machines stay deterministic without reading a clock.
 * Empty data is the leader's no-op (Raft §8: a new leader commits an entry of its own term)
 * and never reaches a state machine.
 */
import { Packr } from "msgpackr";
import { CorruptStorageError } from "../errors.js";

/** Plain msgpack (no record extension) so any msgpack reader can decode a stored entry. */
const packr = new Packr({ useRecords: false });

/** Encodes a command proposed at `timeMs` (the leader's wall clock). */
export function encodeCommand(timeMs: number, command: unknown): Uint8Array {
  return packr.pack([timeMs, command]);
}

/**
 * `encodeCommand(timeMs, command)` for a command that is already msgpack-encoded (`packed` =
 * exactly one msgpack value): `[timeMs, <packed>]` is assembled around the bytes instead of
 * encoding the command again. The time is always a float64 (msgpackr writes Date.now() so
 * too, so for wall-clock times the bytes are identical); it decodes to the same number.
 */
export function encodePackedCommand(timeMs: number, packed: Uint8Array): Uint8Array {
  const out = new Uint8Array(PACKED_HEADER_BYTES + packed.length);
  out[0] = 0x92; // fixarray of 2
  out[1] = 0xcb; // float64
  new DataView(out.buffer).setFloat64(2, timeMs);
  out.set(packed, PACKED_HEADER_BYTES);
  return out;
}

/** fixarray marker, float64 marker, 8 bytes of time. */
const PACKED_HEADER_BYTES = 10;

/** A decoded Normal entry. */
export interface DecodedCommand {
  readonly time: number;
  readonly command: unknown;
}

/** Decodes a Normal entry's data; throws CorruptStorageError if it is not `[number, any]`. */
export function decodeCommand(data: Uint8Array, where: string): DecodedCommand {
  let value: unknown;
  try {
    value = packr.unpack(data);
  } catch (err) {
    throw new CorruptStorageError(`entry ${where} does not decode: ${(err as Error).message}`);
  }
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== "number") {
    throw new CorruptStorageError(`entry ${where} is not a [time, command] pair`);
  }
  return { time: value[0], command: value[1] };
}
