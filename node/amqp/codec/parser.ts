/**
 * A streaming frame parser: feed it socket chunks, iterate the frames it yields.
 *
 * Zero-copy and lifetimes: a frame that lies inside one chunk is decoded in place, and a body
 * frame's `payload` (and a header's `rawProperties`, a method's longstr arguments, `x` table
 * values) are views of that chunk. A frame spanning chunks is first gathered into one new buffer,
 * and the views point there. The parser never writes into a chunk it was given nor reuses a
 * buffer it allocated, so views stay valid for as long as the caller keeps them. (They do keep the
 * whole chunk alive: copy a small body out if it is to be held for long next to nothing else.)
 *
 * Errors: `push` throws `AmqpProtocolHeaderError` for a wrong protocol header and
 * `AmqpFrameError` for a frame it cannot accept, after yielding every good frame before it.
 * Errors that lose frame sync (bad frame-end octet, a frame over frame_max, a wrong protocol
 * header) leave the parser `desynchronized`: later input is dropped, the caller closes. After any
 * other error (an unknown method, a bad table, an unknown frame type) the offending frame has been
 * consumed and parsing may go on, so a closing connection can still read `connection.close-ok`.
 */
import { AmqpFrameError, AmqpProtocolHeaderError, FrameErrorCode } from "./errors.js";
import { FRAME_END, FRAME_MIN_SIZE, FRAME_OVERHEAD, FrameType, PROTOCOL_HEADER } from "./frame.js";
import type { Method } from "./generated/methods.js";
import { decodeMethod } from "./method-codec.js";
import { type ContentProperties, decodeProperties } from "./properties.js";

export interface ProtocolHeaderFrame {
  readonly type: "protocol-header";
}
export interface MethodFrame {
  readonly type: "method";
  readonly channel: number;
  readonly method: Method;
}
/**
 * A content header. `properties` is decoded on first access (and may throw AmqpFrameError 501/502
 * then), as RabbitMQ decodes lazily: a header in the wrong place is 505 whatever its bytes.
 */
export class ContentHeaderFrame {
  readonly type = "header" as const;
  private decoded: ContentProperties | undefined;

  constructor(
    readonly channel: number,
    readonly classId: number,
    /** Must be 0; the command assembler refuses anything else (505, as RabbitMQ). */
    readonly weight: number,
    readonly bodySize: number,
    /** The property flags and values exactly as received, for byte-exact re-sending. */
    readonly rawProperties: Buffer,
  ) {}

  get properties(): ContentProperties {
    if (this.decoded === undefined) {
      const raw = this.rawProperties;
      try {
        this.decoded = decodeProperties(this.classId, raw, 0, raw.length);
      } catch (e) {
        if (e instanceof AmqpFrameError) {
          throw new AmqpFrameError(e.replyCode, e.message, { channel: this.channel, classId: this.classId });
        }
        throw e;
      }
    }
    return this.decoded;
  }
}
export type HeaderFrame = ContentHeaderFrame;
export interface BodyFrame {
  readonly type: "body";
  readonly channel: number;
  /** A view of the received bytes, not a copy. */
  readonly payload: Buffer;
}
export interface HeartbeatFrame {
  readonly type: "heartbeat";
  readonly channel: number;
}
export type Frame = MethodFrame | HeaderFrame | BodyFrame | HeartbeatFrame;

export interface FrameParserOptions {
  /**
   * Largest frame accepted, overhead included; 0 = no limit. Defaults to FRAME_MIN_SIZE, what
   * RabbitMQ allows until tune-ok; the connection raises it with `frameMax` after tuning.
   */
  readonly frameMax?: number;
  /** Expect `AMQP\x00\x00\x09\x01` first (a server's side). Default true. */
  readonly expectProtocolHeader?: boolean;
}

/** The 0-9 header, which RabbitMQ also accepts and serves as 0-9-1. */
const PROTOCOL_HEADER_0_9 = Buffer.from([0x41, 0x4d, 0x51, 0x50, 1, 1, 0, 9]);

export class FrameParser {
  /** Largest accepted frame, overhead included (0 = unlimited). May change between pushes. */
  frameMax: number;
  private awaitingHeader: boolean;
  private desync = false;
  /** Unconsumed input: chunks[0] from `offset`, then the whole of the rest. */
  private readonly chunks: Buffer[] = [];
  private offset = 0;
  private buffered = 0;

  constructor(opts: FrameParserOptions = {}) {
    this.frameMax = opts.frameMax ?? FRAME_MIN_SIZE;
    this.awaitingHeader = opts.expectProtocolHeader ?? true;
  }

  /** True once the input lost frame sync; everything pushed since has been dropped. */
  get desynchronized(): boolean {
    return this.desync;
  }

