/**
 * InboundConnection: the acceptor's half of a connection a peer dialed to us. It runs the
 * acceptor's side of the handshake and then delivers the peer's message frames.
 *
 * Every violation (no hello first, a failed proof, a frame before authentication, an oversized or
 * undecodable frame, a message that is not `[channel, payload]`, a silent peer past the handshake
 * timeout) closes this one socket with a logged reason. Nothing else changes: other connections,
 * the listener and the node's state are untouched.
 */
import type { Socket } from "node:net";
import type { NodeId } from "../core/types.js";
import type { Logger } from "../logger.js";
import { FramedConnection } from "./connection.js";
import {
  computeProof,
  HANDSHAKE_MAX_FRAME_BYTES,
  type Hello,
  newNonce,
  parseAuth,
  parseHello,
  proofMatches,
} from "./handshake.js";

/** What an inbound connection needs from the Transport that accepted it. */
export interface InboundContext {
  /** Our node id: a hello must be addressed to it. */
  readonly self: NodeId;
  readonly secret: string;
  /** Frame limit once authenticated (before that, HANDSHAKE_MAX_FRAME_BYTES). */
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly logger: Logger;
  /** The peer proved its identity; the transport may retire an older connection from it. */
  readonly onAuthenticated: (c: InboundConnection) => void;
  /** One message of the authenticated peer, in the order the peer sent it. */
  readonly onMessage: (from: NodeId, channel: string, payload: unknown) => void;
  /** The socket closed; `wasAuthenticated` tells whether it ever carried messages. */
  readonly onClosed: (c: InboundConnection, wasAuthenticated: boolean) => void;
}

/**
 * `hello`: waiting for the dialer's hello (nothing else is accepted); `auth`: challenge sent,
 * waiting for the dialer's proof; `up`: authenticated, frames are messages. Never goes back.
 */
type InboundState = "hello" | "auth" | "up";

export class InboundConnection {
  private state: InboundState = "hello";
  private readonly conn: FramedConnection;
  /** Our challenge nonce: fresh per connection, so a recorded proof is useless here. */
  private readonly nonce = newNonce();
  /** The dialer's hello, kept for the proof check; set from state `auth` on. */
  private hello: Hello | undefined;
  /** The handshake deadline; cleared once authenticated. */
  private readonly timer: NodeJS.Timeout;
  /** `address:port` of the dialer, for logs (the id is not trusted before the proof). */
  private readonly remote: string;
  /** Set when the transport replaced this connection by a newer one from the same peer. */
  superseded = false;

  constructor(
    socket: Socket,
    private readonly ctx: InboundContext,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES, {
      onFrame: (v) => this.onFrame(v),
      onClose: (reason, err) => this.onClosed(reason, err),
    });
    this.timer = setTimeout(() => this.conn.close("handshake timed out"), ctx.handshakeTimeoutMs);
  }

  /** The authenticated peer, once the handshake succeeded. */
  get peer(): NodeId | undefined {
    return this.state === "up" ? this.hello?.from : undefined;
  }

  /** Closes the socket; `reason` is logged unless it is a routine one (shutdown, superseded). */
  close(reason: string): void {
    this.conn.close(reason);
  }

  private onFrame(v: unknown): void {
    const problem = this.step(v);
    if (problem !== undefined) this.conn.close(problem);
  }

  /** Advances the handshake or delivers a message; returns why the connection must close, if it must. */
  private step(v: unknown): string | undefined {
    switch (this.state) {
      case "hello": {
        const hello = parseHello(v);
        if (!hello) return "expected a hello before anything else";
        if (hello.to !== this.ctx.self) return `hello addressed to ${hello.to}, not to us`;
        if (hello.from === this.ctx.self) return "a peer claims our own node id";
        this.hello = hello;
        this.state = "auth";
        const proof = computeProof(
          this.ctx.secret,
          "acceptor",
          hello.from,
          this.ctx.self,
          hello.nonce,
          this.nonce,
        );
        this.conn.sendValue({ t: "challenge", from: this.ctx.self, nonce: this.nonce, proof });
        return undefined;
      }
      case "auth": {
        const auth = parseAuth(v);
        const hello = this.hello!;
        if (!auth) return "expected auth before anything else";
        const expected = computeProof(
          this.ctx.secret,
          "dialer",
          hello.from,
          this.ctx.self,
          hello.nonce,
          this.nonce,
        );
        if (!proofMatches(auth.proof, expected)) return `${hello.from} failed to prove the cluster secret`;
        clearTimeout(this.timer);
        this.state = "up";
        this.conn.setMaxFrameBytes(this.ctx.maxFrameBytes);
        this.conn.sendValue({ t: "welcome" });
        this.ctx.logger.info({ peer: hello.from, remote: this.remote }, "peer connected");
        this.ctx.onAuthenticated(this);
        return undefined;
      }
      case "up": {
        if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== "string") {
          return "malformed message frame (expected [channel, payload])";
        }
        this.ctx.onMessage(this.hello!.from, v[0], v[1]);
        return undefined;
      }
    }
  }

  private onClosed(reason: string | undefined, err: Error | undefined): void {
    clearTimeout(this.timer);
    const wasUp = this.state === "up";
    const log = { peer: this.hello?.from, remote: this.remote, reason, err: err?.message };
    if (reason !== undefined && !this.superseded && reason !== "transport closing") {
      this.ctx.logger.warn(log, "closed inbound connection");
    } else if (wasUp) {
      this.ctx.logger.info(log, "peer disconnected");
    } else if (reason === undefined) {
      // A dialer that gives up mid-handshake usually found that we do not share its secret.
      this.ctx.logger.warn({ ...log, step: this.state }, "inbound connection abandoned during the handshake");
    }
    this.ctx.onClosed(this, wasUp);
  }
}
