/**
 * The Broker's message operations: publish, consume, cancel, settle, credit, basic.get and the
 * end of channels and connections. Every queue command goes where the queue is led
 * (QueueGroups.execute); consumers are registered on this node (the connection's node) before
 * the checkout is proposed, so no delivery can arrive for an unknown consumer.
 *
 * Publisher identity (per-publisher order, publish-streams.ts): an AMQP channel is the
 * publisher `${connection}|${channel}`, as RabbitMQ orders per channel. HTTP publishes (no
 * channel) share one publisher per node, `${node}/publish.${boot}|0`: one request is one
 * message, so it needs no order of its own, and one shared id keeps the queues' publisher state
 * small (a per-request id would leave one entry per request behind); its retries are still
 * deduplicated, and requests a client sends one after another stay in order.
 */
import { WarrenError } from "../errors.js";
import type { QueueRecord } from "../meta/index.js";
import type { DownCommand, EnqueueCommand, QueueReply } from "../queue/index.js";
import { NO_ACK_WINDOW } from "../queue/index.js";
import { authorize } from "./auth.js";
import type { Backpressure } from "./backpressure.js";
import type { ConsumerEntry, Consumers } from "./consumers.js";
import { awaitRecovered, type BrokerContext } from "./context.js";
import { META_GROUP } from "./meta-client.js";
import { type Publisher, routingKeysOf, withoutBcc } from "./publish.js";
import type { QueueGroups } from "./queue-groups.js";
import type {
  ClientContext,
  ConsumeRequest,
  ConsumerSink,
  GetResult,
  MessageId,
  PublishOutcome,
  PublishRequest,
  SettleOp,
} from "./types.js";

/** Backoff of the retried release of a closed channel (see `down`). */
const DOWN_RETRY_FIRST_MS = 200;
const DOWN_RETRY_MAX_MS = 5_000;

/** A get reply as the leader (or home node) returns it: with the message's enqueue command. */
export type GetReplyWithBody = Extract<QueueReply, { type: "get" }> & { readonly enqueue?: EnqueueCommand };

export class Messaging {
  /** The publisher of requests without a channel (HTTP): see the file comment. */
  private readonly requestPublisher: string;
  /** Quorum queues each channel published to, by connection and channel: `down` forgets it there. */
  private readonly publishedTo = new Map<string, Map<number, Map<string, QueueRecord>>>();

  constructor(
    private readonly ctx: BrokerContext,
    private readonly queues: QueueGroups,
    private readonly consumers: Consumers,
    private readonly publisher: Publisher,
    private readonly backpressure: Backpressure,
  ) {
    this.requestPublisher = `${ctx.nodeId}/publish.${Date.now().toString(36)}|0`;
    ctx.forwarder.setRetrySafe((group, command) => group !== META_GROUP && retrySafe(command));
  }

  private get machine() {
    return this.ctx.meta.machine;
  }

  async publish(c: ClientContext, req: PublishRequest): Promise<PublishOutcome> {
    const max = this.ctx.settings.maxMessageSize;
    if (req.body.byteLength > max) {
      throw new WarrenError(
        "PRECONDITION_FAILED",
        `message size ${req.body.byteLength} is larger than configured max size ${max}`,
      );
    }
    const exchange = this.machine.accessExchange(c.vhost, req.exchange);
    authorize(this.machine, c, "write", { kind: "exchange", name: req.exchange });
    if (exchange.internal) {
      throw new WarrenError(
        "ACCESS_REFUSED",
        `cannot publish to internal exchange '${req.exchange}' in vhost '${c.vhost}'`,
      );
    }
    const keys = routingKeysOf(req.routingKey, req.properties.headers);
    const targets = this.publisher.route(c.vhost, req.exchange, keys, req.properties);
    if (targets.length === 0) return { kind: "unroutable" };
    const channel = req.channel ?? 0;
    if (channel > 0) this.notePublished(c.connection, channel, targets);
    const publisherId = channel > 0 ? `${c.connection}|${channel}` : this.requestPublisher;
    const acquired = this.backpressure.acquire(
      req.body.byteLength * targets.length,
      this.ctx.settings.proposalTimeoutMs,
    );
    const release = acquired instanceof Promise ? await acquired : acquired;
    try {
      return await this.publisher.enqueue(
        targets,
        {
          type: "enqueue",
          exchange: req.exchange,
          routingKeys: keys.slice(0, keys.length - bccCount(req.properties.headers)),
          properties: withoutBcc(req.properties),
          body: req.body,
        },
        publisherId,
      );
    } finally {
      release();
    }
  }

