/**
 * Writes frames to a client socket. The frames of one event-loop iteration are encoded into one
 * buffer and handed to the socket in one write once the iteration's I/O callbacks ran
 * (setImmediate, i.e. after every socket read, disk completion and promise reaction of that poll
 * phase): a burst of deliveries or confirms costs one syscall and one socket request, not one per
 * frame. (Flushing at process.nextTick, per callback, wrote once per Raft commit callback: the
 * commits that followers' acks, the leader's own fsync and forwarded answers resolve in one poll
 * phase each made their own small write of a few confirms.) Bodies above COPY_BODY_BELOW are not copied:
 * they go out as views after what was encoded before them, in the same corked write.
 *
 * `defer(fn)` runs `fn` just before the iteration's write (publisher confirms gather the outcomes of
 * the turn into one basic.ack with `multiple`). `backedUp` tells producers (deliveries) that the
 * kernel and Node buffers are full.
 */
import type { Socket } from "node:net";
import type { MessageProperties } from "../queue/types.js";
import { Writer } from "./codec/binary.js";
import { encodeHeartbeat, type Method, writeContentFrames, writeMethodFrame } from "./codec/index.js";

/** Above this many bytes queued in the socket we consider the client slow. */
export const SOCKET_HIGH_WATER = 1024 * 1024;
/** Bodies up to this size are copied into the turn's buffer; larger ones are written as views. */
const COPY_BODY_BELOW = 16 * 1024;
/**
 * Frames are encoded into chunks; a full chunk is set aside, never grown by copying. A turn's
 * first chunk is small (Node's pooled allocation: most turns carry a few frames), later ones large.
 */
const FIRST_CHUNK = 4 * 1024;
const CHUNK = 64 * 1024;
/** Room a method frame may need (larger ones still fit: the chunk grows for them). */
const METHOD_ROOM = 512;

export class FrameWriter {
  frameMax = 131_072;
  lastWrite = Date.now();
  private out = new Writer(FIRST_CHUNK);
  /** Full chunks and large bodies' frames of this turn, in order, before `out`. */
  private readonly pending: Buffer[] = [];
  private scheduled = false;
  private ended = false;
  private readonly deferred: (() => void)[] = [];
  private readonly drainWaiters: (() => void)[] = [];
  private readonly flushNow = () => this.flush();

  constructor(private readonly socket: Socket) {
    socket.on("drain", () => {
      for (const w of this.drainWaiters.splice(0)) w();
    });
  }

  get backedUp(): boolean {
    return this.socket.writableLength > SOCKET_HIGH_WATER;
  }

  /** Calls `cb` once the socket drained below its buffer (at once if it is not backed up). */
  onDrain(cb: () => void): void {
    if (!this.backedUp) cb();
    else this.drainWaiters.push(cb);
  }

  /** Runs `fn` before this turn's frames are written (it may add frames). */
  defer(fn: () => void): void {
    if (this.ended) return;
    this.deferred.push(fn);
    this.schedule();
  }

  method(channel: number, method: Method): void {
    if (!this.writable()) return;
    this.reserve(METHOD_ROOM);
    const at = this.out.pos;
    try {
      writeMethodFrame(this.out, channel, method);
    } catch (err) {
      // Nothing of a frame that did not encode may go out.
      this.out.pos = at;
      throw err;
    }
    this.schedule();
  }

  /** A method with content (deliver, get-ok, return): method, header and body frames. */
  content(channel: number, method: Method, properties: MessageProperties, body: Uint8Array): void {
    if (!this.writable()) return;
    this.reserve(METHOD_ROOM * 2 + (body.length <= COPY_BODY_BELOW ? body.length : 0));
    const at = this.out.pos;
    try {
      writeMethodFrame(this.out, channel, method);
      writeContentFrames(this.out, channel, 60, properties, body, this.frameMax, COPY_BODY_BELOW, (views) => {
        // A large body: what was encoded so far, then the body frames as views.
        this.setAside();
        for (const v of views) this.pending.push(v);
      });
    } catch (err) {
      this.out.pos = at;
      throw err;
    }
    this.schedule();
  }

  /** Bytes that are not a frame (the protocol header sent back to a wrong one). */
  raw(buf: Uint8Array): void {
    if (!this.writable()) return;
    this.reserve(buf.length);
    this.out.bytes(buf);
    this.schedule();
  }

  /**
   * connection.blocked (10/60, reason) / connection.unblocked (10/61): RabbitMQ extensions the
   * generated method table does not carry, so they are framed here.
   */
  blocked(on: boolean, reason: string): void {
    const text = Buffer.from(reason, "utf8").subarray(0, 255);
    const payload = on
      ? Buffer.concat([Buffer.from([0, 10, 0, 60, text.length]), text])
      : Buffer.from([0, 10, 0, 61]);
    const head = Buffer.alloc(7);
    head[0] = 1;
    head.writeUInt16BE(0, 1);
    head.writeUInt32BE(payload.length, 3);
    this.raw(Buffer.concat([head, payload, Buffer.from([0xce])]));
  }

  heartbeat(): void {
    this.raw(encodeHeartbeat());
  }

  /** Writes what is pending now, then ends the socket. */
  end(): void {
    if (this.ended) return;
    this.flush();
    this.ended = true;
    this.socket.end();
  }

  private writable(): boolean {
    return !this.ended && !this.socket.destroyed;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushNow);
  }

  private flush(): void {
    this.scheduled = false;
    // Deferred producers may write (and defer again): run them until none is left.
    while (this.deferred.length > 0) for (const fn of this.deferred.splice(0)) fn();
    this.scheduled = false;
    this.spill();
  }

  /** Makes sure `n` octets fit in the current chunk without growing it (a new chunk if not). */
  private reserve(n: number): void {
    if (this.out.buf.length - this.out.pos < n) this.setAside();
  }

  /** Puts what `out` holds aside (in order) and starts a new chunk of `size`. */
  private setAside(size = CHUNK): void {
    if (this.out.pos === 0) return;
    this.pending.push(this.out.finish());
    this.out = new Writer(size);
  }

  /** Hands this turn's frames to the socket: one write, or one writev of a few large buffers. */
  private spill(): void {
    this.setAside(FIRST_CHUNK);
    const n = this.pending.length;
    if (n === 0) return;
    if (!this.writable()) {
      this.pending.length = 0;
      return;
    }
    this.lastWrite = Date.now();
    if (n === 1) this.socket.write(this.pending[0] as Buffer);
    else {
      this.socket.cork();
      for (const b of this.pending) this.socket.write(b);
      this.socket.uncork();
    }
    this.pending.length = 0;
  }
}
