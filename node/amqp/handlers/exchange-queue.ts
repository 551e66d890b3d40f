/**
 * exchange.* and queue.* methods: straight to the broker (which raises RabbitMQ's errors), with
 * the protocol's shortcuts handled here: queue "" means the channel's last declared queue, and a
 * queue.bind with queue "" and routing key "" binds that queue by its own name.
 */
import { WarrenError } from "../../errors.js";
import type { AmqpChannel } from "../channel.js";
import { REPLY_TO_QUEUE } from "../reply-to.js";
import type { HandlerMap } from "./types.js";

/** `""` names the last queue declared on the channel (rabbit_channel:expand_queue_name_shortcut). */
export function queueName(ch: AmqpChannel, name: string): string {
  if (name !== "") return name;
  if (ch.lastQueue === undefined) throw new WarrenError("NOT_FOUND", "no previously declared queue");
  return ch.lastQueue;
}

export const exchangeQueueHandlers: HandlerMap = {
  "exchange.declare": async (ch, m) => {
    await ch.conn.broker.declareExchange(ch.ctx, {
      name: m.exchange,
      type: m.type,
      passive: m.passive,
      durable: m.durable,
      autoDelete: m.autoDelete,
      internal: m.internal,
      arguments: m.arguments,
    });
    if (!m.noWait) ch.send({ name: "exchange.declare-ok" });
  },
  "exchange.delete": async (ch, m) => {
    await ch.conn.broker.deleteExchange(ch.ctx, m.exchange, { ifUnused: m.ifUnused });
    if (!m.noWait) ch.send({ name: "exchange.delete-ok" });
  },
  "exchange.bind": async (ch, m) => {
    await ch.conn.broker.bind(ch.ctx, {
      source: m.source,
      destinationKind: "exchange",
      destination: m.destination,
      routingKey: m.routingKey,
      arguments: m.arguments,
    });
    if (!m.noWait) ch.send({ name: "exchange.bind-ok" });
  },
  "exchange.unbind": async (ch, m) => {
    await ch.conn.broker.unbind(ch.ctx, {
      source: m.source,
      destinationKind: "exchange",
      destination: m.destination,
      routingKey: m.routingKey,
      arguments: m.arguments,
    });
    if (!m.noWait) ch.send({ name: "exchange.unbind-ok" });
  },
  "queue.declare": async (ch, m) => {
    if (m.queue === REPLY_TO_QUEUE && m.passive) {
      // RabbitMQ answers a passive declare of the pseudo-queue (clients probe it).
      ch.send({ name: "queue.declare-ok", queue: REPLY_TO_QUEUE, messageCount: 0, consumerCount: 0 });
      return;
    }
    const r = await ch.conn.broker.declareQueue(ch.ctx, {
      name: m.queue,
      passive: m.passive,
      durable: m.durable,
      exclusive: m.exclusive,
      autoDelete: m.autoDelete,
      arguments: m.arguments,
    });
    ch.lastQueue = r.queue.name;
    if (!m.noWait) {
      ch.send({
        name: "queue.declare-ok",
        queue: r.queue.name,
        messageCount: r.messageCount,
        consumerCount: r.consumerCount,
      });
    }
  },
  "queue.bind": async (ch, m) => {
    const queue = queueName(ch, m.queue);
    const routingKey = m.queue === "" && m.routingKey === "" ? queue : m.routingKey;
    await ch.conn.broker.bind(ch.ctx, {
      source: m.exchange,
      destinationKind: "queue",
      destination: queue,
      routingKey,
      arguments: m.arguments,
    });
    if (!m.noWait) ch.send({ name: "queue.bind-ok" });
  },
  "queue.unbind": async (ch, m) => {
    const queue = queueName(ch, m.queue);
    const routingKey = m.queue === "" && m.routingKey === "" ? queue : m.routingKey;
    await ch.conn.broker.unbind(ch.ctx, {
      source: m.exchange,
      destinationKind: "queue",
      destination: queue,
      routingKey,
      arguments: m.arguments,
    });
    ch.send({ name: "queue.unbind-ok" });
  },
  "queue.purge": async (ch, m) => {
    const n = await ch.conn.broker.purgeQueue(ch.ctx, queueName(ch, m.queue));
    if (!m.noWait) ch.send({ name: "queue.purge-ok", messageCount: n });
  },
  "queue.delete": async (ch, m) => {
    const n = await ch.conn.broker.deleteQueue(ch.ctx, queueName(ch, m.queue), {
      ifUnused: m.ifUnused,
      ifEmpty: m.ifEmpty,
    });
    if (!m.noWait) ch.send({ name: "queue.delete-ok", messageCount: n });
  },
};
