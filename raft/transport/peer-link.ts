/**
 * PeerLink: our one outbound connection to one peer, which carries every group's messages (and
 * any other channel's) from this node to that peer.
 *
 * It owns the bounded send queue, dials and authenticates (the dialer's half of `handshake.ts`),
 * writes the queue once per event-loop turn when the Transport asks, and redials with capped
 * exponential backoff and jitter when the connection fails or drops.
 */
import { connect } from "node:net";
import type { NodeId } from "../core/types.js";
import type { Logger } from "../logger.js";
import { FramedConnection } from "./connection.js";
import {
  computeProof,
  HANDSHAKE_MAX_FRAME_BYTES,
  isWelcome,
  newNonce,
  PROTOCOL_VERSION,
  parseChallenge,
  proofMatches,
} from "./handshake.js";

/** A node's listen address. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** Reconnect backoff parameters (see {@link backoffDelay}). */
export interface BackoffOptions {
  /** First retry delay (ms). */
  readonly initialMs: number;
  /** Cap of the exponential growth (ms). */
  readonly maxMs: number;
}

/**
 * Delay before reconnect attempt `attempt` (0-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so peers that lost a node at the same moment do not redial in step.
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(o.maxMs, o.initialMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + random() * (ceiling / 2);
}

/** Everything a link needs; the Transport builds one per peer. */
export interface PeerLinkOptions {
  readonly self: NodeId;
  readonly peer: NodeId;
  readonly addr: PeerAddress;
  readonly secret: string;
  readonly maxQueueBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly backoff: BackoffOptions;
  readonly random: () => number;
  readonly logger: Logger;
  /** The handshake completed: frames flow. */
  readonly onUp: (peer: NodeId) => void;
  /** An authenticated connection was lost (not called for failed attempts or for close()). */
  readonly onDown: (peer: NodeId) => void;
}

/**
 * `idle` (no socket; a reconnect timer may be armed) -> `connecting` (TCP connect, hello sent on
 * connect) -> `challenge` (waiting for the acceptor's proof) -> `welcome` (our proof sent) -> `up`.
 * Any failure goes back to `idle`; `closed` is final.
 */
type LinkState = "idle" | "connecting" | "challenge" | "welcome" | "up" | "closed";

export class PeerLink {
  /** Frames waiting for the connection (or for the end of this event-loop turn). */
  private queue: Buffer[] = [];
  /** Sum of the queued frames' lengths (the queue bound counts this plus the socket's buffer). */
  private queuedBytes = 0;
  private state: LinkState = "idle";
  /** The current socket, whatever its state; callbacks of an older socket are ignored. */
  private conn: FramedConnection | undefined;
  /** Our nonce for the current attempt. */
  private nonce: Buffer = Buffer.alloc(0);
  /** Consecutive failed attempts since the last successful handshake (drives the backoff). */
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  /** Frames refused because the queue was full. */
  dropped = 0;

  constructor(private readonly o: PeerLinkOptions) {}

  /** The address this link dials. */
  get address(): PeerAddress {
    return this.o.addr;
  }

  /** True while the connection is authenticated. */
  get isUp(): boolean {
    return this.state === "up";
  }

  /** Starts dialing (once). */
  start(): void {
    if (this.state === "idle" && !this.reconnectTimer) this.dial();
  }

  /**
   * Queues one frame. Refuses it (returns false) when the bytes not yet handed to the kernel,
   * queued here or buffered in the socket, would exceed `maxQueueBytes`: a peer that is down or
   * slow must not make us buffer without limit, and Raft retransmits what it needs.
   */
  enqueue(frame: Buffer): boolean {
    if (this.state === "closed") return false;
    const socketBytes = this.state === "up" && this.conn ? this.conn.socket.writableLength : 0;
    if (this.queuedBytes + socketBytes + frame.length > this.o.maxQueueBytes) {
      this.dropped++;
      return false;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    return true;
  }

  /** Writes every queued frame in one corked burst (one writev) if the connection is up. */
  flush(): void {
    if (this.state !== "up" || !this.conn || this.queue.length === 0) return;
    const socket = this.conn.socket;
    socket.cork();
    for (const f of this.queue) socket.write(f);
    socket.uncork();
    this.queue = [];
    this.queuedBytes = 0;
  }

  /**
   * Stops for good: no more dials. If the connection is up, the frames still queued are written
   * and the socket is ended gracefully (at most `graceMs` later it is destroyed); otherwise
   * queued frames are discarded. Resolves once the socket is closed.
   */
  close(graceMs = 0): Promise<void> {
    // Only an authenticated connection has anything worth draining; a dial in progress (maybe to
    // a black-holed address) is cut at once so close() never waits for it.
    const graceful = graceMs > 0 && this.state === "up";
    if (graceful) this.flush();
    this.state = "closed";
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.handshakeTimer);
    this.reconnectTimer = undefined;
    this.queue = [];
    this.queuedBytes = 0;
    const conn = this.conn;
    if (!conn) return Promise.resolve();
    if (graceful) return conn.end("transport closing", graceMs);
    conn.close("transport closing");
    return Promise.resolve();
  }

