/**
 * `/api/overview`, `/api/nodes`, and the unauthenticated process endpoints `/health`, `/ready`
 * and `/metrics`.
 */
import type { FastifyInstance } from "fastify";
import { seesAllVhosts, visibleVhosts } from "../auth.js";
import { formatNode } from "../format.js";
import { authErrors } from "../schemas.js";
import type { RouteDeps } from "./deps.js";

/** The RabbitMQ version whose management API Warren follows (tools check it). */
export const RABBITMQ_COMPAT_VERSION = "3.13.0";
export const WARREN_VERSION = "0.1.0";

const nodeSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    type: { type: "string" },
    running: { type: "boolean" },
    uptime: { type: "integer" },
    raft_listener: { type: "string" },
    amqp_listener: { type: ["string", "null"] },
    http_listener: { type: ["string", "null"] },
    leader_of: { type: "integer" },
  },
} as const;

const totals = (props: readonly string[]) =>
  ({ type: "object", properties: Object.fromEntries(props.map((p) => [p, { type: "integer" }])) }) as const;

export function overviewRoutes(app: FastifyInstance, { broker, metrics }: RouteDeps): void {
  app.get(
    "/api/overview",
    {
      config: { access: "management" },
      schema: {
        tags: ["cluster"],
        summary: "Versions, this node, object and message totals (over the vhosts the user sees)",
        response: {
          200: {
            type: "object",
            properties: {
              management_version: { type: "string" },
              rabbitmq_version: { type: "string" },
              product_name: { type: "string" },
              product_version: { type: "string" },
              cluster_name: { type: "string" },
              node: { type: "string" },
              object_totals: totals(["connections", "channels", "exchanges", "queues", "consumers"]),
              queue_totals: totals(["messages", "messages_ready", "messages_unacknowledged"]),
            },
          },
          ...authErrors,
        },
      },
    },
    async (req) => {
      const visible = visibleVhosts(broker, req);
      const queues = (await broker.listQueues()).filter((q) => visible.has(q.record.vhost));
      const sum = (f: (q: (typeof queues)[number]) => number) => queues.reduce((n, q) => n + f(q), 0);
      return {
        management_version: RABBITMQ_COMPAT_VERSION,
        rabbitmq_version: RABBITMQ_COMPAT_VERSION,
        product_name: "Warren",
        product_version: WARREN_VERSION,
        cluster_name: "warren",
        node: broker.nodeId,
        object_totals: {
          connections: 0,
          channels: 0,
          exchanges: broker.listExchanges().filter((x) => visible.has(x.vhost)).length,
          queues: queues.length,
          consumers: sum((q) => q.consumers),
        },
        queue_totals: {
          messages: sum((q) => q.messages),
          messages_ready: sum((q) => q.messagesReady),
          messages_unacknowledged: sum((q) => q.messagesUnacknowledged),
        },
      };
    },
  );

  app.get(
    "/api/nodes",
    {
      config: { access: "management" },
      schema: {
        tags: ["cluster"],
        summary: "Cluster nodes (monitoring or administrator tag)",
        response: { 200: { type: "array", items: nodeSchema }, ...authErrors },
      },
    },
    async (req) => {
      // RabbitMQ shows nodes to monitoring users only; management users get an empty list.
      if (!req.user || !seesAllVhosts(req.user)) return [];
      return (await broker.listNodes()).map(formatNode);
    },
  );

  app.get(
    "/health",
    {
      config: { access: "none" },
      schema: {
        tags: ["process"],
        summary: "The process is up (no auth)",
        response: {
          200: { type: "object", properties: { status: { type: "string" }, node: { type: "string" } } },
        },
      },
    },
    async () => ({ status: "ok", node: broker.nodeId }),
  );

  app.get(
    "/ready",
    {
      config: { access: "none" },
      schema: {
        tags: ["process"],
        summary: "200 when the node is in a quorum with its metadata caught up, else 503 (no auth)",
        response: {
          200: { type: "object", properties: { status: { type: "string" }, node: { type: "string" } } },
          503: { type: "object", properties: { status: { type: "string" }, node: { type: "string" } } },
        },
      },
    },
    async (_req, reply) => {
      const ready = broker.isReady();
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? "ready" : "not_ready", node: broker.nodeId });
    },
  );

  app.get(
    "/metrics",
    {
      config: { access: "none" },
      schema: { tags: ["process"], summary: "Prometheus metrics (text exposition format, no auth)" },
    },
    async (_req, reply) => {
      const { contentType, body } = await metrics.render();
      return reply.type(contentType).send(body);
    },
  );
}
