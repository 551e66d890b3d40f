/**
 * `/api/queues`: list, read (with live figures from each queue's leader), declare (PUT), delete,
 * purge. Declaring and deleting need configure on the queue; purging needs read (RabbitMQ's rules).
 */
import type { FastifyInstance } from "fastify";
import { vhostContext, visibleVhosts } from "../auth.js";
import { notFound } from "../errors.js";
import { formatQueue } from "../format.js";
import {
  argumentsSchema,
  authErrors,
  emptyResponse,
  queueSchema,
  vhostNameParams,
  vhostParams,
} from "../schemas.js";
import { createdOrNoContent, flag, type RouteDeps } from "./deps.js";

interface QueueBody {
  durable?: boolean;
  auto_delete?: boolean;
  arguments?: Record<string, unknown>;
  node?: string;
}

export function queueRoutes(app: FastifyInstance, { broker }: RouteDeps): void {
  const list = { 200: { type: "array", items: queueSchema }, ...authErrors } as const;

  app.get(
    "/api/queues",
    { config: { access: "management" }, schema: { tags: ["queues"], summary: "All queues", response: list } },
    async (req) => {
      const visible = visibleVhosts(broker, req);
      return (await broker.listQueues()).filter((q) => visible.has(q.record.vhost)).map(formatQueue);
    },
  );

  app.get(
    "/api/queues/:vhost",
    {
      config: { access: "management" },
      schema: { tags: ["queues"], summary: "Queues of a vhost", params: vhostParams, response: list },
    },
    async (req) => {
      const { vhost } = req.params as { vhost: string };
      vhostContext(broker, req, vhost);
      return (await broker.listQueues(vhost)).map(formatQueue);
    },
  );

  app.get(
    "/api/queues/:vhost/:name",
    {
      config: { access: "management" },
      schema: {
        tags: ["queues"],
        summary: "One queue with its message counts, consumers, Raft leader and members",
        params: vhostNameParams,
        response: { 200: queueSchema, ...authErrors },
      },
    },
    async (req) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      vhostContext(broker, req, vhost);
      const q = await broker.getQueue(vhost, name);
      if (!q) throw notFound();
      return formatQueue(q);
    },
  );

  app.put(
    "/api/queues/:vhost/:name",
    {
      config: { access: "management" },
      schema: {
        tags: ["queues"],
        summary:
          "Declare a queue: 201 when created, 204 when an equivalent one exists, 400 when inequivalent. Durable queues are quorum queues.",
        params: vhostNameParams,
        body: {
          type: "object",
          properties: {
            durable: { type: "boolean", default: true },
            auto_delete: { type: "boolean", default: false },
            arguments: argumentsSchema,
            node: { type: "string", description: "Accepted and ignored: placement chooses the replicas" },
          },
        },
        response: { 201: emptyResponse, 204: emptyResponse, ...authErrors },
      },
    },
    async (req, reply) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      const body = (req.body ?? {}) as QueueBody;
      const ctx = vhostContext(broker, req, vhost);
      broker.authorize(ctx, "configure", { kind: "queue", name });
      const existed = (await broker.getQueue(vhost, name)) !== undefined;
      await broker.declareQueue(ctx, {
        name,
        passive: false,
        durable: body.durable ?? true,
        exclusive: false,
        autoDelete: body.auto_delete ?? false,
        arguments: body.arguments ?? {},
      });
      return reply.code(createdOrNoContent(existed)).send();
    },
  );

  app.delete(
    "/api/queues/:vhost/:name",
    {
      config: { access: "management" },
      schema: {
        tags: ["queues"],
        summary: "Delete a queue (`if-unused=true`, `if-empty=true` as RabbitMQ)",
        params: vhostNameParams,
        querystring: {
          type: "object",
          properties: { "if-unused": { type: "boolean" }, "if-empty": { type: "boolean" } },
        },
        response: { 204: emptyResponse, ...authErrors },
      },
    },
    async (req, reply) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      const query = req.query as Record<string, unknown>;
      const ctx = vhostContext(broker, req, vhost);
      broker.authorize(ctx, "configure", { kind: "queue", name });
      // AMQP's queue.delete of a missing queue succeeds; the management API says 404.
      if (!(await broker.getQueue(vhost, name))) throw notFound();
      await broker.deleteQueue(ctx, name, {
        ifUnused: flag(query["if-unused"]),
        ifEmpty: flag(query["if-empty"]),
      });
      return reply.code(204).send();
    },
  );

  app.delete(
    "/api/queues/:vhost/:name/contents",
    {
      config: { access: "management" },
      schema: {
        tags: ["queues"],
        summary: "Purge: remove the queue's ready messages",
        params: vhostNameParams,
        response: { 204: emptyResponse, ...authErrors },
      },
    },
    async (req, reply) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      const ctx = vhostContext(broker, req, vhost);
      broker.authorize(ctx, "read", { kind: "queue", name });
      await broker.purgeQueue(ctx, name);
      return reply.code(204).send();
    },
  );
}
