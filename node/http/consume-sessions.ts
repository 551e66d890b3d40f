/**
 * The consume API beyond RabbitMQ: long-poll consumes whose messages are leased to the client
 * until it acks or nacks them by delivery id, and server-sent-event streams.
 *
 * Each consume call (or stream) is a session with a pseudo-connection of its own on this node,
 * `${nodeId}/http-${boot}-${n}`, channel 1, so the queue machines hold its unacked messages exactly as
 * they hold an AMQP channel's: the broker's `consume`, `settle`, `cancel` and `channelClosed` do
 * the work. When a node dies, the queues release its sessions with the rest of its connections.
 *
 * A lease that expires settles its message with `requeue`: it returns to the queue and is
 * redelivered with `redelivered: true` (and `x-delivery-count`). When a session has nothing
 * left (every message acked, nacked or expired) it closes its channel, which also returns any
 * delivery that raced with the consumer's cancellation.
 *
 * Delivery ids are opaque and valid on the node that issued them, for the user who consumed.
 */
import { randomBytes } from "node:crypto";
import type { Logger } from "../../raft/logger.js";
import type { Broker, ClientContext, ConsumerSink, Delivery, MessageId, SettleOp } from "../broker/types.js";
import { BOOT_ID } from "./auth.js";
import type { NodeMetrics } from "./metrics.js";

/** Once the first message arrived, wait this long for more before answering a long poll. */
const LINGER_MS = 5;
/**
 * The least a poll waits after its consumer is registered, even with `wait_ms: 0`: deliveries
 * of messages that were ready travel from the queue's leader, possibly over the cluster transport.
 */
const MIN_WAIT_MS = 25;
const CHANNEL = 1;

interface Session {
  /** Local number, also the first part of its delivery ids. */
  readonly num: number;
  readonly ctx: ClientContext;
  readonly queue: string;
  readonly leases: Set<string>;
  /** Still receiving (poll in progress or stream open): not finalised when its leases run out. */
  active: boolean;
  finalised: boolean;
}

interface Lease {
  readonly id: string;
  readonly session: Session;
  readonly messageId: MessageId;
  readonly leaseMs: number;
  timer: NodeJS.Timeout | undefined;
}

export interface Leased {
  readonly deliveryId: string;
  readonly delivery: Delivery;
}

export interface PollOptions {
  readonly max: number;
  readonly waitMs: number;
  readonly leaseMs: number;
  /** The client went away: everything it was about to get returns to the queue. */
  readonly signal: AbortSignal;
}

export interface StreamOptions {
  readonly prefetch: number;
  readonly autoAck: boolean;
  /** Manual ack only; 0 = the lease lasts as long as the stream. */
  readonly leaseMs: number;
}

/** Where a stream session writes; `write` returns false while the socket's buffer is full. */
export interface StreamOutput {
  message(leased: Leased | { deliveryId: undefined; delivery: Delivery }): boolean;
  cancelled(reason: string): void;
  onDrain(cb: () => void): void;
  /** The door is closing: end the response. */
  end(): void;
}

export interface StreamHandle {
  readonly consumerTag: string;
  /** The client went away (or `end`: the server ends the response too). */
  close(opts?: { end?: boolean }): Promise<void>;
}

export class ConsumeSessions {
  private counter = 0;
  private readonly leases = new Map<string, Lease>();
  private readonly streams = new Set<StreamHandle>();
  /** Long polls waiting right now: `close()` ends each (with nothing) so the door can close. */
  private readonly waiting = new Set<() => void>();
  /** Every poll in progress, waiting or not: `close()` lets them finish before it settles leases. */
  private readonly running = new Set<Promise<Leased[]>>();
  private closing = false;

  constructor(
    private readonly broker: Broker,
    private readonly log: Logger,
    private readonly metrics: NodeMetrics,
  ) {}

  private open(base: ClientContext, queue: string): Session {
    this.counter += 1;
    const ctx: ClientContext = {
      ...base,
      connection: `${this.broker.nodeId}/http-${BOOT_ID}-${this.counter}`,
    };
    return { num: this.counter, ctx, queue, leases: new Set(), active: true, finalised: false };
  }

  private lease(session: Session, delivery: Delivery, leaseMs: number): Leased {
    const id = `${session.num}.${delivery.id}.${randomBytes(6).toString("base64url")}`;
    const lease: Lease = { id, session, messageId: delivery.id, leaseMs, timer: undefined };
    this.arm(lease);
    this.leases.set(id, lease);
    session.leases.add(id);
    return { deliveryId: id, delivery };
  }

