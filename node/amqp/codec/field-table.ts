/**
 * Field tables and arrays (AMQP 0-9-1 §4.2.5.5 with RabbitMQ's type tags, see field-value.ts for
 * the JavaScript representation). Decoding is bounded: every length is checked against its
 * enclosing table, and nesting deeper than MAX_DEPTH is refused so a hostile frame cannot blow
 * the stack.
 */
import { int64Value, Reader, Writer } from "./binary.js";
import { AmqpEncodeError, AmqpFrameError, FrameErrorCode } from "./errors.js";
import {
  FIELD_TYPE_TAGS,
  type FieldTable,
  type FieldValue,
  isTypedFieldValue,
  type TypedFieldValue,
} from "./field-value.js";

/** RabbitMQ has no limit, but no real header nests this deep; a frame that does is an attack. */
export const MAX_DEPTH = 64;

/** The latest second a Date can represent (8.64e15 ms). */
const MAX_DATE_SECONDS = 8_640_000_000_000n;

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

// --------------------------------------------------------------------------------------------
// Decoding
// --------------------------------------------------------------------------------------------

/**
 * Reads a table (32-bit length, then entries) at the reader's position. A length running past the
 * reader's end is the reader's error (501 inside method arguments); anything malformed inside the
 * table is 502 SYNTAX_ERROR.
 */
export function readTable(r: Reader): FieldTable {
  const len = r.u32();
  r.need(len, "field table");
  const start = r.pos;
  r.pos += len;
  return decodeTableBody(r.buf, start, start + len, 0);
}

