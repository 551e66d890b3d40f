/**
 * The consume API beyond RabbitMQ (see consume-sessions.ts and docs/http-api.md):
 * - `POST /api/queues/{vhost}/{name}/consume` long-polls for up to `max` messages, each leased
 *   to the caller for `lease_ms` under an opaque `delivery_id`;
 * - `POST .../ack` and `POST .../nack` settle leased messages by delivery id;
 * - `GET .../consume/stream` streams deliveries as server-sent events, auto-acked or leased
 *   until acked through the same ack endpoint; closing the stream returns what is unacked.
 * All need the read permission on the queue.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ClientContext } from "../../broker/types.js";
import { vhostContext } from "../auth.js";
import type { Leased } from "../consume-sessions.js";
import { formatMessage, type PayloadEncoding } from "../format.js";
import { authErrors, messageSchema, vhostNameParams } from "../schemas.js";
import type { RouteDeps } from "./deps.js";

const MAX_BATCH = 1000;
const MAX_WAIT_MS = 60_000;
const MAX_LEASE_MS = 12 * 3600_000;
export const DEFAULT_LEASE_MS = 30_000;
/** SSE comment lines keep proxies from closing an idle stream. */
const KEEPALIVE_MS = 15_000;

const settleResponse = {
  200: {
    type: "object",
    properties: {
      settled: { type: "array", items: { type: "string" } },
      unknown: { type: "array", items: { type: "string" } },
    },
  },
  ...authErrors,
} as const;

const deliveryIds = {
  type: "array",
  items: { type: "string", minLength: 1 },
  minItems: 1,
  maxItems: MAX_BATCH,
} as const;

function leasedMessage(
  l: Leased | { deliveryId: undefined; delivery: Leased["delivery"] },
  encoding: PayloadEncoding,
) {
  return {
    ...(l.deliveryId !== undefined ? { delivery_id: l.deliveryId } : {}),
    delivery_count: l.delivery.deliveryCount,
    ...formatMessage(l.delivery, encoding, undefined),
  };
}

function queueContext(deps: RouteDeps, req: FastifyRequest): { ctx: ClientContext; name: string } {
  const { vhost, name } = req.params as { vhost: string; name: string };
  const ctx = vhostContext(deps.broker, req, vhost);
  deps.broker.authorize(ctx, "read", { kind: "queue", name });
  return { ctx, name };
}

/** Aborted when the client goes away before the response is written. */
function clientGone(reply: FastifyReply): AbortSignal {
  // The response's "close" (not the request's, which fires once its body was read) with the
  // response unfinished means the connection went away.
  const ac = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}

