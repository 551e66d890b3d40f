/**
 * One client connection: the protocol header, the handshake (start, SASL, tune, open), frames
 * to channels, heartbeats both ways, flow control of socket reads, and closing.
 *
 * Frame order is the protocol: every frame is handled in arrival order, synchronously up to the
 * point where a channel queues its work (see channel.ts). A connection error (hard) sends
 * connection.close and ignores everything but close/close-ok until the socket ends; a socket
 * that misbehaves after that is simply dropped.
 */
import type { Socket } from "node:net";
import type { Logger } from "../../raft/logger.js";
import type { Broker, ClientContext } from "../broker/types.js";
import { WarrenError } from "../errors.js";
import { AmqpChannel } from "./channel.js";
import {
  AmqpFrameError,
  AmqpProtocolHeaderError,
  decodeTableBody,
  type Frame,
  FrameParser,
  type Method,
  PROTOCOL_HEADER,
} from "./codec/index.js";
import { closeFor, commandInvalid, expectedChannelOpen, shortString, unexpectedFrame } from "./errors.js";
import { loginRefused, MECHANISMS, negotiate, parseSaslResponse, serverProperties } from "./handshake.js";
import { MAX_INFLIGHT_PUBLISHES, ReadThrottle } from "./read-throttle.js";
import type { ReplyTo } from "./reply-to.js";
import { FrameWriter } from "./writer.js";

export interface AmqpLimits {
  readonly heartbeat: number;
  readonly frameMax: number;
  readonly channelMax: number;
  readonly maxMessageSize: number;
  /** Unfinished publishes per connection above which its socket is not read (default 4096). */
  readonly maxInflightPublishes?: number;
}

export interface ConnectionServices {
  readonly broker: Broker;
  readonly limits: AmqpLimits;
  readonly logger: Logger;
  readonly replyTo: ReplyTo;
  readonly newConnectionId: () => string;
}

/** The handshake's states, then `open`, then `closing` (we sent connection.close) and `closed`. */
type State = "header" | "start-ok" | "tune-ok" | "open-wait" | "open" | "closing" | "closed";

