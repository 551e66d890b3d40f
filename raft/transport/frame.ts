/**
 * Framing: every frame on a transport connection is a 4-byte big-endian length followed by that
 * many bytes of msgpack. The decoder checks the length before buffering the body, so a peer that
 * announces an oversized frame is rejected after 4 bytes instead of after it made us allocate.
 */

/** Bytes of the length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** The stream broke the framing rules; the connection must be closed. */
export class FrameError extends Error {
  override name = "FrameError";
}

/** Prefixes `body` with its length: one buffer, ready for `socket.write`. */
export function encodeFrame(body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Splits a byte stream into frame bodies. Chunks are kept as received and joined only when a
 * frame spans several of them.
 */
export class FrameDecoder {
  /** Received chunks not yet consumed; the first may be a tail of a larger chunk. */
  private chunks: Buffer[] = [];
  /** Total bytes in `chunks`. */
  private buffered = 0;
  /** Body length of the frame being read, or -1 while reading a header. */
  private need = -1;

  /** @param maxFrameBytes largest acceptable body; can be raised once the peer is authenticated. */
  constructor(public maxFrameBytes: number) {}

  /** Bytes received but not yet returned as frames. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Adds a chunk and returns the frame bodies it completes. Throws FrameError on a bad length. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const len = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (len === 0) throw new FrameError("empty frame");
        if (len > this.maxFrameBytes) {
          throw new FrameError(`frame of ${len} bytes exceeds the limit of ${this.maxFrameBytes}`);
        }
        this.need = len;
      }
      if (this.buffered < this.need) break;
      frames.push(this.take(this.need));
      this.need = -1;
    }
    return frames;
  }

  /** Removes and returns the next `n` buffered bytes (n <= buffered). */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }
}
