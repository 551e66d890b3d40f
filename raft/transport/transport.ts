/**
 * Transport: authenticated TCP between the nodes of a cluster, shared by every Raft group and by
 * any other subsystem (typed channels).
 *
 * Connections. Each ordered pair of nodes has exactly one connection: A dials B and sends all
 * its messages to B on it; B's messages to A travel on the connection B dialed. So a node sends
 * on its outbound connections and receives on its inbound ones, and per ordered pair the
 * messages of all groups and channels arrive in the order they were sent (TCP order), as long as
 * that connection lives. A frame that was written to a connection that then dropped is lost; the
 * protocol above (Raft) retransmits.
 *
 * Batching. `send()` encodes the frame at once and queues it; once per event-loop turn
 * (setImmediate) the queue of every peer is written in one corked burst, so a turn that produced
 * messages for many groups costs one writev per peer.
 *
 * Bounded queues. Per peer, bytes queued plus bytes buffered in the socket never exceed
 * `maxQueueBytes`: when the peer is down or slow, `send()` drops the new frame and returns false.
 *
 * Security. A connection is usable only after the HMAC handshake of `handshake.ts`. A connection
 * that fails it or misbehaves is closed and logged (warn); no other state changes.
 */
import { createServer, type Server, type Socket } from "node:net";
import type { NodeId } from "../core/types.js";
import { type Logger, noopLogger } from "../logger.js";
import { packFrame } from "./connection.js";
import { FRAME_HEADER_BYTES } from "./frame.js";
import { InboundConnection } from "./inbound.js";
import { type BackoffOptions, type PeerAddress, PeerLink } from "./peer-link.js";

/** Default per-peer queue bound: about one second of heavy replication traffic. */
export const DEFAULT_MAX_QUEUE_BYTES = 64 * 1024 * 1024;
/** Default largest frame body. Snapshots are chunked by the host well below it. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 50, maxMs: 2_000 };
/** How long `close()` lets a peer read what we still had to send before cutting it off. */
export const CLOSE_GRACE_MS = 1_000;

export interface TransportOptions {
  readonly nodeId: NodeId;
  /** Where to listen; port 0 picks an ephemeral port (see `address()`). */
  readonly listen: PeerAddress;
  /** The other nodes. An entry for `nodeId` itself is ignored. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  /** The cluster secret every node shares. Never sent over the wire. */
  readonly secret: string;
  readonly logger?: Logger;
  /** Per-peer bound on bytes not yet handed to the kernel; beyond it frames are dropped. */
  readonly maxQueueBytes?: number;
  /** Largest accepted (and sent) frame body, in bytes. */
  readonly maxFrameBytes?: number;
  /** A connection must complete the handshake within this time (ms). */
  readonly handshakeTimeoutMs?: number;
  /** Reconnect backoff. */
  readonly reconnect?: Partial<BackoffOptions>;
  /** Randomness for the backoff jitter, in [0, 1). */
  readonly random?: () => number;
}

/**
 * Receives one message of a channel. `from` is the authenticated peer of the connection it came
 * on; `payload` is whatever msgpack decoded (byte strings as Buffers): validate its shape.
 */
export type MessageHandler = (from: NodeId, payload: unknown) => void;
/**
 * Which connection of a peer an event is about: `outbound` is the one we dial and send on
 * (down: what we send no longer reaches the peer), `inbound` the one the peer dialed, which
 * carries its messages to us (down: we no longer hear it). With one-way faults either can be
 * down while the other works.
 */
export type PeerDirection = "inbound" | "outbound";
/** Receives a peer-up or peer-down event, with the connection it is about. */
export type PeerCallback = (peer: NodeId, direction: PeerDirection) => void;

/** Counters for metrics and tests. */
export interface TransportStats {
  readonly framesSent: number;
  readonly bytesSent: number;
  readonly framesReceived: number;
  /** Frames refused by `send()` (queue full, unknown peer, oversized, closed). */
  readonly framesDropped: number;
}

