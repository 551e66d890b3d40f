/**
 * `/api/whoami` and `/api/vhosts`. Reading needs `management` (each user sees the vhosts it may
 * use); creating and deleting vhosts needs `administrator`, as in RabbitMQ.
 */
import type { FastifyInstance } from "fastify";
import { visibleVhosts } from "../auth.js";
import { notFound } from "../errors.js";
import { formatVhost, parseTags } from "../format.js";
import { authErrors, emptyResponse, stringOrList, vhostSchema } from "../schemas.js";
import { createdOrNoContent, type RouteDeps } from "./deps.js";

const vhostPathParams = {
  type: "object",
  properties: { vhost: { type: "string", minLength: 1 } },
  required: ["vhost"],
} as const;

const writeResponses = { 201: emptyResponse, 204: emptyResponse, ...authErrors } as const;

export function vhostRoutes(app: FastifyInstance, { broker }: RouteDeps): void {
  app.get(
    "/api/whoami",
    {
      config: { access: "management" },
      schema: {
        tags: ["users"],
        summary: "The authenticated user",
        response: {
          200: {
            type: "object",
            properties: { name: { type: "string" }, tags: { type: "array", items: { type: "string" } } },
          },
          ...authErrors,
        },
      },
    },
    async (req) => ({ name: req.user?.name ?? "", tags: [...(req.user?.tags ?? [])] }),
  );

  // --- vhosts ---
  app.get(
    "/api/vhosts",
    {
      config: { access: "management" },
      schema: {
        tags: ["vhosts"],
        summary: "Virtual hosts the user may see",
        response: { 200: { type: "array", items: vhostSchema }, ...authErrors },
      },
    },
    async (req) => {
      const visible = visibleVhosts(broker, req);
      return broker
        .listVhosts()
        .filter((v) => visible.has(v.name))
        .map(formatVhost);
    },
  );

  app.get(
    "/api/vhosts/:vhost",
    {
      config: { access: "management" },
      schema: {
        tags: ["vhosts"],
        summary: "One virtual host",
        params: vhostPathParams,
        response: { 200: vhostSchema, ...authErrors },
      },
    },
    async (req) => {
      const { vhost } = req.params as { vhost: string };
      const v = broker.listVhosts().find((x) => x.name === vhost);
      if (!v || !visibleVhosts(broker, req).has(vhost)) throw notFound();
      return formatVhost(v);
    },
  );

  app.put(
    "/api/vhosts/:vhost",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["vhosts"],
        summary: "Create a virtual host (201) or leave an existing one (204)",
        params: vhostPathParams,
        body: {
          type: "object",
          properties: { description: { type: "string" }, tags: stringOrList },
        },
        response: writeResponses,
      },
    },
    async (req, reply) => {
      const { vhost } = req.params as { vhost: string };
      const body = (req.body ?? {}) as { description?: string; tags?: string | string[] };
      const existed = broker.listVhosts().some((v) => v.name === vhost);
      await broker.createVhost(req.user?.name ?? "", vhost, {
        ...(body.description !== undefined ? { description: body.description } : {}),
        ...(body.tags !== undefined ? { tags: parseTags(body.tags) } : {}),
      });
      return reply.code(createdOrNoContent(existed)).send();
    },
  );

  app.delete(
    "/api/vhosts/:vhost",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["vhosts"],
        summary: "Delete a virtual host and everything in it",
        params: vhostPathParams,
        response: { 204: emptyResponse, ...authErrors },
      },
    },
    async (req, reply) => {
      const { vhost } = req.params as { vhost: string };
      if (!broker.listVhosts().some((v) => v.name === vhost)) throw notFound();
      await broker.deleteVhost(req.user?.name ?? "", vhost);
      return reply.code(204).send();
    },
  );
}