  async consume(c: ClientContext, req: ConsumeRequest, sink: ConsumerSink): Promise<string> {
    const record = this.machine.accessQueue(c.vhost, req.queue, c.connection);
    authorize(this.machine, c, "read", { kind: "queue", name: req.queue });
    await awaitRecovered(this.ctx);
    const tag = req.consumerTag === "" ? this.consumers.generateTag() : req.consumerTag;
    if (this.consumers.has(c.connection, req.channel, tag)) {
      throw new WarrenError("NOT_ALLOWED", `attempt to reuse consumer tag '${tag}'`);
    }
    // Deliveries may arrive before the checkout's reply: hold them until the caller has the tag.
    const held: Parameters<ConsumerSink["deliver"]>[0][] = [];
    let open = false;
    const gate: ConsumerSink = {
      deliver: (d) => (open ? sink.deliver(d) : held.push(d)),
      cancelled: (reason) => sink.cancelled(reason),
    };
    const entry: ConsumerEntry = {
      connection: c.connection,
      channel: req.channel,
      tag,
      vhost: c.vhost,
      queue: req.queue,
      incarnation: record.createdIndex,
      sink: gate,
      noAck: req.noAck,
      window: req.prefetch > 0 ? req.prefetch : NO_ACK_WINDOW,
      delivered: new Map(),
      sinceCredit: 0,
      cancelled: false,
    };
    this.consumers.add(entry);
    this.consumers.noteConsume(c.connection, req.channel, record);
    const raw = req.arguments["x-priority"];
    const priority = typeof raw === "bigint" ? Number(raw) : raw;
    let reply: QueueReply;
    try {
      reply = await this.queues.execute(record, {
        type: "checkout",
        consumer: { connection: c.connection, channel: req.channel, tag },
        prefetch: req.prefetch,
        noAck: req.noAck,
        exclusive: req.exclusive,
        ...(typeof priority === "number" ? { priority } : {}),
      });
    } catch (err) {
      this.consumers.remove(c.connection, req.channel, tag);
      if (WarrenError.is(err, "NO_QUORUM")) {
        // The checkout may still commit: cancel it behind, so the queue does not keep a consumer
        // nobody here knows (its messages would sit checked out until the channel closes).
        const consumer = { connection: c.connection, channel: req.channel, tag };
        this.queues.execute(record, { type: "cancel", consumer }).catch(() => undefined);
      }
      throw err;
    }
    if (reply.type === "error") {
      this.consumers.remove(c.connection, req.channel, tag);
      throw new WarrenError(reply.code, reply.message);
    }
    setImmediate(() => {
      open = true;
      for (const d of held.splice(0)) sink.deliver(d);
    });
    return tag;
  }

  async cancel(c: ClientContext, channel: number, tag: string): Promise<void> {
    const entry = this.consumers.remove(c.connection, channel, tag);
    if (entry === undefined) return;
    const record = this.machine.queue(entry.vhost, entry.queue);
    if (record === undefined || record.createdIndex !== entry.incarnation) return;
    await this.queues.execute(record, {
      type: "cancel",
      consumer: { connection: c.connection, channel, tag },
    });
  }

  async settle(
    c: ClientContext,
    channel: number,
    queue: string,
    op: SettleOp,
    ids: readonly MessageId[],
  ): Promise<void> {
    const record = this.machine.queue(c.vhost, queue);
    if (record === undefined || ids.length === 0) return;
    await this.queues.execute(record, { type: "settle", op, connection: c.connection, channel, ids });
    this.consumers.settled(c.connection, channel, record, ids);
  }

  async credit(c: ClientContext, channel: number, tag: string, credit: number): Promise<void> {
    const entry = this.consumers.get(c.connection, channel, tag);
    if (entry === undefined) return;
    await this.grant(entry, credit);
  }

  /** Grants a no-ack consumer more deliveries (also called by Consumers as they go out). */
  async grant(entry: ConsumerEntry, credit: number): Promise<void> {
    const record = this.machine.queue(entry.vhost, entry.queue);
    if (record === undefined || record.createdIndex !== entry.incarnation) return;
    await this.queues.execute(record, {
      type: "credit",
      consumer: { connection: entry.connection, channel: entry.channel, tag: entry.tag },
      credit,
    });
  }

  async get(
    c: ClientContext,
    channel: number,
    queue: string,
    noAck: boolean,
  ): Promise<GetResult | undefined> {
    const record = this.machine.accessQueue(c.vhost, queue, c.connection);
    authorize(this.machine, c, "read", { kind: "queue", name: queue });
    if (!noAck) {
      await awaitRecovered(this.ctx);
      this.consumers.noteGet(c.connection, channel, record);
    }
    const reply = (await this.queues.execute(record, {
      type: "get",
      connection: c.connection,
      channel,
      noAck,
    })) as GetReplyWithBody;
    if (reply.type !== "get" || reply.message === undefined) {
      if (!noAck) this.consumers.forgetIdle(c.connection, channel, record);
      return undefined;
    }
    const m = reply.message;
    if (!noAck) this.consumers.noteGet(c.connection, channel, record, m.id);
    const cmd = reply.enqueue;
    if (cmd === undefined)
      throw new WarrenError("INTERNAL_ERROR", `message ${m.id} of queue '${queue}' not found`);
    const properties =
      m.deliveryCount > 0
        ? {
            ...cmd.properties,
            headers: { ...(cmd.properties.headers ?? {}), "x-delivery-count": m.deliveryCount },
          }
        : cmd.properties;
    return {
      queue,
      id: m.id,
      consumerTag: "",
      redelivered: m.redelivered,
      deliveryCount: m.deliveryCount,
      exchange: cmd.exchange,
      routingKey: cmd.routingKeys[0] ?? "",
      properties,
      body: cmd.body,
      messageCount: m.messageCount,
    };
  }

