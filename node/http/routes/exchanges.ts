/**
 * `/api/exchanges`: list, read, declare (PUT), delete. The default exchange is `amq.default` in
 * paths. Declaring and deleting need the configure permission on the exchange (RabbitMQ's rule).
 */
import type { FastifyInstance } from "fastify";
import { vhostContext, visibleVhosts } from "../auth.js";
import { notFound } from "../errors.js";
import { exchangeFromPath, formatExchange } from "../format.js";
import {
  argumentsSchema,
  authErrors,
  emptyResponse,
  exchangeSchema,
  vhostNameParams,
  vhostParams,
} from "../schemas.js";
import { createdOrNoContent, flag, type RouteDeps } from "./deps.js";

interface ExchangeBody {
  type: string;
  durable?: boolean;
  auto_delete?: boolean;
  internal?: boolean;
  arguments?: Record<string, unknown>;
}

export function exchangeRoutes(app: FastifyInstance, { broker }: RouteDeps): void {
  const list = { 200: { type: "array", items: exchangeSchema }, ...authErrors } as const;

  app.get(
    "/api/exchanges",
    {
      config: { access: "management" },
      schema: { tags: ["exchanges"], summary: "All exchanges", response: list },
    },
    async (req) => {
      const visible = visibleVhosts(broker, req);
      return broker
        .listExchanges()
        .filter((x) => visible.has(x.vhost))
        .map(formatExchange);
    },
  );

  app.get(
    "/api/exchanges/:vhost",
    {
      config: { access: "management" },
      schema: { tags: ["exchanges"], summary: "Exchanges of a vhost", params: vhostParams, response: list },
    },
    async (req) => {
      const { vhost } = req.params as { vhost: string };
      vhostContext(broker, req, vhost);
      return broker.listExchanges(vhost).map(formatExchange);
    },
  );

  app.get(
    "/api/exchanges/:vhost/:name",
    {
      config: { access: "management" },
      schema: {
        tags: ["exchanges"],
        summary: "One exchange (`amq.default` is the default exchange)",
        params: vhostNameParams,
        response: { 200: exchangeSchema, ...authErrors },
      },
    },
    async (req) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      vhostContext(broker, req, vhost);
      const x = broker.getExchange(vhost, exchangeFromPath(name));
      if (!x) throw notFound();
      return formatExchange(x);
    },
  );

  app.put(
    "/api/exchanges/:vhost/:name",
    {
      config: { access: "management" },
      schema: {
        tags: ["exchanges"],
        summary:
          "Declare an exchange: 201 when created, 204 when an equivalent one exists, 400 when inequivalent",
        params: vhostNameParams,
        body: {
          type: "object",
          properties: {
            type: { type: "string", minLength: 1 },
            durable: { type: "boolean", default: true },
            auto_delete: { type: "boolean", default: false },
            internal: { type: "boolean", default: false },
            arguments: argumentsSchema,
          },
          required: ["type"],
        },
        response: { 201: emptyResponse, 204: emptyResponse, ...authErrors },
      },
    },
    async (req, reply) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      const body = req.body as ExchangeBody;
      const ctx = vhostContext(broker, req, vhost);
      const exchange = exchangeFromPath(name);
      broker.authorize(ctx, "configure", { kind: "exchange", name: exchange });
      const existed = broker.getExchange(vhost, exchange) !== undefined;
      await broker.declareExchange(ctx, {
        name: exchange,
        type: body.type,
        passive: false,
        durable: body.durable ?? true,
        autoDelete: body.auto_delete ?? false,
        internal: body.internal ?? false,
        arguments: body.arguments ?? {},
      });
      return reply.code(createdOrNoContent(existed)).send();
    },
  );

  app.delete(
    "/api/exchanges/:vhost/:name",
    {
      config: { access: "management" },
      schema: {
        tags: ["exchanges"],
        summary: "Delete an exchange (`if-unused=true`: only when it has no bindings as source)",
        params: vhostNameParams,
        querystring: { type: "object", properties: { "if-unused": { type: "boolean" } } },
        response: { 204: emptyResponse, ...authErrors },
      },
    },
    async (req, reply) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      const ctx = vhostContext(broker, req, vhost);
      const exchange = exchangeFromPath(name);
      if (!broker.getExchange(vhost, exchange)) throw notFound();
      broker.authorize(ctx, "configure", { kind: "exchange", name: exchange });
      await broker.deleteExchange(ctx, exchange, {
        ifUnused: flag((req.query as Record<string, unknown>)["if-unused"]),
      });
      return reply.code(204).send();
    },
  );
}