  private arm(lease: Lease): void {
    if (lease.leaseMs <= 0) return;
    lease.timer = setTimeout(() => void this.expire(lease), lease.leaseMs);
    lease.timer.unref();
  }

  private async expire(lease: Lease): Promise<void> {
    if (!this.leases.delete(lease.id)) return;
    lease.session.leases.delete(lease.id);
    try {
      await this.broker.settle(lease.session.ctx, CHANNEL, lease.session.queue, "requeue", [lease.messageId]);
      this.metrics.settled("requeue", 1);
    } catch (err) {
      this.log.warn(
        { err, queue: lease.session.queue, conn: lease.session.ctx.connection },
        "lease expiry failed",
      );
    }
    await this.maybeFinalise(lease.session);
  }

  /** Nothing left to settle and nothing arriving: close the channel (returns stray deliveries). */
  private async maybeFinalise(session: Session): Promise<void> {
    if (session.active || session.finalised || session.leases.size > 0) return;
    session.finalised = true;
    try {
      await this.broker.channelClosed(session.ctx, CHANNEL);
    } catch (err) {
      this.log.warn({ err, conn: session.ctx.connection }, "closing a consume session failed");
    }
  }

  /** A long poll: up to `max` messages, waiting up to `waitMs` for the first; each leased for `leaseMs`. */
  async poll(base: ClientContext, queue: string, opts: PollOptions): Promise<Leased[]> {
    const run = this.runPoll(base, queue, opts);
    this.running.add(run);
    try {
      return await run;
    } finally {
      this.running.delete(run);
    }
  }

  private async runPoll(base: ClientContext, queue: string, opts: PollOptions): Promise<Leased[]> {
    const session = this.open(base, queue);
    const got: Delivery[] = [];
    let receiving = true;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let linger: NodeJS.Timeout | undefined;
    const sink: ConsumerSink = {
      deliver: (d) => {
        // Late deliveries (raced with the cancel) stay with the channel until it closes.
        if (!receiving) return;
        got.push(d);
        if (got.length >= opts.max) finish();
        else linger ??= setTimeout(finish, LINGER_MS);
      },
      cancelled: () => finish(),
    };
    let tag: string;
    try {
      tag = await this.broker.consume(
        session.ctx,
        {
          queue,
          channel: CHANNEL,
          consumerTag: "",
          prefetch: opts.max,
          noAck: false,
          exclusive: false,
          arguments: {},
        },
        sink,
      );
    } catch (err) {
      session.active = false;
      session.finalised = true;
      // The consumer may be registered even though we saw a failure (e.g. a timeout).
      void this.broker.channelClosed(session.ctx, CHANNEL).catch(() => undefined);
      throw err;
    }
    const wait = setTimeout(finish, Math.max(opts.waitMs, MIN_WAIT_MS));
    const onAbort = () => finish();
    opts.signal.addEventListener("abort", onAbort);
    this.waiting.add(finish);
    if (opts.signal.aborted || this.closing) finish();
    await finished;
    receiving = false;
    this.waiting.delete(finish);
    clearTimeout(wait);
    if (linger) clearTimeout(linger);
    opts.signal.removeEventListener("abort", onAbort);

    // The door closing: what arrived goes back to the queue rather than to a client whose acks
    // could no longer reach this node (its leases would only expire into redeliveries).
    if (got.length === 0 || opts.signal.aborted || this.closing) {
      session.active = false;
      await this.maybeFinalise(session);
      return [];
    }
    try {
      await this.broker.cancel(session.ctx, CHANNEL, tag);
    } catch (err) {
      this.log.warn({ err, queue, conn: session.ctx.connection }, "cancelling a poll consumer failed");
    }
    const leased = got.map((d) => this.lease(session, d, opts.leaseMs));
    session.active = false;
    this.metrics.delivered(leased.length);
    return leased;
  }