/** See the module comment. One instance per node; all methods are safe to call before `start()`. */
export class Transport {
  /** Options with defaults applied. */
  private readonly o: Required<Omit<TransportOptions, "peers" | "reconnect">> & { backoff: BackoffOptions };
  private readonly handlers = new Map<string, MessageHandler[]>();
  /** Our outbound link to each peer (never one for ourselves). */
  private readonly links = new Map<NodeId, PeerLink>();
  /** Every accepted socket, authenticated or not, so close() can end them all. */
  private readonly inbound = new Set<InboundConnection>();
  /** The live authenticated inbound connection of each peer (a newer one retires the older). */
  private readonly inboundByPeer = new Map<NodeId, InboundConnection>();
  private readonly upCallbacks: PeerCallback[] = [];
  private readonly downCallbacks: PeerCallback[] = [];
  /** Links with frames queued this turn. */
  private readonly dirty = new Set<PeerLink>();
  /** The pending end-of-turn flush, if one is scheduled. */
  private flushImmediate: NodeJS.Immediate | undefined;
  private server: Server | undefined;
  private started = false;
  private closed = false;
  private counters = { framesSent: 0, bytesSent: 0, framesReceived: 0, framesDropped: 0 };

  constructor(opts: TransportOptions) {
    if (opts.secret.length === 0) throw new Error("transport: the cluster secret must not be empty");
    this.o = {
      nodeId: opts.nodeId,
      listen: opts.listen,
      secret: opts.secret,
      logger: opts.logger ?? noopLogger,
      maxQueueBytes: opts.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
      maxFrameBytes: opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
      random: opts.random ?? Math.random,
      backoff: { ...DEFAULT_BACKOFF, ...opts.reconnect },
    };
    for (const [id, addr] of opts.peers) this.setPeer(id, addr);
  }

  /** Listens, then starts dialing every peer. Rejects if the address cannot be bound. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.o.listen.port, this.o.listen.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    // After a successful listen, an error of the listener must not crash the process.
    server.on("error", (err) => this.o.logger.error({ err: err.message }, "transport listener error"));
    this.o.logger.info({ addr: this.address() }, "transport listening");
    for (const link of this.links.values()) link.start();
  }

  /** The bound listen address (the real port when `listen.port` was 0). */
  address(): PeerAddress {
    const a = this.server?.address();
    if (!a || typeof a === "string") throw new Error("transport: not listening");
    return { host: a.address, port: a.port };
  }

  /** Registers a handler for a channel's messages. Several handlers of one channel all run, in order. */
  on(channel: string, handler: MessageHandler): void {
    const list = this.handlers.get(channel);
    if (list) list.push(handler);
    else this.handlers.set(channel, [handler]);
  }

  /**
   * Queues `payload` for `to` on `channel`; it is written at the end of this event-loop turn.
   * Returns false (and sends nothing) when the peer is unknown, its queue is full, or the frame
   * exceeds `maxFrameBytes`. True means queued, not delivered.
   */
  send(to: NodeId, channel: string, payload: unknown): boolean {
    const link = this.links.get(to);
    if (this.closed || !link) return this.drop();
    const frame = packFrame([channel, payload]);
    const bodyBytes = frame.length - FRAME_HEADER_BYTES;
    if (bodyBytes > this.o.maxFrameBytes) {
      this.o.logger.warn({ peer: to, channel, bytes: bodyBytes }, "message exceeds the frame limit, dropped");
      return this.drop();
    }
    if (!link.enqueue(frame)) return this.drop();
    this.counters.framesSent++;
    this.counters.bytesSent += frame.length;
    this.dirty.add(link);
    this.flushImmediate ??= setImmediate(() => this.flushAll());
    return true;
  }

  /**
   * `cb(peer, direction)` runs when an authenticated connection with `peer` closes, once per
   * direction: a hint that the peer may be gone. A crash of the peer usually reports both
   * directions; a one-way fault only one (the Raft host treats a lost inbound connection from
   * a group's leader as "cannot hear the leader", a lost outbound one as "cannot reach it").
   * Treat it as an idempotent hint.
   */
  onPeerDown(cb: PeerCallback): void {
    this.downCallbacks.push(cb);
  }

  /** `cb(peer, "outbound")` runs when our outbound connection to `peer` completes its handshake. */
  onPeerUp(cb: PeerCallback): void {
    this.upCallbacks.push(cb);
  }

