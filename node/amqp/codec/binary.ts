/**
 * Bounds-checked reading and growable writing of AMQP's primitive types (big-endian integers,
 * short and long strings). Every read checks its length first, so malformed input becomes an
 * `AmqpFrameError` with the reader's reply code, never a RangeError from Buffer.
 */
import { AmqpEncodeError, AmqpFrameError, type FrameErrorCode } from "./errors.js";

/**
 * Short strings up to this length are encoded in JavaScript when they are ASCII (queue names,
 * routing keys, consumer tags): three times cheaper than Buffer.byteLength + Buffer.write, which
 * call into native code. (Decoding the same way gains nothing over toString.)
 */
const ASCII_FAST_PATH = 48;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/** int64 as a number when exact, as a bigint otherwise. */
export function int64Value(v: bigint): number | bigint {
  return v <= MAX_SAFE && v >= MIN_SAFE ? Number(v) : v;
}

export class Reader {
  /** Read position; `end` is exclusive. */
  pos: number;
  end: number;

  constructor(
    readonly buf: Buffer,
    start: number,
    end: number,
    /** The reply code a truncated read reports (501 for method fields, 502 inside tables). */
    readonly code: FrameErrorCode,
  ) {
    this.pos = start;
    this.end = end;
  }

  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new AmqpFrameError(
        this.code,
        `truncated ${what}: ${n} octets needed, ${this.end - this.pos} left`,
      );
    }
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    this.need(1, "octet");
    return this.buf[this.pos++]!;
  }
  i8(): number {
    this.need(1, "octet");
    return this.buf.readInt8(this.pos++);
  }
  u16(): number {
    this.need(2, "short");
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i16(): number {
    this.need(2, "short");
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4, "long");
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4, "long");
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  /** Unsigned 64-bit as a number (delivery tags, body sizes: never near 2^53 in practice). */
  u64(): number {
    this.need(8, "longlong");
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }
  u64big(): bigint {
    this.need(8, "longlong");
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    this.need(8, "longlong");
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  f32(): number {
    this.need(4, "float");
    const v = this.buf.readFloatBE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8, "double");
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A view of the next n octets (no copy). */
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  shortstr(): string {
    const n = this.u8();
    this.need(n, "shortstr");
    const start = this.pos;
    this.pos += n;
    return this.buf.toString("utf8", start, start + n);
  }
  longstrBytes(): Buffer {
    return this.bytes(this.u32(), "longstr");
  }
  longstr(): string {
    const n = this.u32();
    this.need(n, "longstr");
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

/** A growable big-endian writer; `finish()` returns a view of what was written. */
export class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  i8(v: number): void {
    this.ensure(1);
    this.pos = this.buf.writeInt8(v, this.pos);
  }
  u16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeUInt16BE(v, this.pos);
  }
  i16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }
  u32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
  }
  i32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }
  u64(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0)
      throw new AmqpEncodeError(`${v} is not an unsigned 64-bit integer`);
    this.ensure(8);
    this.pos = this.buf.writeUInt32BE(Math.floor(v / 0x1_0000_0000), this.pos);
    this.pos = this.buf.writeUInt32BE(v % 0x1_0000_0000, this.pos);
  }
  u64big(v: bigint): void {
    this.ensure(8);
    this.pos = this.buf.writeBigUInt64BE(v, this.pos);
  }
  i64(v: bigint): void {
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(v, this.pos);
  }
  f32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeFloatBE(v, this.pos);
  }
  f64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }
  bytes(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }
  shortstr(s: string): void {
    if (s.length <= ASCII_FAST_PATH && this.asciiShortstr(s)) return;
    const n = Buffer.byteLength(s, "utf8");
    if (n > 255) throw new AmqpEncodeError(`short string of ${n} octets (max 255): ${s.slice(0, 40)}...`);
    this.ensure(1 + n);
    this.buf[this.pos++] = n;
    this.pos += this.buf.write(s, this.pos, "utf8");
  }
  /** Writes s if it is all ASCII (one octet per char) and says whether it did. */
  private asciiShortstr(s: string): boolean {
    const n = s.length;
    this.ensure(1 + n);
    const buf = this.buf;
    let p = this.pos + 1;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return false;
      buf[p++] = c;
    }
    buf[this.pos] = n;
    this.pos = p;
    return true;
  }

  longstr(s: string | Uint8Array): void {
    if (typeof s === "string") {
      const n = Buffer.byteLength(s, "utf8");
      this.ensure(4 + n);
      this.pos = this.buf.writeUInt32BE(n, this.pos);
      this.pos += this.buf.write(s, this.pos, "utf8");
    } else {
      this.u32(s.length);
      this.bytes(s);
    }
  }
  /** Reserves a 32-bit length slot; `patchLength` fills it with the octets written since. */
  reserveLength(): number {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }
  patchLength(at: number): void {
    this.buf.writeUInt32BE(this.pos - at - 4, at);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