/** Decodes the entries of a table occupying buf[start, end). */
export function decodeTableBody(buf: Buffer, start: number, end: number, depth: number): FieldTable {
  if (depth > MAX_DEPTH) throw new AmqpFrameError(FrameErrorCode.SYNTAX_ERROR, "field table nested too deep");
  const r = new Reader(buf, start, end, FrameErrorCode.SYNTAX_ERROR);
  const table: FieldTable = {};
  while (r.pos < r.end) {
    const key = r.shortstr();
    // A key like "__proto__" must become an own property, not change the object's prototype.
    Object.defineProperty(table, key, {
      value: readValue(r, depth),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return table;
}

function decodeArrayBody(buf: Buffer, start: number, end: number, depth: number): FieldValue[] {
  if (depth > MAX_DEPTH) throw new AmqpFrameError(FrameErrorCode.SYNTAX_ERROR, "field array nested too deep");
  const r = new Reader(buf, start, end, FrameErrorCode.SYNTAX_ERROR);
  const out: FieldValue[] = [];
  while (r.pos < r.end) out.push(readValue(r, depth));
  return out;
}

function readValue(r: Reader, depth: number): FieldValue {
  const tag = r.u8();
  switch (tag) {
    case 0x53 /* S */:
      return r.longstr();
    case 0x49 /* I */:
      return r.i32();
    case 0x74 /* t */:
      return r.u8() !== 0;
    case 0x46 /* F */:
      {
        const len = r.u32();
        r.need(len, "nested table");
        const start = r.pos;
        r.pos += len;
        return decodeTableBody(r.buf, start, start + len, depth + 1);
      }
    case 0x41 /* A */:
      {
        const len = r.u32();
        r.need(len, "array");
        const start = r.pos;
        r.pos += len;
        return decodeArrayBody(r.buf, start, start + len, depth + 1);
      }
    case 0x6c /* l */:
    case 0x4c /* L: RabbitMQ reads it as signed 64 too */:
      return int64Value(r.i64());
    case 0x54 /* T */:
      {
        // A Date holds ±8.64e12 s; a later stamp (a peer's garbage) stays exact as a typed value.
        const secs = r.u64big();
        return secs <= MAX_DATE_SECONDS ? new Date(Number(secs) * 1000) : { "!": "timestamp", value: secs };
      }
    case 0x62 /* b */:
      return r.i8();
    case 0x42 /* B */:
      return r.u8();
    case 0x73 /* s */:
      return r.i16();
    case 0x75 /* u */:
      return r.u16();
    case 0x69 /* i */:
      return r.u32();
    case 0x66 /* f */:
      return r.f32();
    case 0x64 /* d */:
      return r.f64();
    case 0x44 /* D */:
      {
        const scale = r.u8();
        const value = r.u32();
        return { "!": "decimal", value: { scale, value } };
      }
    case 0x78 /* x */:
      return r.longstrBytes();
    case 0x56 /* V */:
      return null;
    default:
      throw new AmqpFrameError(
        FrameErrorCode.SYNTAX_ERROR,
        `unknown field table type tag 0x${tag.toString(16).padStart(2, "0")}`,
      );
  }
}

// --------------------------------------------------------------------------------------------
// Encoding
// --------------------------------------------------------------------------------------------

/** Writes a table with its 32-bit length prefix. */
export function writeTable(w: Writer, table: FieldTable, depth = 0): void {
  if (depth > MAX_DEPTH) throw new AmqpEncodeError("field table nested too deep");
  const at = w.reserveLength();
  for (const key of Object.keys(table)) {
    w.shortstr(key);
    writeValue(w, table[key], depth);
  }
  w.patchLength(at);
}

/** Encodes a table to a fresh buffer (length prefix included). */
export function encodeTable(table: FieldTable): Buffer {
  const w = new Writer(128);
  writeTable(w, table);
  return w.finish();
}

function writeArray(w: Writer, items: readonly FieldValue[], depth: number): void {
  if (depth > MAX_DEPTH) throw new AmqpEncodeError("field array nested too deep");
  const at = w.reserveLength();
  for (const item of items) writeValue(w, item, depth);
  w.patchLength(at);
}

function writeValue(w: Writer, v: FieldValue, depth: number): void {
  switch (typeof v) {
    case "string":
      w.u8(0x53);
      w.longstr(v);
      return;
    case "boolean":
      w.u8(0x74);
      w.u8(v ? 1 : 0);
      return;
    case "number":
      // -0 is not an integer to AMQP: only a double keeps its sign.
      if (Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX && !Object.is(v, -0)) {
        w.u8(0x49);
        w.i32(v);
      } else if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
        w.u8(0x6c);
        w.i64(BigInt(v));
      } else {
        w.u8(0x64);
        w.f64(v);
      }
      return;
    case "bigint":
      w.u8(0x6c);
      w.i64(checkBigInt64(v));
      return;
    case "undefined":
      w.u8(0x56);
      return;
    case "object":
      if (v === null) w.u8(0x56);
      else if (v instanceof Date) writeTimestamp(w, v);
      else if (v instanceof Uint8Array) {
        w.u8(0x78);
        w.longstr(v);
      } else if (Array.isArray(v)) {
        w.u8(0x41);
        writeArray(w, v, depth + 1);
      } else if (isTypedFieldValue(v)) writeTyped(w, v, depth);
      else {
        w.u8(0x46);
        writeTable(w, v as FieldTable, depth + 1);
      }
      return;
    default:
      throw new AmqpEncodeError(`cannot encode a ${typeof v} in a field table`);
  }
}

function writeTimestamp(w: Writer, d: Date): void {
  const ms = d.getTime();
  if (!Number.isFinite(ms) || ms < 0) throw new AmqpEncodeError(`timestamp out of range: ${String(d)}`);
  w.u8(0x54);
  w.u64(Math.floor(ms / 1000));
}

function checkBigInt64(v: bigint): bigint {
  if (v < -(1n << 63n) || v >= 1n << 63n)
    throw new AmqpEncodeError(`${v} does not fit a signed 64-bit integer`);
  return v;
}

function intIn(v: unknown, min: number, max: number, type: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new AmqpEncodeError(`${String(v)} is not a valid ${type}`);
  }
  return v;
}

function writeTyped(w: Writer, t: TypedFieldValue, depth: number): void {
  const tag = FIELD_TYPE_TAGS[t["!"]];
  const v = t.value;
  switch (tag) {
    case "t":
      w.u8(0x74);
      w.u8(v ? 1 : 0);
      return;
    case "b":
      w.u8(0x62);
      w.i8(intIn(v, -128, 127, "byte"));
      return;
    case "B":
      w.u8(0x42);
      w.u8(intIn(v, 0, 255, "unsigned byte"));
      return;
    case "s":
      w.u8(0x73);
      w.i16(intIn(v, -0x8000, 0x7fff, "short"));
      return;
    case "u":
      w.u8(0x75);
      w.u16(intIn(v, 0, 0xffff, "unsigned short"));
      return;
    case "I":
      w.u8(0x49);
      w.i32(intIn(v, INT32_MIN, INT32_MAX, "int"));
      return;
    case "i":
      w.u8(0x69);
      w.u32(intIn(v, 0, 0xffff_ffff, "unsigned int"));
      return;
    case "l":
      w.u8(0x6c);
      if (typeof v === "bigint") w.i64(checkBigInt64(v));
      else w.i64(BigInt(intIn(v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, "long")));
      return;
    case "f":
      w.u8(0x66);
      w.f32(numberOf(v, "float"));
      return;
    case "d":
      w.u8(0x64);
      w.f64(numberOf(v, "double"));
      return;
    case "D": {
      const d = v as { scale?: unknown; value?: unknown; places?: unknown; digits?: unknown } | null;
      w.u8(0x44);
      w.u8(intIn(d?.scale ?? d?.places, 0, 255, "decimal scale"));
      w.u32(intIn(d?.value ?? d?.digits, 0, 0xffff_ffff, "decimal value"));
      return;
    }
    case "S":
      if (typeof v !== "string") throw new AmqpEncodeError(`${String(v)} is not a string`);
      w.u8(0x53);
      w.longstr(v);
      return;
    case "T":
      if (v instanceof Date) writeTimestamp(w, v);
      else if (typeof v === "bigint") {
        if (v < 0n || v >= 1n << 64n) throw new AmqpEncodeError(`timestamp out of range: ${v}`);
        w.u8(0x54);
        w.u64big(v);
      } else {
        w.u8(0x54);
        w.u64(intIn(v, 0, Number.MAX_SAFE_INTEGER, "timestamp (seconds)"));
      }
      return;
    case "x":
      if (!(v instanceof Uint8Array)) throw new AmqpEncodeError("a byte array needs a Uint8Array");
      w.u8(0x78);
      w.longstr(v);
      return;
    case "V":
      w.u8(0x56);
      return;
    case "A":
      if (!Array.isArray(v)) throw new AmqpEncodeError("an array needs an array value");
      w.u8(0x41);
      writeArray(w, v, depth + 1);
      return;
    case "F":
      if (typeof v !== "object" || v === null) throw new AmqpEncodeError("a table needs an object value");
      w.u8(0x46);
      writeTable(w, v as FieldTable, depth + 1);
      return;
  }
}

function numberOf(v: unknown, type: string): number {
  if (typeof v !== "number") throw new AmqpEncodeError(`${String(v)} is not a valid ${type}`);
  return v;
}
