/**
 * Direct reply-to (RabbitMQ's `amq.rabbitmq.reply-to`): an RPC client consumes from the
 * pseudo-queue with no-ack and publishes requests with `reply_to: amq.rabbitmq.reply-to`; the
 * door rewrites that to `amq.rabbitmq.reply-to.<token>`, and a reply published to the default
 * exchange with that routing key goes straight to the client's channel, never through a queue.
 *
 * The token names the requester's node and channel. A reply published through another node
 * crosses to the requester's node on the transport's `amqp.reply-to` channel (when the server
 * was given the transport); a reply for a token no consumer owns is unroutable.
 */
import { randomBytes } from "node:crypto";
import type { MessageProperties } from "../queue/types.js";
import type { AmqpChannel } from "./channel.js";

/** The part of the node transport direct reply-to uses (raft/transport's Transport fits). */
export interface ReplyTransport {
  on(channel: string, handler: (from: string, payload: unknown) => void): void;
  send(to: string, channel: string, payload: unknown): boolean;
}

export const REPLY_CHANNEL = "amqp.reply-to";

interface ReplyFrame {
  readonly routingKey: string;
  readonly properties: MessageProperties;
  readonly body: Uint8Array;
}

export const REPLY_TO_QUEUE = "amq.rabbitmq.reply-to";
export const REPLY_TO_PREFIX = "amq.rabbitmq.reply-to.";

interface ReplyConsumer {
  readonly channel: AmqpChannel;
  readonly tag: string;
}

export class ReplyTo {
  private readonly byToken = new Map<string, ReplyConsumer>();
  private readonly tokenOf = new Map<AmqpChannel, string>();
  private readonly nodePart: string;

  constructor(
    private readonly nodeId: string,
    private readonly transport?: ReplyTransport,
  ) {
    this.nodePart = Buffer.from(nodeId, "utf8").toString("base64url");
    transport?.on(REPLY_CHANNEL, (_from, payload) => {
      const f = payload as ReplyFrame;
      if (typeof f?.routingKey !== "string" || !(f.body instanceof Uint8Array)) return;
      try {
        this.deliverHere(f.routingKey, f.properties ?? {}, f.body);
      } catch {
        // A reply that cannot be written (its channel is failing) is dropped, as RabbitMQ drops it.
      }
    });
  }

  /** Registers a channel's reply consumer; undefined if the channel already has one. */
  register(channel: AmqpChannel, tag: string): string | undefined {
    if (this.tokenOf.has(channel)) return undefined;
    const token = `${this.nodePart}.${randomBytes(18).toString("base64url")}`;
    this.byToken.set(token, { channel, tag });
    this.tokenOf.set(channel, token);
    return token;
  }

  /** The reply-to address of the channel's reply consumer, if it has one. */
  addressOf(channel: AmqpChannel): string | undefined {
    const token = this.tokenOf.get(channel);
    return token === undefined ? undefined : `${REPLY_TO_PREFIX}${token}`;
  }

  /**
   * Routes a reply (default exchange, key `amq.rabbitmq.reply-to.<token>`): delivered here,
   * forwarded to the requester's node, or false when no consumer can own the token.
   */
  route(routingKey: string, properties: MessageProperties, body: Uint8Array): boolean {
    const token = routingKey.slice(REPLY_TO_PREFIX.length);
    const dot = token.indexOf(".");
    const node = dot < 0 ? undefined : Buffer.from(token.slice(0, dot), "base64url").toString("utf8");
    if (node === undefined || node === this.nodeId || this.transport === undefined) {
      return this.deliverHere(routingKey, properties, body);
    }
    const frame: ReplyFrame = { routingKey, properties, body };
    return this.transport.send(node, REPLY_CHANNEL, frame);
  }

  private deliverHere(routingKey: string, properties: MessageProperties, body: Uint8Array): boolean {
    const target = this.byToken.get(routingKey.slice(REPLY_TO_PREFIX.length));
    if (target === undefined) return false;
    target.channel.deliver({
      queue: REPLY_TO_QUEUE,
      id: 0,
      consumerTag: target.tag,
      redelivered: false,
      deliveryCount: 0,
      exchange: "",
      routingKey,
      properties,
      body,
    });
    return true;
  }

  unregister(channel: AmqpChannel): void {
    const token = this.tokenOf.get(channel);
    if (token === undefined) return;
    this.tokenOf.delete(channel);
    this.byToken.delete(token);
  }
}