const FRAME_MIN_SIZE = 4096;
/** How long we wait for close-ok after connection.close before dropping the socket. */
const CLOSE_OK_TIMEOUT_MS = 3_000;
/** How long close-ok may wait for the channels to let go (rabbit_reader's channel termination timeout). */
const CHANNEL_TERMINATION_TIMEOUT_MS = 3_000;
/** Handshake must finish within this (RabbitMQ's handshake_timeout is 10 s). */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export class AmqpConnection {
  readonly id: string;
  private state: State = "header";
  private readonly parser: FrameParser;
  readonly writer: FrameWriter;
  private readonly throttle: ReadThrottle;
  private readonly channels = new Map<number, AmqpChannel>();
  private readonly releasing = new Map<number, Promise<void>>();
  private ctxValue: ClientContext | undefined;
  private mechanism = "PLAIN";
  private user = "";
  private clientCapabilities: Record<string, unknown> = {};
  clientProperties: Record<string, unknown> = {};
  channelMax = 0;
  frameMax = FRAME_MIN_SIZE;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private lastReceived = Date.now();
  private blockedSent = false;
  private closedHandlers: (() => void)[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly services: ConnectionServices,
  ) {
    this.id = services.newConnectionId();
    this.parser = new FrameParser();
    this.writer = new FrameWriter(socket);
    this.throttle = new ReadThrottle(
      services.limits.maxInflightPublishes ?? MAX_INFLIGHT_PUBLISHES,
      (paused) => {
        // Only an open connection is throttled: a closing one must read close-ok.
        if (this.state !== "open") return;
        if (paused) socket.pause();
        else socket.resume();
      },
    );
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.log.debug({ err, conn: this.id }, "amqp socket error"));
    socket.on("close", () => this.onSocketClosed());
    this.handshakeTimer = setTimeout(() => this.drop("handshake timeout"), HANDSHAKE_TIMEOUT_MS);
  }

  get log(): Logger {
    return this.services.logger;
  }

  get broker(): Broker {
    return this.services.broker;
  }

  get limits(): AmqpLimits {
    return this.services.limits;
  }

  get replyTo(): ReplyTo {
    return this.services.replyTo;
  }

  /** The client's context; only valid once the connection is open. */
  get ctx(): ClientContext {
    if (this.ctxValue === undefined) throw new WarrenError("INTERNAL_ERROR", "connection not open");
    return this.ctxValue;
  }

  /** The client's context once open (undefined during the handshake). */
  get clientContext(): ClientContext | undefined {
    return this.ctxValue;
  }

  private isClosed(): boolean {
    return this.state === "closed";
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  capability(name: string): boolean {
    return this.clientCapabilities[name] === true;
  }

  onClosed(cb: () => void): void {
    this.closedHandlers.push(cb);
  }

  // --------------------------------------------------------------------------------------------
  // Input
  // --------------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    try {
      this.consume(chunk);
    } catch (err) {
      // Last resort: whatever went wrong with this client must not take the process down.
      this.log.error({ err, conn: this.id }, "amqp connection failed unexpectedly");
      this.drop("internal error");
      this.socket.destroy();
    }
  }

  private consume(chunk: Buffer): void {
    this.lastReceived = Date.now();
    if (this.state === "closed") return;
    try {
      for (const frame of this.parser.push(chunk)) {
        if (this.isClosed()) return;
        if (frame.type === "protocol-header") {
          this.sendStart();
          continue;
        }
        try {
          this.onFrame(frame);
        } catch (err) {
          this.failConnection(err);
        }
      }
    } catch (err) {
      if (err instanceof AmqpProtocolHeaderError) {
        this.refuseHeader();
        return;
      }
      this.failConnection(err);
      // Frame sync is lost: nothing more can be read, not even close-ok.
      if (this.parser.desynchronized) this.drop("frame sync lost");
      // Otherwise the bad frame was consumed: read what followed it in the chunk (the client's
      // close-ok may be there already).
      else if (this.parser.pending > 0) setImmediate(() => this.onData(Buffer.alloc(0)));
    }
  }

  /** A wrong protocol header gets the right one back and the socket closed (spec 4.2.2). */
  private refuseHeader(): void {
    this.state = "closed";
    this.writer.raw(PROTOCOL_HEADER);
    this.endSocket();
    void this.release();
  }

  private onFrame(frame: Frame): void {
    if (this.state === "closing") {
      // After our connection.close only close-ok (or a crossing close) matters.
      if (frame.type === "method" && frame.channel === 0) {
        if (frame.method.name === "connection.close-ok") this.drop("closed");
        else if (frame.method.name === "connection.close") {
          this.writer.method(0, { name: "connection.close-ok" });
          this.drop("closed");
        }
      }
      return;
    }
    if (frame.type === "heartbeat") {
      if (frame.channel !== 0) throw new WarrenError("FRAME_ERROR", "heartbeat frame on non-zero channel");
      return;
    }
    if (this.state !== "open") {
      this.onHandshakeFrame(frame);
      return;
    }
    if (frame.channel === 0) {
      if (frame.type !== "method")
        throw unexpectedFrame("expected method frame, got non method frame instead");
      this.onConnectionMethod(frame.method);
      return;
    }
    if (frame.channel > this.channelMax) {
      throw new WarrenError(
        "CHANNEL_ERROR",
        `channel ${frame.channel} is above the negotiated channel_max (${this.channelMax})`,
      );
    }
    let ch = this.channels.get(frame.channel);
    if (ch === undefined) {
      if (frame.type !== "method" || frame.method.name !== "channel.open") {
        // (A channel we are closing stays in the map until close-ok and drops its frames.)
        throw expectedChannelOpen();
      }
      ch = new AmqpChannel(this, frame.channel, this.releasing.get(frame.channel));
      this.channels.set(frame.channel, ch);
      ch.open();
      return;
    }
    ch.onFrame(frame);
  }

  private onHandshakeFrame(frame: Frame): void {
    if (frame.type !== "method" || frame.channel !== 0) {
      throw unexpectedFrame("expected method frame, got non method frame instead");
    }
    const m = frame.method;
    if (m.name === "connection.close") {
      this.writer.method(0, { name: "connection.close-ok" });
      this.drop("closed by client during handshake");
      return;
    }
    if (this.state === "start-ok" && m.name === "connection.start-ok") {
      this.onStartOk(m);
      return;
    }
    if (this.state === "tune-ok" && m.name === "connection.tune-ok") {
      this.onTuneOk(m);
      return;
    }
    if (this.state === "open-wait" && m.name === "connection.open") {
      this.onOpen(m);
      return;
    }
    const expected = {
      "start-ok": "connection.start-ok",
      "tune-ok": "connection.tune-ok",
      "open-wait": "connection.open",
    };
    const want = expected[this.state as keyof typeof expected] ?? "connection.open";
    throw commandInvalid(`expected '${want}', got '${m.name}'`);
  }

  private sendStart(): void {
    this.state = "start-ok";
    this.writer.method(0, {
      name: "connection.start",
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: serverProperties(this.broker.nodeId),
      mechanisms: Buffer.from(MECHANISMS.join(" ")),
      locales: Buffer.from("en_US"),
    } as Method);
  }

  private onStartOk(m: Extract<Method, { name: "connection.start-ok" }>): void {
    const props = (m.clientProperties ?? {}) as Record<string, unknown>;
    const caps = props.capabilities;
    this.clientProperties = props;
    if (caps !== null && typeof caps === "object") this.clientCapabilities = caps as Record<string, unknown>;
    this.mechanism = m.mechanism;
    const creds = parseSaslResponse(m.mechanism, m.response, (b) =>
      decodeTableBody(Buffer.from(b), 0, b.length, 0),
    );
    // The handshake pauses for the password check; frames that arrive meanwhile wait in the parser.
    this.socket.pause();
    this.broker
      .authenticate(creds.username, creds.password, this.socket.remoteAddress)
      .then(
        (user) => {
          if (this.state !== "start-ok") return;
          this.user = user.name;
          this.state = "tune-ok";
          this.writer.method(0, {
            name: "connection.tune",
            channelMax: this.limits.channelMax,
            frameMax: this.limits.frameMax,
            heartbeat: this.limits.heartbeat,
          } as Method);
          this.socket.resume();
        },
        (err: unknown) => {
          this.log.info({ conn: this.id, user: creds.username, err }, "amqp login refused");
          this.socket.resume();
          this.closeConnection(closeFor(loginRefused(this.mechanism)));
        },
      )
      .catch((err: unknown) => this.failConnection(err));
  }

  private onTuneOk(m: Extract<Method, { name: "connection.tune-ok" }>): void {
    this.frameMax = negotiate("frame_max", this.limits.frameMax, FRAME_MIN_SIZE, m.frameMax);
    this.channelMax = negotiate("channel_max", this.limits.channelMax, 1, m.channelMax);
    this.parser.frameMax = this.frameMax;
    this.writer.frameMax = this.frameMax;
    this.startHeartbeats(m.heartbeat);
    this.state = "open-wait";
  }

  private onOpen(m: Extract<Method, { name: "connection.open" }>): void {
    const vhost = m.virtualHost;
    this.broker.checkVhostAccess(this.user, vhost);
    this.ctxValue = {
      user: this.user,
      vhost,
      connection: this.id,
      ...(this.socket.remoteAddress !== undefined ? { remoteAddress: this.socket.remoteAddress } : {}),
    };
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.state = "open";
    this.writer.method(0, { name: "connection.open-ok" });
    if (this.broker.isBlocked()) this.setBlocked(true, "memory or backlog over its bound");
  }

  private onConnectionMethod(m: Method): void {
    switch (m.name) {
      case "connection.close":
        this.closedByClient();
        return;
      case "connection.close-ok":
        return;
      default:
        throw commandInvalid(`unexpected method '${m.name}' on channel 0`);
    }
  }

  // --------------------------------------------------------------------------------------------
  // Heartbeats
  // --------------------------------------------------------------------------------------------

  /** The client's tune-ok value wins (RabbitMQ); 0 disables heartbeats both ways. */
  private startHeartbeats(seconds: number): void {
    if (seconds <= 0) return;
    const intervalMs = seconds * 1000;
    this.lastReceived = Date.now();
    let lastTick = this.lastReceived;
    this.heartbeatTimer = setInterval(() => {
      if (this.state === "closed") return;
      const now = Date.now();
      // A tick this late means this process stalled (GC, a loaded machine), and timers run before
      // the socket is read: the client's frames may be waiting unread. The stall is not the
      // client's silence (RabbitMQ counts missed ticks, which a stall cannot multiply).
      const late = now - lastTick - intervalMs / 2;
      lastTick = now;
      if (late > intervalMs / 2) this.lastReceived = Math.min(now, this.lastReceived + late);
      if (now - this.lastReceived > 2 * intervalMs) {
        this.log.info({ conn: this.id }, "amqp client missed heartbeats: closing");
        this.drop("missed heartbeats");
        return;
      }
      if (Date.now() - this.writer.lastWrite >= intervalMs / 2) this.writer.heartbeat();
    }, intervalMs / 2);
    this.heartbeatTimer.unref();
  }

  // --------------------------------------------------------------------------------------------
  // Flow control
  // --------------------------------------------------------------------------------------------

  /** Times this connection stopped reading because its publishes outran the broker. */
  get throttledCount(): number {
    return this.throttle.throttled;
  }

  /** A publish went to the broker; reads pause while too many are unfinished. */
  publishStarted(bytes: number): void {
    this.throttle.publishStarted(bytes);
  }

  publishDone(bytes: number): void {
    this.throttle.publishDone(bytes);
  }

  /** connection.blocked to clients that asked for it; a publishing connection stops being read. */
  setBlocked(blocked: boolean, reason: string): void {
    if (this.state !== "open") return;
    if (this.capability("connection.blocked") && blocked !== this.blockedSent) {
      this.blockedSent = blocked;
      this.writer.blocked(blocked, reason);
    }
    this.throttle.blocked(blocked);
  }

  // --------------------------------------------------------------------------------------------
  // Closing
  // --------------------------------------------------------------------------------------------

  /** A connection error: connection.close with its code, then wait for close-ok. */
  failConnection(err: unknown): void {
    const reply = closeFor(err);
    if (!(err instanceof WarrenError)) this.log.warn({ err, conn: this.id }, "amqp connection failed");
    // A soft error outside a channel (a channel-less frame) is still fatal to the connection.
    if (err instanceof AmqpFrameError) this.closeConnection(reply, err.classId, err.methodId);
    else this.closeConnection(reply);
  }

  closeConnection(reply: { replyCode: number; replyText: string }, classId = 0, methodId = 0): void {
    if (this.state === "closing" || this.state === "closed") return;
    this.state = "closing";
    this.writer.method(0, {
      name: "connection.close",
      replyCode: reply.replyCode,
      replyText: shortString(reply.replyText),
      classId,
      methodId,
    } as Method);
    this.socket.resume();
    this.closeTimer = setTimeout(() => this.drop("no close-ok"), CLOSE_OK_TIMEOUT_MS);
    this.closeTimer.unref();
  }

  /** Ends the socket (after writing what is queued) and releases everything. */
  drop(reason: string): void {
    if (this.state === "closed") return;
    this.log.debug({ conn: this.id, reason }, "amqp connection closing");
    this.state = "closed";
    this.endSocket();
    void this.release();
  }

  /**
   * The client's connection.close. Frames after it are discarded, those before it still run
   * (acks, publishes), and close-ok goes out once the broker released the connection: as
   * rabbit_reader answers only after its channels terminated, so a client that reconnects after
   * close-ok finds its acks applied and its unacked messages back in their queues.
   */
  private closedByClient(): void {
    this.log.debug({ conn: this.id }, "amqp connection closed by client");
    this.state = "closed";
    let answered = false;
    const answer = () => {
      if (answered) return;
      answered = true;
      clearTimeout(bound);
      this.writer.method(0, { name: "connection.close-ok" });
      this.endSocket();
    };
    // Not forever: a release stuck on a queue without quorum finishes after close-ok.
    const bound = setTimeout(answer, CHANNEL_TERMINATION_TIMEOUT_MS);
    void this.release().then(answer);
  }

  /** Ends the socket after what is queued, and destroys it if the client does not hang up. */
  private endSocket(): void {
    this.writer.end();
    if (!this.socket.destroyed) {
      const t = setTimeout(() => this.socket.destroy(), 1000);
      t.unref();
    }
  }

  /** Server shutdown: 320 CONNECTION_FORCED, as RabbitMQ on a stopping node. */
  forceClose(text: string): void {
    if (this.state === "open")
      this.closeConnection({ replyCode: 320, replyText: `CONNECTION_FORCED - ${text}` });
    else this.drop(text);
  }

  private onSocketClosed(): void {
    if (this.state !== "closed") this.state = "closed";
    void this.release();
  }

  private released: Promise<void> | undefined;

  /**
   * Lets go of everything (once): resolves when the broker released the connection, after the
   * methods the channels had received ran (acks and publishes a client sent just before it
   * closed are applied, and nothing a running consume adds outlives the connection).
   */
  private release(): Promise<void> {
    if (this.released !== undefined) return this.released;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.closeTimer) clearTimeout(this.closeTimer);
    const channels = [...this.channels.values()];
    for (const ch of channels) ch.detach();
    this.channels.clear();
    const ctx = this.ctxValue;
    this.released =
      ctx === undefined
        ? Promise.resolve()
        : Promise.all(channels.map((ch) => ch.idle()))
            .then(() => this.broker.connectionClosed(ctx))
            .catch((err: unknown) => this.log.warn({ err, conn: this.id }, "amqp connectionClosed failed"));
    for (const cb of this.closedHandlers) cb();
    return this.released;
  }

  /**
   * A channel finished closing (close-ok exchanged): its number may be opened again, by a
   * channel that starts once `released` (the broker forgot the old one's consumers and unacked).
   */
  channelGone(channel: number, released: Promise<void>): void {
    this.channels.delete(channel);
    const p = released.then(() => {
      if (this.releasing.get(channel) === p) this.releasing.delete(channel);
    });
    this.releasing.set(channel, p);
  }
}
