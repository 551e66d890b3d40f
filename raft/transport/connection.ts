/**
 * A framed, msgpack-decoding wrapper around one TCP socket, shared by both ends of a connection.
 * It turns every way a peer can misbehave on the wire (a bad or oversized length, bytes that are
 * not msgpack) into a single `onClose(reason)`; the owner decides what the frames mean.
 */
import type { Socket } from "node:net";
import { Packr, RESERVE_START_SPACE, Unpackr } from "msgpackr";
import { FRAME_HEADER_BYTES, FrameDecoder, FrameError } from "./frame.js";

/** Idle time before the first TCP keepalive probe. */
const KEEPALIVE_DELAY_MS = 5_000;

/** Encoder shared by all connections (stateless with `useRecords: false`). */
const packr = new Packr({ useRecords: false });

/**
 * msgpack-encodes a value into one length-prefixed frame without copying: msgpackr reserves the
 * header's 4 bytes in front of the body in its own output buffer, and the length goes there.
 * The frame's body is `frame.length - FRAME_HEADER_BYTES` bytes.
 */
export function packFrame(value: unknown): Buffer {
  const frame = packr.pack(value, RESERVE_START_SPACE | FRAME_HEADER_BYTES);
  frame.writeUInt32BE(frame.length - FRAME_HEADER_BYTES, 0);
  return frame;
}

export interface FramedConnectionEvents {
  /** One decoded frame. May call `close()`; later frames of the same chunk are then dropped. */
  onFrame(value: unknown): void;
  /** Called once. `reason` is set when we closed the connection on purpose (a protocol violation, a timeout). */
  onClose(reason: string | undefined, error: Error | undefined): void;
}

/** A socket with framing and decoding; the owner reads `onFrame`, writes with `sendValue`/`socket`. */
export class FramedConnection {
  private readonly decoder: FrameDecoder;
  /**
   * One decoder per connection: msgpackr decoders can carry state (record definitions), which
   * must never leak between peers. `copyBuffers` so a decoded byte string does not pin the
   * whole socket chunk it arrived in (entry data is kept in memory by the Raft log).
   * Per entry, not per frame: one kept entry of a rarely written group must not pin a frame
   * of other groups' entries (up to MiBs) until that group compacts.
   */
  private readonly unpackr = new Unpackr({ useRecords: false, copyBuffers: true });
  /** Why we closed it, if we did (reported once through `onClose`). */
  private closedReason: string | undefined;
  /** The socket emitted `close`. */
  private closed = false;
  /** The last socket error (ECONNREFUSED, ECONNRESET...), for the close log. */
  private error: Error | undefined;

  constructor(
    readonly socket: Socket,
    maxFrameBytes: number,
    private readonly events: FramedConnectionEvents,
  ) {
    this.decoder = new FrameDecoder(maxFrameBytes);
    // Batching is ours (one corked write per turn): Nagle would only add latency to it.
    socket.setNoDelay(true);
    // Lets the kernel notice a peer host that vanished while the connection sat idle.
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (err) => {
      this.error = err;
    });
    socket.on("close", () => {
      this.closed = true;
      this.events.onClose(this.closedReason, this.error);
    });
  }

  /** True once closing started (by us or the socket): no more frames are delivered or written. */
  get isClosed(): boolean {
    return this.closed || this.closedReason !== undefined;
  }

  /** Raises the frame size limit (after authentication). */
  setMaxFrameBytes(n: number): void {
    this.decoder.maxFrameBytes = n;
  }

  /** Writes one value as a frame (handshake messages). */
  sendValue(value: unknown): void {
    if (!this.isClosed) this.socket.write(packFrame(value));
  }

  /** Closes the connection at once; `reason` reaches `onClose`. Idempotent. */
  close(reason: string): void {
    if (this.isClosed) return;
    this.closedReason = reason;
    this.socket.destroy();
  }

  /**
   * Closes gracefully: what was written still goes out, then FIN. A peer that does not finish
   * reading within `graceMs` is cut off, so shutdown never hangs on a stuck peer. Resolves once
   * the socket is closed.
   */
  end(reason: string, graceMs: number): Promise<void> {
    const socket = this.socket;
    const closed = new Promise<void>((resolve) => {
      if (this.closed) resolve();
      else socket.once("close", () => resolve());
    });
    if (this.isClosed) return closed;
    this.closedReason = reason;
    const timer = setTimeout(() => socket.destroy(), graceMs);
    socket.once("close", () => clearTimeout(timer));
    socket.end();
    return closed;
  }

  /** Splits, decodes and hands over the frames of one chunk; the first bad one closes the socket. */
  private receive(chunk: Buffer): void {
    if (this.isClosed) return;
    let frames: Buffer[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      this.close(`bad frame: ${err.message}`);
      return;
    }
    for (const frame of frames) {
      let value: unknown;
      try {
        value = this.unpackr.unpack(frame);
      } catch (err) {
        this.close(`undecodable frame: ${(err as Error).message}`);
        return;
      }
      this.events.onFrame(value);
      if (this.isClosed) return;
    }
  }
}