  private notePublished(connection: string, channel: number, targets: readonly QueueRecord[]): void {
    let channels = this.publishedTo.get(connection);
    if (channels === undefined) {
      channels = new Map();
      this.publishedTo.set(connection, channels);
    }
    let queues = channels.get(channel);
    if (queues === undefined) {
      queues = new Map();
      channels.set(channel, queues);
    }
    for (const q of targets) if (q.type === "quorum") queues.set(`${q.vhost}\n${q.name}`, q);
  }

  async channelClosed(c: ClientContext, channel: number): Promise<void> {
    const used = this.consumers.closeChannel(c.connection, channel);
    // Every epoch this channel's publisher used so far is at most this; a reopened channel
    // number starts a higher one, which a late `down` must not forget.
    const command = {
      type: "down",
      connection: c.connection,
      channel,
      publishersUpToEpoch: this.publisher.streams.epoch,
    } as const;
    const channels = this.publishedTo.get(c.connection);
    const published = channels?.get(channel);
    channels?.delete(channel);
    if (channels?.size === 0) this.publishedTo.delete(c.connection);
    if (published !== undefined) {
      for (const q of used) published.delete(`${q.vhost}\n${q.name}`);
      // Only the queue's record of this publisher's order to tidy: nobody waits for it.
      for (const q of published.values()) {
        this.down(q, command).catch((err: unknown) =>
          this.ctx.logger.debug({ err, queue: q.name }, "publisher down failed"),
        );
      }
    }
    await Promise.all(used.map((q) => this.down(q, command)));
  }

  async connectionClosed(c: ClientContext): Promise<void> {
    const channels = new Set([
      ...this.consumers.channelsOf(c.connection),
      ...(this.publishedTo.get(c.connection)?.keys() ?? []),
    ]);
    await Promise.all([...channels].map((ch) => this.channelClosed(c, ch)));
    if (this.machine.queues({ owner: c.connection }).length > 0) {
      await this.ctx.meta.propose({ type: "connection.closed", connection: c.connection, user: c.user });
    }
  }

  /**
   * Releases a closed channel's hold on a queue: its consumers go and its unacked messages
   * return. This must not be best effort: a release that fails (no quorum, a frozen leader)
   * would leave the messages checked out to a channel that no longer exists for as long as this
   * node lives. So a failed release is retried in the background (after the caller hears of
   * the failure) until it commits, the queue is gone, the channel number is used again on this
   * node (its next close releases both uses at once), or the broker stops.
   */
  private async down(
    record: QueueRecord,
    command: DownCommand & { readonly channel: number },
    attempt = 0,
  ): Promise<void> {
    const current = this.machine.queue(record.vhost, record.name);
    if (current === undefined || current.createdIndex !== record.createdIndex) return;
    try {
      await this.queues.execute(current, command);
      if (attempt > 0)
        this.ctx.logger.info({ queue: record.name, conn: command.connection, attempt }, "channel released");
    } catch (err) {
      if (WarrenError.is(err, "NOT_FOUND")) return;
      const delay = Math.min(DOWN_RETRY_MAX_MS, DOWN_RETRY_FIRST_MS * 2 ** attempt);
      const retry = setTimeout(() => {
        if (this.ctx.stopped) return;
        if (this.consumers.channelsOf(command.connection).includes(command.channel)) return;
        this.down(record, command, attempt + 1).catch((e: unknown) =>
          this.ctx.logger.debug(
            { err: e, queue: record.name, conn: command.connection },
            "channel release failed",
          ),
        );
      }, delay);
      retry.unref();
      throw err;
    }
  }
}

/**
 * Queue commands whose second run changes nothing, so the forwarder may resend them to a new
 * leader while the first attempt is unanswered (it may still commit). An ack or a reject only
 * settles messages checked out to that channel, and a settled message never is again (a reject
 * dead-letters it); a `dead-letter-settled` only finishes messages still dead-lettering. Not so
 * a requeue (the message may meanwhile be redelivered to the same channel and requeued twice),
 * credit (adds up), cancel and down (a new consumer of the same tag or channel may have come),
 * get, purge, checkout and enqueues (publish-streams.ts resends those by sequence number).
 */
function retrySafe(command: unknown): boolean {
  const c = command as { type?: unknown; op?: unknown } | null;
  if (c?.type === "settle") return c.op === "ack" || c.op === "reject";
  return c?.type === "dead-letter-settled";
}

function bccCount(headers: Record<string, unknown> | undefined): number {
  const v = headers?.BCC;
  return Array.isArray(v) ? v.filter((k) => typeof k === "string" || k instanceof Uint8Array).length : 0;
}