  /** Octets received but not yet part of a complete frame. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Adds a chunk (at once, whether or not the result is iterated) and returns the frames now
   * complete, in order, decoded one by one as the caller iterates. Leaving the loop early leaves
   * the rest buffered: the next push yields them first.
   */
  push(chunk: Buffer): Generator<Frame | ProtocolHeaderFrame, void, undefined> {
    if (!this.desync && chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    return this.drain();
  }

  private *drain(): Generator<Frame | ProtocolHeaderFrame, void, undefined> {
    if (this.desync) return;
    if (this.awaitingHeader) {
      if (this.buffered < 8) {
        if (this.prefixMismatch()) this.failHeader();
        return;
      }
      const { buf, start } = this.take(8);
      const got = buf.subarray(start, start + 8);
      if (!got.equals(PROTOCOL_HEADER) && !got.equals(PROTOCOL_HEADER_0_9)) this.failHeader(got);
      this.awaitingHeader = false;
      yield { type: "protocol-header" };
    }
    while (this.buffered >= 7 && !this.desync) {
      const { type, channel, size } = this.peekHeader();
      // rabbit_reader allows frame_max - 8 + 8: clients are often off by the frame overhead.
      if (this.frameMax !== 0 && size > this.frameMax) {
        this.abandon();
        throw new AmqpFrameError(
          FrameErrorCode.FRAME_ERROR,
          `type ${type}, frame_too_large: ${size} > ${this.frameMax - FRAME_OVERHEAD}`,
          { channel },
        );
      }
      if (this.buffered < size + FRAME_OVERHEAD) return;
      const { buf, start } = this.take(size + FRAME_OVERHEAD);
      const end = buf[start + 7 + size]!;
      if (end !== FRAME_END) {
        this.abandon();
        throw new AmqpFrameError(
          FrameErrorCode.FRAME_ERROR,
          `type ${type}, invalid_frame_end_marker ${end}`,
          {
            channel,
          },
        );
      }
      yield decodeFrame(type, channel, buf, start + 7, start + 7 + size);
    }
  }

  /** Drops all input from now on (the caller is closing the socket). */
  abandon(): void {
    this.desync = true;
    this.chunks.length = 0;
    this.buffered = 0;
    this.offset = 0;
  }

  private prefixMismatch(): boolean {
    const have = this.chunks.length === 0 ? Buffer.alloc(0) : this.copyOut(Math.min(this.buffered, 8));
    return (
      !PROTOCOL_HEADER.subarray(0, have.length).equals(have) &&
      !PROTOCOL_HEADER_0_9.subarray(0, have.length).equals(have)
    );
  }

  private failHeader(got?: Buffer): never {
    const received = got ?? this.copyOut(Math.min(this.buffered, 8));
    this.abandon();
    throw new AmqpProtocolHeaderError(Buffer.from(received));
  }

  private peekHeader(): { type: number; channel: number; size: number } {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= 7) {
      const o = this.offset;
      return { type: first[o]!, channel: first.readUInt16BE(o + 1), size: first.readUInt32BE(o + 3) };
    }
    const head = this.copyOut(7);
    return { type: head[0]!, channel: head.readUInt16BE(1), size: head.readUInt32BE(3) };
  }

  /** Copies the first n buffered octets without consuming them (n is small). */
  private copyOut(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    let off = this.offset;
    for (const c of this.chunks) {
      if (filled === n) break;
      const k = Math.min(n - filled, c.length - off);
      c.copy(out, filled, off, off + k);
      filled += k;
      off = 0;
    }
    return out;
  }

  /** Consumes n octets: a view into the first chunk when it holds them all, else one new buffer. */
  private take(n: number): { buf: Buffer; start: number } {
    const first = this.chunks[0]!;
    const avail = first.length - this.offset;
    if (avail >= n) {
      const start = this.offset;
      this.offset += n;
      this.buffered -= n;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      return { buf: first, start };
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0]!;
      const k = Math.min(n - filled, c.length - this.offset);
      c.copy(out, filled, this.offset, this.offset + k);
      filled += k;
      this.offset += k;
      if (this.offset === c.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.buffered -= n;
    return { buf: out, start: 0 };
  }
}

/** Decodes one frame's payload at buf[start, end). Errors here keep frame sync. */
export function decodeFrame(type: number, channel: number, buf: Buffer, start: number, end: number): Frame {
  switch (type) {
    case FrameType.METHOD:
      return { type: "method", channel, method: decodeMethod(buf, start, end, channel) };
    case FrameType.HEADER: {
      if (end - start < 14) {
        throw new AmqpFrameError(FrameErrorCode.FRAME_ERROR, `content header of ${end - start} octets`, {
          channel,
        });
      }
      const classId = buf.readUInt16BE(start);
      const weight = buf.readUInt16BE(start + 2);
      const bodySize = buf.readUInt32BE(start + 4) * 0x1_0000_0000 + buf.readUInt32BE(start + 8);
      return new ContentHeaderFrame(channel, classId, weight, bodySize, buf.subarray(start + 12, end));
    }
    case FrameType.BODY:
      return { type: "body", channel, payload: buf.subarray(start, end) };
    case FrameType.HEARTBEAT:
      if (end !== start) {
        throw new AmqpFrameError(FrameErrorCode.FRAME_ERROR, `heartbeat frame with ${end - start} octets`, {
          channel,
        });
      }
      return { type: "heartbeat", channel };
    default:
      throw new AmqpFrameError(FrameErrorCode.FRAME_ERROR, `type ${type}, unknown_frame`, { channel });
  }
}
