/**
 * Writes frames to a client socket. Writes within one event-loop turn are corked into one
 * syscall (a burst of deliveries or confirms costs one write, not one per frame).
 * `backedUp` tells producers (deliveries) that the kernel and Node buffers are full.
 */
import type { Socket } from "node:net";
import type { MessageProperties } from "../queue/types.js";
import { encodeContentFrames, encodeHeartbeat, encodeMethodFrame, type Method } from "./codec/index.js";

/** Above this many bytes queued in the socket we consider the client slow. */
export const SOCKET_HIGH_WATER = 1024 * 1024;

export class FrameWriter {
  frameMax = 131_072;
  lastWrite = Date.now();
  private corked = false;
  private ended = false;
  private readonly drainWaiters: (() => void)[] = [];

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

  method(channel: number, method: Method): void {
    this.write(encodeMethodFrame(channel, method));
  }

  /** A method with content (deliver, get-ok, return): method, header and body frames. */
  content(channel: number, method: Method, properties: MessageProperties, body: Uint8Array): void {
    this.write(encodeMethodFrame(channel, method));
    for (const f of encodeContentFrames(channel, 60, properties, body, this.frameMax)) this.write(f);
  }

  /** Bytes that are not a frame (the protocol header sent back to a wrong one). */
  raw(buf: Uint8Array): void {
    this.write(buf);
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
    this.write(Buffer.concat([head, payload, Buffer.from([0xce])]));
  }

  heartbeat(): void {
    this.write(encodeHeartbeat());
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.corked) {
      this.corked = false;
      this.socket.uncork();
    }
    this.socket.end();
  }

  private write(buf: Uint8Array): void {
    if (this.ended || this.socket.destroyed) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        if (!this.corked) return;
        this.corked = false;
        this.socket.uncork();
      });
    }
    this.lastWrite = Date.now();
    this.socket.write(buf);
  }
}
