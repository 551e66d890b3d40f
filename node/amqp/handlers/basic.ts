/**
 * basic.* methods other than publish, and channel.flow / confirm.select / tx.*.
 *
 * Prefetch: basic.qos with global=false sets the limit of consumers created afterwards (RabbitMQ
 * 3.x's per_consumer_qos); global=true sets a limit over all the channel's consumers, enforced
 * here by holding deliveries beyond it (each consumer still asks its queue for at most its own
 * limit, so what is held stays bounded). A prefetch of 0 is RabbitMQ quorum queues' 2000.
 */
import { randomBytes } from "node:crypto";
import type { ConsumerSink, SettleOp } from "../../broker/types.js";
import { WarrenError } from "../../errors.js";
import type { AmqpChannel } from "../channel.js";
import { byQueue, type Unacked } from "../deliveries.js";
import { notImplemented, preconditionFailed } from "../errors.js";
import { REPLY_TO_QUEUE } from "../reply-to.js";
import { queueName } from "./exchange-queue.js";
import type { HandlerMap } from "./types.js";

/** rabbit_quorum_queue's ?UNLIMITED_PREFETCH_COUNT: what prefetch 0 means for a quorum queue. */
export const UNLIMITED_PREFETCH = 2000;

/**
 * How many written-but-not-yet-acked deliveries a no-ack consumer may have: with the socket's
 * high-water mark this bounds what a client that stops reading costs the node.
 */
export const NO_ACK_WINDOW = 500;

/** RabbitMQ's server-generated consumer tags: `amq.ctag-` + 22 url-safe characters. */
export function generateConsumerTag(): string {
  return `amq.ctag-${randomBytes(16).toString("base64url")}`;
}

/** Settled deliveries go to their queues in per-turn batches (not awaited by the channel). */
function settle(ch: AmqpChannel, items: readonly Unacked[], op: SettleOp, what: string): void {
  const one = items.length === 1 ? items[0] : undefined;
  if (one !== undefined) ch.settles.addOne(one.queue, op, one.id, what);
  else for (const [queue, ids] of byQueue(items)) ch.settles.add(queue, op, ids, what);
  if (ch.globalPrefetch > 0) ch.releaseHeld();
}

export const basicHandlers: HandlerMap = {
  "channel.flow": (ch, m) => {
    // RabbitMQ 3.x refuses a client's request to stop deliveries the same way.
    if (!m.active) throw notImplemented("active=false");
    ch.send({ name: "channel.flow-ok", active: true });
  },
  "channel.flow-ok": () => {},
  "confirm.select": (ch, m) => {
    ch.enableConfirms();
    if (!m.noWait) ch.send({ name: "confirm.select-ok" });
  },
  "tx.select": () => {
    throw notImplemented("transactions (tx.select) are not supported; use publisher confirms");
  },
  "tx.commit": () => {
    throw notImplemented("transactions (tx.commit) are not supported; use publisher confirms");
  },
  "tx.rollback": () => {
    throw notImplemented("transactions (tx.rollback) are not supported; use publisher confirms");
  },
  "basic.qos": (ch, m) => {
    if (m.prefetchSize !== 0) throw notImplemented(`prefetch_size!=0 (${m.prefetchSize})`);
    if (m.global) {
      ch.globalPrefetch = m.prefetchCount;
      ch.releaseHeld();
    } else ch.prefetch = m.prefetchCount;
    ch.send({ name: "basic.qos-ok" });
  },
  "basic.consume": async (ch, m) => {
    const tag = m.consumerTag === "" ? generateConsumerTag() : m.consumerTag;
    if (ch.consumers.has(tag)) throw new WarrenError("NOT_ALLOWED", `attempt to reuse consumer tag '${tag}'`);
    if (m.queue === REPLY_TO_QUEUE) {
      if (!m.noAck) throw preconditionFailed("reply consumer cannot acknowledge");
      if (ch.conn.replyTo.register(ch, tag) === undefined)
        throw preconditionFailed("reply consumer already set");
      ch.consumers.set(tag, { tag, queue: REPLY_TO_QUEUE, noAck: true, replyTo: true, autoAck: false });
      if (!m.noWait) ch.send({ name: "basic.consume-ok", consumerTag: tag });
      return;
    }
    const queue = queueName(ch, m.queue);
    const own =
      ch.prefetch > 0 ? ch.prefetch : ch.globalPrefetch > 0 ? ch.globalPrefetch : UNLIMITED_PREFETCH;
    const sink: ConsumerSink = {
      deliver: (d) => ch.deliver(d),
      cancelled: () => ch.consumerCancelled(tag),
    };
    // Registered before the broker call: the broker holds deliveries until consume resolves.
    ch.consumers.set(tag, { tag, queue, noAck: m.noAck, replyTo: false, autoAck: m.noAck });
    try {
      await ch.conn.broker.consume(
        ch.ctx,
        {
          queue,
          channel: ch.number,
          consumerTag: tag,
          // No-ack consumers are acking ones to the queue (auto-acked by the door once written),
          // so socket backpressure bounds them too.
          prefetch: m.noAck ? NO_ACK_WINDOW : own,
          noAck: false,
          exclusive: m.exclusive,
          arguments: m.arguments,
        },
        sink,
      );
    } catch (err) {
      ch.consumers.delete(tag);
      throw err;
    }
    if (!m.noWait) ch.send({ name: "basic.consume-ok", consumerTag: tag });
  },
  "basic.cancel": async (ch, m) => {
    const c = ch.consumers.get(m.consumerTag);
    ch.consumers.delete(m.consumerTag);
    if (c?.replyTo) ch.conn.replyTo.unregister(ch);
    else if (c !== undefined) {
      await ch.conn.broker.cancel(ch.ctx, ch.number, m.consumerTag);
      ch.requeueHeld(m.consumerTag);
    }
    if (!m.noWait) ch.send({ name: "basic.cancel-ok", consumerTag: m.consumerTag });
  },
  "basic.get": async (ch, m) => {
    const queue = queueName(ch, m.queue);
    const r = await ch.conn.broker.get(ch.ctx, ch.number, queue, m.noAck);
    if (r === undefined) {
      ch.send({ name: "basic.get-empty" });
      return;
    }
    const tag = ch.tags.add({ queue, id: r.id, consumerTag: "" }, !m.noAck);
    ch.sendContent(
      {
        name: "basic.get-ok",
        deliveryTag: tag,
        redelivered: r.redelivered,
        exchange: r.exchange,
        routingKey: r.routingKey,
        messageCount: r.messageCount,
      },
      r.properties,
      r.body,
    );
  },
  "basic.ack": (ch, m) => settle(ch, ch.tags.take(m.deliveryTag, m.multiple), "ack", "basic.ack"),
  "basic.nack": (ch, m) =>
    settle(ch, ch.tags.take(m.deliveryTag, m.multiple), m.requeue ? "requeue" : "reject", "basic.nack"),
  "basic.reject": (ch, m) =>
    settle(ch, ch.tags.take(m.deliveryTag, false), m.requeue ? "requeue" : "reject", "basic.reject"),
  "basic.recover": (ch, m) => {
    if (!m.requeue) throw notImplemented("requeue=false");
    settle(ch, ch.tags.takeAll(), "requeue", "basic.recover");
    ch.send({ name: "basic.recover-ok" });
  },
  "basic.recover-async": (ch, m) => {
    if (!m.requeue) throw notImplemented("requeue=false");
    settle(ch, ch.tags.takeAll(), "requeue", "basic.recover-async");
  },
};