export function consumeRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { sessions } = deps;

  app.post(
    "/api/queues/:vhost/:name/consume",
    {
      config: { access: "management" },
      schema: {
        tags: ["consume"],
        summary: "Warren: long-poll for up to `max` messages, leased until acked/nacked or `lease_ms` passes",
        params: vhostNameParams,
        body: {
          type: "object",
          properties: {
            max: { type: "integer", minimum: 1, maximum: MAX_BATCH, default: 1 },
            wait_ms: { type: "integer", minimum: 0, maximum: MAX_WAIT_MS, default: 0 },
            lease_ms: { type: "integer", minimum: 1, maximum: MAX_LEASE_MS, default: DEFAULT_LEASE_MS },
            encoding: { type: "string", enum: ["auto", "base64"], default: "auto" },
          },
        },
        response: { 200: { type: "array", items: messageSchema }, ...authErrors },
      },
    },
    async (req, reply) => {
      const { ctx, name } = queueContext(deps, req);
      const body = (req.body ?? {}) as {
        max?: number;
        wait_ms?: number;
        lease_ms?: number;
        encoding?: PayloadEncoding;
      };
      const leased = await sessions.poll(ctx, name, {
        max: body.max ?? 1,
        waitMs: body.wait_ms ?? 0,
        leaseMs: body.lease_ms ?? DEFAULT_LEASE_MS,
        signal: clientGone(reply),
      });
      return leased.map((l) => leasedMessage(l, body.encoding ?? "auto"));
    },
  );

  for (const action of ["ack", "nack"] as const) {
    app.post(
      `/api/queues/:vhost/:name/${action}`,
      {
        config: { access: "management" },
        schema: {
          tags: ["consume"],
          summary:
            action === "ack"
              ? "Warren: acknowledge leased messages by delivery id"
              : "Warren: return (`requeue: true`, default) or reject (dead-letter) leased messages",
          params: vhostNameParams,
          body: {
            type: "object",
            properties: {
              delivery_ids: deliveryIds,
              ...(action === "nack" ? { requeue: { type: "boolean", default: true } } : {}),
            },
            required: ["delivery_ids"],
          },
          response: settleResponse,
        },
      },
      async (req) => {
        const { ctx, name } = queueContext(deps, req);
        const body = req.body as { delivery_ids: string[]; requeue?: boolean };
        const op = action === "ack" ? "ack" : body.requeue === false ? "reject" : "requeue";
        return sessions.settle(ctx, name, body.delivery_ids, op);
      },
    );
  }

  app.get(
    "/api/queues/:vhost/:name/consume/stream",
    {
      config: { access: "management" },
      schema: {
        tags: ["consume"],
        summary:
          "Warren: server-sent events, one `message` event per delivery, until the client closes the stream",
        params: vhostNameParams,
        querystring: {
          type: "object",
          properties: {
            ack: { type: "string", enum: ["manual", "auto"], default: "manual" },
            prefetch: { type: "integer", minimum: 1, maximum: MAX_BATCH, default: 100 },
            lease_ms: { type: "integer", minimum: 0, maximum: MAX_LEASE_MS, default: 0 },
            encoding: { type: "string", enum: ["auto", "base64"], default: "auto" },
          },
        },
        response: authErrors,
      },
    },
    async (req, reply) => {
      const { ctx, name } = queueContext(deps, req);
      const q = req.query as {
        ack?: "manual" | "auto";
        prefetch?: number;
        lease_ms?: number;
        encoding?: PayloadEncoding;
      };
      const encoding = q.encoding ?? "auto";
      const raw = reply.raw;
      let started = false;
      let endOnStart = false;
      const pending: string[] = [];
      const write = (chunk: string): boolean => {
        if (!started) {
          pending.push(chunk);
          return true;
        }
        return raw.writableEnded ? true : raw.write(chunk);
      };
      const handle = await sessions.stream(
        ctx,
        name,
        { prefetch: q.prefetch ?? 100, autoAck: q.ack === "auto", leaseMs: q.lease_ms ?? 0 },
        {
          message: (l) => {
            const data = JSON.stringify(leasedMessage(l, encoding));
            return write(
              `event: message\n${l.deliveryId !== undefined ? `id: ${l.deliveryId}\n` : ""}data: ${data}\n\n`,
            );
          },
          cancelled: (reason) => {
            write(`event: cancelled\ndata: ${JSON.stringify({ reason })}\n\n`);
            if (started) raw.end();
            else endOnStart = true;
          },
          onDrain: (cb) => raw.once("drain", cb),
          end: () => {
            if (started) raw.end();
            else endOnStart = true;
          },
        },
      );
      // From here on we own the socket: fastify must not send a reply of its own.
      reply.hijack();
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        connection: "keep-alive",
        "x-accel-buffering": "no",
      });
      raw.write(
        `event: consumer\ndata: ${JSON.stringify({ consumer_tag: handle.consumerTag, queue: name })}\n\n`,
      );
      started = true;
      for (const chunk of pending.splice(0)) raw.write(chunk);
      const keepalive = setInterval(() => write(": keepalive\n\n"), KEEPALIVE_MS);
      keepalive.unref();
      const finish = () => {
        clearInterval(keepalive);
        void handle.close();
      };
      raw.on("close", finish);
      raw.on("finish", finish);
      if (raw.destroyed) finish();
      if (endOnStart) raw.end();
    },
  );
}
