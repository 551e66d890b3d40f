/**
 * Frame encoding (§4.2.3): type octet, channel short, payload size long, payload, 0xCE.
 * Method frames are built in one buffer; content goes out as a header frame and body frames
 * whose payloads are views of the caller's body, so publishing a 1 MiB message copies nothing.
 */
import { Writer } from "./binary.js";
import { AmqpEncodeError } from "./errors.js";
import { Constant, type Method } from "./generated/methods.js";
import { writeMethod } from "./method-codec.js";
import { type ContentProperties, writeProperties } from "./properties.js";

export const FrameType = {
  METHOD: Constant.FRAME_METHOD,
  HEADER: Constant.FRAME_HEADER,
  BODY: Constant.FRAME_BODY,
  HEARTBEAT: Constant.FRAME_HEARTBEAT,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_END = Constant.FRAME_END;
export const FRAME_MIN_SIZE = Constant.FRAME_MIN_SIZE;
/** Octets a frame adds around its payload: 7 of header, 1 of frame end. */
export const FRAME_OVERHEAD = 8;
/** What a 0-9-1 client sends first (§4.2.2). Shared: write it, never write into it. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

/** Shared and never written to: every body frame's last octet. */
const FRAME_END_BYTE: Buffer = Buffer.from([FRAME_END]);

/** Bodies up to this size are copied next to their header frame: one small write beats three. */
const COPY_BODY_BELOW = 4096;

function checkChannel(channel: number): void {
  if (!Number.isInteger(channel) || channel < 0 || channel > 0xffff) {
    throw new AmqpEncodeError(`channel ${channel} out of range`);
  }
}

function startFrame(w: Writer, type: number, channel: number): number {
  checkChannel(channel);
  w.u8(type);
  w.u16(channel);
  return w.reserveLength();
}

function endFrame(w: Writer, sizeAt: number): void {
  w.patchLength(sizeAt);
  w.u8(FRAME_END);
}

/** One method frame. */
export function encodeMethodFrame(channel: number, method: Method): Buffer {
  const w = new Writer(128);
  writeMethodFrame(w, channel, method);
  return w.finish();
}

/** Appends a method frame to `w` (a connection's output of one event-loop turn). */
export function writeMethodFrame(w: Writer, channel: number, method: Method): void {
  const at = startFrame(w, FrameType.METHOD, channel);
  writeMethod(w, method);
  endFrame(w, at);
}

/** A heartbeat frame. Shared: write it, never write into it (encodeHeartbeat gives a copy). */
export const HEARTBEAT_FRAME: Buffer = Buffer.from([FrameType.HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

/** A heartbeat frame (channel 0, empty payload). Returns a fresh copy each time. */
export function encodeHeartbeat(): Buffer {
  return Buffer.from(HEARTBEAT_FRAME);
}

/** Properties given either decoded or as the raw bytes of a received header (re-sent byte-exact). */
export type ContentPropertiesInput = ContentProperties | { readonly raw: Uint8Array };

function isRaw(p: ContentPropertiesInput): p is { readonly raw: Uint8Array } {
  return (p as { raw?: unknown }).raw instanceof Uint8Array;
}

/**
 * A content header frame followed by body frames of at most `frameMax - 8` payload octets each
 * (frameMax 0 = no limit). The result is the byte sequence to write, in order: small bodies come
 * as one buffer; larger ones as [header frame, then per body frame: its 7-octet header, a view of
 * `body`, the frame-end octet]. `body` must not change until the buffers are written.
 */
export function encodeContentFrames(
  channel: number,
  classId: number,
  properties: ContentPropertiesInput,
  body: Uint8Array,
  frameMax: number,
): Buffer[] {
  const small = body.length <= COPY_BODY_BELOW;
  const w = new Writer(small ? 64 + body.length : 128);
  const out: Buffer[] = [];
  writeContentFrames(w, channel, classId, properties, body, frameMax, COPY_BODY_BELOW, (views) => {
    out.push(w.finish(), ...views);
    w.pos = 0;
    w.buf = Buffer.allocUnsafe(64);
  });
  if (w.pos > 0) out.push(w.finish());
  return out;
}

/**
 * Appends a content header frame and the body frames to `w`. Bodies up to `copyBelow` octets are
 * copied into `w`; a larger one goes out as views of the caller's body: `w` is handed to
 * `spill` with the body frames' buffers (header, view, frame end, ...), which must take what
 * `w` holds so far, then those buffers, in that order, and leave `w` empty for what follows.
 */
export function writeContentFrames(
  w: Writer,
  channel: number,
  classId: number,
  properties: ContentPropertiesInput,
  body: Uint8Array,
  frameMax: number,
  copyBelow: number,
  spill: (views: Buffer[]) => void,
): void {
  if (frameMax !== 0 && frameMax < FRAME_MIN_SIZE)
    throw new AmqpEncodeError(`frameMax ${frameMax} < ${FRAME_MIN_SIZE}`);
  const maxPayload = frameMax === 0 ? Number.POSITIVE_INFINITY : frameMax - FRAME_OVERHEAD;
  const headerAt = w.pos;
  const at = startFrame(w, FrameType.HEADER, channel);
  w.u16(classId);
  w.u16(0); // weight: unused, must be zero
  w.u64(body.length);
  if (isRaw(properties)) w.bytes(properties.raw);
  else writeProperties(w, classId, properties);
  endFrame(w, at);
  if (frameMax !== 0 && w.pos - headerAt > frameMax)
    throw new AmqpEncodeError(`content header of ${w.pos - headerAt} octets exceeds frameMax`);
  if (body.length <= copyBelow && body.length <= maxPayload) {
    if (body.length > 0) {
      const b = startFrame(w, FrameType.BODY, channel);
      w.bytes(body);
      endFrame(w, b);
    }
    return;
  }
  const views: Buffer[] = [];
  const view = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length);
  for (let off = 0; off < body.length; off += maxPayload) {
    const end = Math.min(off + maxPayload, body.length);
    const head = Buffer.allocUnsafe(7);
    head[0] = FrameType.BODY;
    head.writeUInt16BE(channel, 1);
    head.writeUInt32BE(end - off, 3);
    views.push(head, view.subarray(off, end), FRAME_END_BYTE);
  }
  spill(views);
}
