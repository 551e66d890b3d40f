/**
 * A raw AMQP client over a plain socket, for protocol-level tests and fuzzing: it can do the
 * handshake, then write any bytes, and records every frame the server sends and whether the
 * server ended the socket.
 */
import { connect, type Socket } from "node:net";
import {
  encodeContentFrames,
  encodeMethodFrame,
  encodeTable,
  type Frame,
  FrameParser,
  type Method,
  PROTOCOL_HEADER,
} from "../codec/index.js";
import { eventually } from "./harness.js";

export class RawClient {
  readonly frames: Frame[] = [];
  /** Bytes that did not parse as frames (the protocol header sent back). */
  raw = Buffer.alloc(0);
  ended = false;
  private readonly parser = new FrameParser({ frameMax: 0, expectProtocolHeader: false });
  private parseFailed = false;

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      if (this.parseFailed) return;
      this.raw = Buffer.concat([this.raw, chunk]);
      try {
        for (const f of this.parser.push(chunk)) if (f.type !== "protocol-header") this.frames.push(f);
      } catch {
        this.parseFailed = true;
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.ended = true;
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new RawClient(socket);
  }

  /** Connects and completes the handshake (guest/guest, vhost "/"). */
  static async open(
    port: number,
    opts: {
      frameMax?: number;
      heartbeat?: number;
      vhost?: string;
      noWaitOpen?: boolean;
      mechanism?: "PLAIN" | "AMQPLAIN";
    } = {},
  ): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.write(PROTOCOL_HEADER);
    await c.method(0, "connection.start");
    c.send(0, {
      name: "connection.start-ok",
      clientProperties: { capabilities: { consumer_cancel_notify: true, "connection.blocked": true } },
      mechanism: opts.mechanism ?? "PLAIN",
      response:
        opts.mechanism === "AMQPLAIN"
          ? encodeTable({ LOGIN: "guest", PASSWORD: "guest" }).subarray(4)
          : Buffer.from("\u0000guest\u0000guest"),
      locale: "en_US",
    });
    const tune = await c.method(0, "connection.tune");
    c.send(0, {
      name: "connection.tune-ok",
      channelMax: tune.channelMax,
      frameMax: opts.frameMax ?? tune.frameMax,
      heartbeat: opts.heartbeat ?? 0,
    });
    c.send(0, { name: "connection.open", virtualHost: opts.vhost ?? "/" });
    if (opts.noWaitOpen !== true) await c.method(0, "connection.open-ok");
    return c;
  }

  write(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  send(channel: number, m: Method): void {
    this.write(encodeMethodFrame(channel, m));
  }

  content(channel: number, body: Uint8Array, frameMax = 131_072): void {
    for (const f of encodeContentFrames(channel, 60, {}, body, frameMax)) this.write(f);
  }

  async openChannel(channel: number): Promise<void> {
    this.send(channel, { name: "channel.open" });
    await this.method(channel, "channel.open-ok");
  }

  /** Waits for a method frame (consumed from the front of what arrived). */
  async method<N extends Method["name"]>(
    channel: number,
    name: N,
    timeoutMs = 5_000,
  ): Promise<Extract<Method, { name: N }>> {
    const f = await eventually(
      `${name} on channel ${channel}`,
      () => {
        const i = this.frames.findIndex(
          (x) => x.type === "method" && x.channel === channel && x.method.name === name,
        );
        if (i < 0) return undefined;
        const [frame] = this.frames.splice(i, 1);
        return frame;
      },
      timeoutMs,
    );
    return (f as unknown as { method: Extract<Method, { name: N }> }).method;
  }

  /** The connection.close the server sent, or undefined if it just dropped the socket. */
  async closedWith(timeoutMs = 5_000): Promise<{ replyCode: number; replyText: string } | undefined> {
    const close = await eventually(
      "connection.close or a dropped socket",
      () => {
        const f = this.frames.find(
          (x) => x.type === "method" && x.channel === 0 && x.method.name === "connection.close",
        );
        if (f !== undefined) return { f };
        return this.ended ? { f: undefined } : undefined;
      },
      timeoutMs,
    );
    if (close.f === undefined) return undefined;
    const m = (close.f as { method: { replyCode: number; replyText: string } }).method;
    // Answer as a client must, so the server can finish.
    this.send(0, { name: "connection.close-ok" });
    return { replyCode: m.replyCode, replyText: m.replyText };
  }

  destroy(): void {
    this.socket.destroy();
  }
}