  /** One connection attempt: connect, then the dialer's side of the handshake. */
  private dial(): void {
    this.reconnectTimer = undefined;
    this.state = "connecting";
    this.nonce = newNonce();
    const socket = connect({ host: this.o.addr.host, port: this.o.addr.port });
    const conn = new FramedConnection(socket, HANDSHAKE_MAX_FRAME_BYTES, {
      onFrame: (v) => this.onFrame(conn, v),
      onClose: (reason, err) => this.onClosed(conn, reason, err),
    });
    this.conn = conn;
    // Covers the TCP connect as well: a black-holed address must not stall the link forever.
    this.handshakeTimer = setTimeout(() => conn.close("handshake timed out"), this.o.handshakeTimeoutMs);
    socket.once("connect", () => {
      if (this.conn !== conn || this.state !== "connecting") return;
      this.state = "challenge";
      conn.sendValue({
        t: "hello",
        v: PROTOCOL_VERSION,
        from: this.o.self,
        to: this.o.peer,
        nonce: this.nonce,
      });
    });
  }

  private onFrame(conn: FramedConnection, v: unknown): void {
    if (this.conn !== conn) return;
    const problem = this.step(conn, v);
    if (problem !== undefined) conn.close(problem);
  }

  /** Advances the dialer's side of the handshake; returns why the connection must close, if it must. */
  private step(conn: FramedConnection, v: unknown): string | undefined {
    if (this.state === "challenge") {
      const ch = parseChallenge(v);
      if (!ch) return "malformed challenge";
      if (ch.from !== this.o.peer) return `the node at this address is ${ch.from}, not ${this.o.peer}`;
      const expected = computeProof(
        this.o.secret,
        "acceptor",
        this.o.self,
        this.o.peer,
        this.nonce,
        ch.nonce,
      );
      if (!proofMatches(ch.proof, expected)) return "the peer failed to prove the cluster secret";
      const proof = computeProof(this.o.secret, "dialer", this.o.self, this.o.peer, this.nonce, ch.nonce);
      this.state = "welcome";
      conn.sendValue({ t: "auth", proof });
      return undefined;
    }
    if (this.state === "welcome" && isWelcome(v)) {
      clearTimeout(this.handshakeTimer);
      this.state = "up";
      this.attempt = 0;
      // `peer` is bound on this link's child logger already.
      this.o.logger.info({ addr: this.o.addr }, "connected to peer");
      this.flush();
      this.o.onUp(this.o.peer);
      return undefined;
    }
    // Data flows only from dialer to acceptor: anything else from the acceptor is a violation.
    return `unexpected frame in state ${this.state}`;
  }

  /**
   * The socket closed, for whatever reason: log at a level that matches the cause (our own
   * protocol verdicts and abandoned handshakes are warnings, a refused connect while the peer is
   * down is routine), arm the reconnect, and report a lost peer if it was up.
   */
  private onClosed(conn: FramedConnection, reason: string | undefined, err: Error | undefined): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    clearTimeout(this.handshakeTimer);
    if (this.state === "closed") return;
    const wasUp = this.state === "up";
    const log = { addr: this.o.addr, reason, err: err?.message };
    if (reason !== undefined) this.o.logger.warn(log, "closed connection to peer");
    else if (wasUp) this.o.logger.info(log, "connection to peer lost");
    else if (this.state === "welcome" || this.state === "challenge") {
      this.o.logger.warn(log, "peer closed the connection during the handshake (wrong secret or node id?)");
    } else this.o.logger.debug(log, "could not connect to peer");
    this.state = "idle";
    const delay = backoffDelay(this.attempt++, this.o.backoff, this.o.random);
    this.reconnectTimer = setTimeout(() => this.dial(), delay);
    if (wasUp) this.o.onDown(this.o.peer);
  }
}
