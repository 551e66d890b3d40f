/**
 * basic.publish once its content is complete: direct reply-to addressing, then the broker's
 * publish, whose outcome becomes basic.return (mandatory, 312 NO_ROUTE) and the publisher
 * confirm (ack, or nack when a queue refused it or it could not commit: NO_QUORUM).
 *
 * The channel does not wait for the outcome (publishes are pipelined); the connection counts
 * unfinished publishes and stops reading its socket above a bound (connection.ts).
 */
import type { PublishOutcome } from "../../broker/types.js";
import { WarrenError } from "../../errors.js";
import type { MessageProperties } from "../../queue/types.js";
import type { AmqpChannel } from "../channel.js";
import type { Method } from "../codec/index.js";
import { preconditionFailed } from "../errors.js";
import { REPLY_TO_PREFIX, REPLY_TO_QUEUE } from "../reply-to.js";
import type { Content, HandlerMap } from "./types.js";

type Publish = Extract<Method, { name: "basic.publish" }>;

function withReplyTo(ch: AmqpChannel, properties: MessageProperties): MessageProperties {
  if (properties.replyTo !== REPLY_TO_QUEUE) return properties;
  const address = ch.conn.replyTo.addressOf(ch);
  if (address === undefined) throw preconditionFailed("fast reply consumer does not exist");
  return { ...properties, replyTo: address };
}

function finish(
  ch: AmqpChannel,
  m: Publish,
  content: Content,
  seq: number | undefined,
  outcome: PublishOutcome,
) {
  if (outcome.kind === "unroutable" && m.mandatory) {
    ch.sendContent(
      {
        name: "basic.return",
        replyCode: 312,
        replyText: "NO_ROUTE",
        exchange: m.exchange,
        routingKey: m.routingKey,
      },
      content.properties,
      content.body,
    );
  }
  if (seq !== undefined) ch.confirms?.settle(seq, outcome.kind === "rejected" ? "nack" : "ack");
}

export function publish(ch: AmqpChannel, m: Publish, content: Content): void {
  const seq = ch.confirms?.take();
  const properties = withReplyTo(ch, content.properties);
  const userId = properties.userId;
  if (userId !== undefined && userId !== ch.ctx.user) {
    // rabbit_channel:check_user_id_header
    throw preconditionFailed(
      `user_id property set to '${userId}' but authenticated user was '${ch.ctx.user}'`,
    );
  }
  const msg = { properties, body: content.body };
  if (m.exchange === "" && m.routingKey.startsWith(REPLY_TO_PREFIX)) {
    const routed = ch.conn.replyTo.route(m.routingKey, properties, content.body);
    finish(ch, m, msg, seq, routed ? { kind: "routed", queues: 1 } : { kind: "unroutable" });
    return;
  }
  const bytes = content.body.byteLength;
  ch.conn.publishStarted(bytes);
  ch.callStarted();
  // One reaction per publish (this is the hot path): the outcome, or the failure.
  ch.conn.broker
    .publish(ch.ctx, {
      exchange: m.exchange,
      routingKey: m.routingKey,
      properties,
      body: content.body,
      mandatory: m.mandatory,
      channel: ch.number,
    })
    .then(
      (outcome) => {
        ch.conn.publishDone(bytes);
        try {
          finish(ch, m, msg, seq, outcome);
        } catch (err) {
          ch.fail(err, "basic.publish");
        } finally {
          ch.callDone();
        }
      },
      (err: unknown) => {
        ch.conn.publishDone(bytes);
        ch.callDone();
        if (WarrenError.is(err, "NO_QUORUM")) {
          // Not committed in time: the publisher hears a nack and may retry; nothing was confirmed.
          ch.conn.log.warn({ err, conn: ch.conn.id, channel: ch.number }, "publish not committed");
          if (seq !== undefined) ch.confirms?.settle(seq, "nack");
          return;
        }
        ch.fail(err, "basic.publish");
      },
    );
}

export const publishHandlers: HandlerMap = {
  "basic.publish": (ch, m, content) => publish(ch, m, content ?? { properties: {}, body: new Uint8Array(0) }),
};