  /**
   * Settles leased messages by delivery id. Ids that are unknown here (already settled, expired,
   * issued by another node, for another queue or user) are reported, not fatal.
   */
  async settle(
    ctx: ClientContext,
    queue: string,
    deliveryIds: readonly string[],
    op: SettleOp,
  ): Promise<{ settled: string[]; unknown: string[] }> {
    const unknown: string[] = [];
    const bySession = new Map<Session, Lease[]>();
    for (const id of new Set(deliveryIds)) {
      const lease = this.leases.get(id);
      const s = lease?.session;
      if (!lease || !s || s.queue !== queue || s.ctx.vhost !== ctx.vhost || s.ctx.user !== ctx.user) {
        unknown.push(id);
        continue;
      }
      const list = bySession.get(s) ?? [];
      list.push(lease);
      bySession.set(s, list);
    }
    const settled: string[] = [];
    for (const [session, list] of bySession) {
      for (const l of list) {
        this.leases.delete(l.id);
        session.leases.delete(l.id);
        if (l.timer) clearTimeout(l.timer);
      }
      try {
        await this.broker.settle(
          session.ctx,
          CHANNEL,
          queue,
          op,
          list.map((l) => l.messageId),
        );
      } catch (err) {
        // Not settled: the messages are still leased (a fresh lease: the remaining time is not kept).
        for (const l of list) {
          this.leases.set(l.id, l);
          session.leases.add(l.id);
          this.arm(l);
        }
        throw err;
      }
      settled.push(...list.map((l) => l.id));
      this.metrics.settled(op, list.length);
      await this.maybeFinalise(session);
    }
    return { settled, unknown };
  }

  /** A long-lived consumer writing to `out` until `close()` (the client went away) or the broker cancels it. */
  async stream(
    base: ClientContext,
    queue: string,
    opts: StreamOptions,
    out: StreamOutput,
  ): Promise<StreamHandle> {
    const session = this.open(base, queue);
    let open = true;
    let pendingCredit = 0;
    let creditScheduled = false;
    let tag = "";
    const flushCredit = () => {
      creditScheduled = false;
      if (!open || pendingCredit === 0) return;
      const n = pendingCredit;
      pendingCredit = 0;
      this.broker.credit(session.ctx, CHANNEL, tag, n).catch((err: unknown) => {
        this.log.warn({ err, queue, conn: session.ctx.connection }, "credit failed");
      });
    };
    const sink: ConsumerSink = {
      deliver: (d) => {
        if (!open) return;
        this.metrics.delivered(1);
        if (!opts.autoAck) {
          out.message(this.lease(session, d, opts.leaseMs));
          return;
        }
        const ok = out.message({ deliveryId: undefined, delivery: d });
        pendingCredit += 1;
        if (creditScheduled) return;
        creditScheduled = true;
        // No-ack consumers get more only as deliveries reach the socket: grant after a drain.
        if (ok) setImmediate(flushCredit);
        else out.onDrain(flushCredit);
      },
      cancelled: (reason) => {
        if (open) out.cancelled(reason);
      },
    };
    tag = await this.broker.consume(
      session.ctx,
      {
        queue,
        channel: CHANNEL,
        consumerTag: "",
        prefetch: opts.prefetch,
        noAck: opts.autoAck,
        exclusive: false,
        arguments: {},
      },
      sink,
    );
    const handle: StreamHandle = {
      consumerTag: tag,
      close: async (closeOpts) => {
        if (!open) return;
        open = false;
        if (closeOpts?.end) out.end();
        this.streams.delete(handle);
        for (const id of session.leases) {
          const l = this.leases.get(id);
          if (l?.timer) clearTimeout(l.timer);
          this.leases.delete(id);
        }
        session.leases.clear();
        session.active = false;
        // Returns every unacked message of the stream to its queue and drops the consumer.
        await this.maybeFinalise(session);
      },
    };
    this.streams.add(handle);
    return handle;
  }

  /** Outstanding leases (for tests and metrics). */
  leaseCount(): number {
    return this.leases.size;
  }

  /** The door closes: long polls answer with nothing, streams end, leased messages return to their queues. */
  async close(): Promise<void> {
    this.closing = true;
    for (const finish of [...this.waiting]) finish();
    await Promise.allSettled([...this.running]);
    await Promise.all([...this.streams].map((s) => s.close({ end: true })));
    const sessions = new Set([...this.leases.values()].map((l) => l.session));
    for (const l of this.leases.values()) if (l.timer) clearTimeout(l.timer);
    this.leases.clear();
    await Promise.all(
      [...sessions].map((s) => {
        s.leases.clear();
        return this.maybeFinalise(s);
      }),
    );
  }
}
