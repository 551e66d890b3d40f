/**
 * RabbitMQ's message routes: `POST /api/exchanges/{vhost}/{name}/publish` (answered once every
 * target queue committed the message) and `POST /api/queues/{vhost}/{name}/get`.
 */
import type { FastifyInstance } from "fastify";
import type { GetResult, MessageId, SettleOp } from "../../broker/types.js";
import { vhostContext } from "../auth.js";
import { notFound } from "../errors.js";
import {
  decodePayload,
  exchangeFromPath,
  formatMessage,
  type JsonProperties,
  type PayloadEncoding,
  propertiesFromJson,
} from "../format.js";
import { authErrors, messageSchema, propertiesSchema, vhostNameParams } from "../schemas.js";
import type { RouteDeps } from "./deps.js";

interface PublishBody {
  routing_key: string;
  payload: string;
  payload_encoding?: "string" | "base64";
  properties?: JsonProperties;
  mandatory?: boolean;
}

type AckMode = "ack_requeue_true" | "ack_requeue_false" | "reject_requeue_true" | "reject_requeue_false";

interface GetBody {
  count?: number;
  ackmode: AckMode;
  encoding?: PayloadEncoding;
  truncate?: number;
}

/** How a get settles what it took. `ack_requeue_false` gets with no-ack: nothing to settle. */
const SETTLE_OF: Readonly<Record<AckMode, SettleOp | undefined>> = {
  ack_requeue_true: "requeue",
  reject_requeue_true: "requeue",
  ack_requeue_false: undefined,
  reject_requeue_false: "reject",
};

/** Most messages one get may take (RabbitMQ has no bound; an unbounded loop would hold the request). */
const MAX_GET_COUNT = 10_000;

export function messageRoutes(app: FastifyInstance, { broker, metrics }: RouteDeps): void {
  app.post(
    "/api/exchanges/:vhost/:name/publish",
    {
      config: { access: "management" },
      schema: {
        tags: ["messages"],
        summary: "Publish a message; answered once every target queue committed it",
        params: vhostNameParams,
        body: {
          type: "object",
          properties: {
            routing_key: { type: "string", maxLength: 255 },
            payload: { type: "string" },
            payload_encoding: { type: "string", enum: ["string", "base64"], default: "string" },
            properties: propertiesSchema,
            mandatory: { type: "boolean" },
          },
          required: ["routing_key", "payload"],
        },
        response: {
          200: {
            type: "object",
            properties: {
              routed: { type: "boolean" },
              rejected: {
                type: "boolean",
                description: "Warren: a target queue refused it (x-overflow reject-publish)",
              },
            },
            required: ["routed"],
          },
          413: authErrors[400],
          ...authErrors,
        },
      },
    },
    async (req) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      const body = req.body as PublishBody;
      const ctx = vhostContext(broker, req, vhost);
      const exchange = exchangeFromPath(name);
      if (!broker.getExchange(vhost, exchange)) throw notFound();
      broker.authorize(ctx, "write", { kind: "exchange", name: exchange });
      const payload = decodePayload(body.payload, body.payload_encoding ?? "string");
      try {
        const outcome = await broker.publish(ctx, {
          exchange,
          routingKey: body.routing_key,
          properties: propertiesFromJson(body.properties),
          body: payload,
          mandatory: body.mandatory ?? false,
          channel: 0,
        });
        metrics.published(outcome.kind);
        return outcome.kind === "rejected"
          ? { routed: false, rejected: true }
          : { routed: outcome.kind === "routed" };
      } catch (err) {
        metrics.published("failed");
        throw err;
      }
    },
  );

  app.post(
    "/api/queues/:vhost/:name/get",
    {
      config: { access: "management" },
      schema: {
        tags: ["messages"],
        summary: "Get messages (RabbitMQ's destructive-or-requeue get, for testing and tooling)",
        params: vhostNameParams,
        body: {
          type: "object",
          properties: {
            count: { type: "integer", minimum: 1, maximum: MAX_GET_COUNT, default: 1 },
            ackmode: { type: "string", enum: Object.keys(SETTLE_OF) },
            encoding: { type: "string", enum: ["auto", "base64"], default: "auto" },
            truncate: { type: "integer", minimum: 0 },
          },
          required: ["ackmode"],
        },
        response: { 200: { type: "array", items: messageSchema }, ...authErrors },
      },
    },
    async (req) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      const body = req.body as GetBody;
      const ctx = vhostContext(broker, req, vhost);
      broker.authorize(ctx, "read", { kind: "queue", name });
      const op = SETTLE_OF[body.ackmode];
      const noAck = op === undefined;
      const got: GetResult[] = [];
      let settled = noAck;
      try {
        // With requeue, RabbitMQ takes all `count` first and requeues at the end, so one get
        // never returns the same message twice.
        for (let i = 0; i < (body.count ?? 1); i++) {
          const r = await broker.get(ctx, 1, name, noAck);
          if (!r) break;
          got.push(r);
          if (r.messageCount === 0) break;
        }
        if (op !== undefined && got.length > 0) {
          const ids: MessageId[] = got.map((g) => g.id);
          await broker.settle(ctx, 1, name, op, ids);
          metrics.settled(op, ids.length);
        }
        settled = true;
      } finally {
        // A failure half-way: whatever this request still holds goes back to the queue.
        if (!settled && got.length > 0) await broker.channelClosed(ctx, 1).catch(() => undefined);
      }
      metrics.delivered(got.length);
      return got.map((g) => ({
        ...formatMessage(g, body.encoding ?? "auto", body.truncate),
        message_count: g.messageCount,
      }));
    },
  );
}
