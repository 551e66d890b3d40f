/**
 * Direct reply-to (RabbitMQ's `amq.rabbitmq.reply-to`): an RPC client consumes from the
 * pseudo-queue with no-ack and publishes requests with `reply_to: amq.rabbitmq.reply-to`; the
 * door rewrites that to `amq.rabbitmq.reply-to.<token>`, and a reply published to the default
 * exchange with that routing key goes straight to the client's channel, never through a queue.
 *
 * The token names a channel of THIS node: replies must be published through the node the
 * requester is connected to (see docs/amqp.md); a reply for an unknown token is unroutable.
 */
import { randomBytes } from "node:crypto";
import type { AmqpChannel } from "./channel.js";

export const REPLY_TO_QUEUE = "amq.rabbitmq.reply-to";
export const REPLY_TO_PREFIX = "amq.rabbitmq.reply-to.";

interface ReplyConsumer {
  readonly channel: AmqpChannel;
  readonly tag: string;
}

export class ReplyTo {
  private readonly byToken = new Map<string, ReplyConsumer>();
  private readonly tokenOf = new Map<AmqpChannel, string>();

  /** Registers a channel's reply consumer; undefined if the channel already has one. */
  register(channel: AmqpChannel, tag: string): string | undefined {
    if (this.tokenOf.has(channel)) return undefined;
    const token = randomBytes(18).toString("base64url");
    this.byToken.set(token, { channel, tag });
    this.tokenOf.set(channel, token);
    return token;
  }

  /** The reply-to address of the channel's reply consumer, if it has one. */
  addressOf(channel: AmqpChannel): string | undefined {
    const token = this.tokenOf.get(channel);
    return token === undefined ? undefined : `${REPLY_TO_PREFIX}${token}`;
  }

  lookup(routingKey: string): ReplyConsumer | undefined {
    if (!routingKey.startsWith(REPLY_TO_PREFIX)) return undefined;
    return this.byToken.get(routingKey.slice(REPLY_TO_PREFIX.length));
  }

  unregister(channel: AmqpChannel): void {
    const token = this.tokenOf.get(channel);
    if (token === undefined) return;
    this.tokenOf.delete(channel);
    this.byToken.delete(token);
  }
}