  /** Adds a peer or changes its address (the old connection and its queue are dropped). */
  setPeer(id: NodeId, addr: PeerAddress): void {
    if (!Number.isInteger(addr.port) || addr.port <= 0 || addr.port > 65_535 || addr.host.length === 0) {
      // Caught here rather than in a reconnect timer, where a throw would end the process.
      throw new RangeError(`transport: invalid address for peer ${id}: ${addr.host}:${addr.port}`);
    }
    if (id === this.o.nodeId || this.closed) return;
    const old = this.links.get(id);
    if (old && old.address.host === addr.host && old.address.port === addr.port) return;
    void old?.close();
    const link = new PeerLink({
      self: this.o.nodeId,
      peer: id,
      addr: { host: addr.host, port: addr.port },
      secret: this.o.secret,
      maxQueueBytes: this.o.maxQueueBytes,
      handshakeTimeoutMs: this.o.handshakeTimeoutMs,
      backoff: this.o.backoff,
      random: this.o.random,
      logger: this.o.logger.child({ peer: id }),
      onUp: (p) => this.emit(this.upCallbacks, p, "outbound"),
      onDown: (p) => this.emit(this.downCallbacks, p, "outbound"),
    });
    this.links.set(id, link);
    if (this.started) link.start();
  }

  /** Stops sending to `id` (queued frames are discarded). Its inbound connection, if any, stays. */
  removePeer(id: NodeId): void {
    void this.links.get(id)?.close();
    this.links.delete(id);
  }

  /** True when our outbound connection to `peer` is authenticated. */
  isPeerUp(peer: NodeId): boolean {
    return this.links.get(peer)?.isUp ?? false;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  /**
   * Closes the listener, every connection and every timer; no callback runs afterwards.
   * Messages already accepted by `send()` on a live connection are still written (a last
   * MsgTimeoutNow or RPC reply is not lost): outbound sockets end gracefully and are cut off
   * after {@link CLOSE_GRACE_MS} if the peer does not read them. Resolves when all are closed.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushImmediate) clearImmediate(this.flushImmediate);
    this.flushImmediate = undefined;
    this.dirty.clear();
    const ended = [...this.links.values()].map((link) => link.close(CLOSE_GRACE_MS));
    this.links.clear();
    for (const c of this.inbound) c.close("transport closing");
    const server = this.server;
    if (server) ended.push(new Promise<void>((resolve) => server.close(() => resolve())));
    await Promise.all(ended);
  }

  /** Counts a refused frame; `send()` returns its result. */
  private drop(): false {
    this.counters.framesDropped++;
    return false;
  }

  /** End of the turn: every peer that got frames writes them in one burst. */
  private flushAll(): void {
    this.flushImmediate = undefined;
    for (const link of this.dirty) link.flush();
    this.dirty.clear();
  }

  /** Runs peer callbacks; one that throws is logged and does not stop the others. */
  private emit(callbacks: readonly PeerCallback[], peer: NodeId, direction: PeerDirection): void {
    if (this.closed) return;
    for (const cb of callbacks) {
      try {
        cb(peer, direction);
      } catch (err) {
        this.o.logger.error({ peer, err }, "peer callback threw");
      }
    }
  }

  /** A peer dialed us: run the acceptor's handshake, then deliver its messages. */
  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const c = new InboundConnection(socket, {
      self: this.o.nodeId,
      secret: this.o.secret,
      maxFrameBytes: this.o.maxFrameBytes,
      handshakeTimeoutMs: this.o.handshakeTimeoutMs,
      logger: this.o.logger,
      onAuthenticated: (conn) => {
        const peer = conn.peer!;
        const older = this.inboundByPeer.get(peer);
        this.inboundByPeer.set(peer, conn);
        if (older) {
          // The peer redialed: its old connection is dead or dying. Not a peer-down event.
          older.superseded = true;
          older.close("superseded by a newer connection from the same peer");
        }
      },
      onMessage: (from, channel, payload) => this.deliver(from, channel, payload),
      onClosed: (conn, wasUp) => {
        this.inbound.delete(conn);
        const peer = conn.peer;
        if (!wasUp || peer === undefined || conn.superseded) return;
        if (this.inboundByPeer.get(peer) === conn) this.inboundByPeer.delete(peer);
        this.emit(this.downCallbacks, peer, "inbound");
      },
    });
    this.inbound.add(c);
  }

  /** Hands one message to its channel's handlers, in registration order. */
  private deliver(from: NodeId, channel: string, payload: unknown): void {
    if (this.closed) return;
    this.counters.framesReceived++;
    const list = this.handlers.get(channel);
    if (!list) {
      this.o.logger.debug({ peer: from, channel }, "message on a channel nobody listens to, dropped");
      return;
    }
    for (const h of list) {
      try {
        h(from, payload);
      } catch (err) {
        // A handler's bug must not tear down the connection that carries every other group.
        this.o.logger.error({ peer: from, channel, err }, "message handler threw");
      }
    }
  }
}
