/**
 * `/api/users` and `/api/permissions`: administrator only, as in RabbitMQ. Passwords are hashed
 * by the broker (salted SHA-256, RabbitMQ's scheme) and never stored or shown in clear.
 */
import type { FastifyInstance } from "fastify";
import { WarrenError } from "../../errors.js";
import { notFound } from "../errors.js";
import { formatPermission, formatUser, parseTags } from "../format.js";
import {
  authErrors,
  emptyResponse,
  nameParams,
  permissionSchema,
  stringOrList,
  userSchema,
} from "../schemas.js";
import { createdOrNoContent, type RouteDeps } from "./deps.js";

const permParams = {
  type: "object",
  properties: { vhost: { type: "string", minLength: 1 }, user: { type: "string", minLength: 1 } },
  required: ["vhost", "user"],
} as const;

const writeResponses = { 201: emptyResponse, 204: emptyResponse, ...authErrors } as const;

export function userRoutes(app: FastifyInstance, { broker }: RouteDeps): void {
  // --- users ---
  app.get(
    "/api/users",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["users"],
        summary: "All users (password hashes, never passwords)",
        response: { 200: { type: "array", items: userSchema }, ...authErrors },
      },
    },
    async () => broker.listUsers().map(formatUser),
  );

  app.get(
    "/api/users/:name",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["users"],
        summary: "One user",
        params: nameParams,
        response: { 200: userSchema, ...authErrors },
      },
    },
    async (req) => {
      const u = broker.getUser((req.params as { name: string }).name);
      if (!u) throw notFound();
      return formatUser(u);
    },
  );

  app.put(
    "/api/users/:name",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["users"],
        summary: "Create or update a user; the broker stores the password salted and hashed",
        params: nameParams,
        body: {
          type: "object",
          properties: {
            password: { type: "string" },
            password_hash: { type: "string" },
            hashing_algorithm: { type: "string" },
            tags: stringOrList,
          },
        },
        response: writeResponses,
      },
    },
    async (req, reply) => {
      const { name } = req.params as { name: string };
      const body = (req.body ?? {}) as {
        password?: string;
        password_hash?: string;
        tags?: string | string[];
      };
      const existed = broker.getUser(name) !== undefined;
      // As RabbitMQ: a new user needs a password or a hash (`password_hash: ""` = no password login).
      if (!existed && body.password === undefined && body.password_hash === undefined) {
        throw new WarrenError("BAD_REQUEST", "password or password_hash must be set");
      }
      await broker.putUser(req.user?.name ?? "", name, {
        ...(body.password !== undefined ? { password: body.password } : {}),
        ...(body.password === undefined && body.password_hash !== undefined
          ? { passwordHash: body.password_hash }
          : {}),
        tags: parseTags(body.tags),
      });
      return reply.code(createdOrNoContent(existed)).send();
    },
  );

  app.delete(
    "/api/users/:name",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["users"],
        summary: "Delete a user",
        params: nameParams,
        response: { 204: emptyResponse, ...authErrors },
      },
    },
    async (req, reply) => {
      const { name } = req.params as { name: string };
      if (!broker.getUser(name)) throw notFound();
      await broker.deleteUser(req.user?.name ?? "", name);
      return reply.code(204).send();
    },
  );

  app.get(
    "/api/users/:name/permissions",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["permissions"],
        summary: "A user's permissions in every vhost",
        params: nameParams,
        response: { 200: { type: "array", items: permissionSchema }, ...authErrors },
      },
    },
    async (req) => {
      const { name } = req.params as { name: string };
      if (!broker.getUser(name)) throw notFound();
      return broker.listPermissions({ user: name }).map(formatPermission);
    },
  );

  // --- permissions ---
  app.get(
    "/api/permissions",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["permissions"],
        summary: "Every permission",
        response: { 200: { type: "array", items: permissionSchema }, ...authErrors },
      },
    },
    async () => broker.listPermissions().map(formatPermission),
  );

  app.get(
    "/api/permissions/:vhost/:user",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["permissions"],
        summary: "A user's permission in a vhost",
        params: permParams,
        response: { 200: permissionSchema, ...authErrors },
      },
    },
    async (req) => {
      const { vhost, user } = req.params as { vhost: string; user: string };
      const p = broker.listPermissions({ vhost, user })[0];
      if (!p) throw notFound();
      return formatPermission(p);
    },
  );

  app.put(
    "/api/permissions/:vhost/:user",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["permissions"],
        summary: "Set a user's configure/write/read regular expressions in a vhost",
        params: permParams,
        body: {
          type: "object",
          properties: { configure: { type: "string" }, write: { type: "string" }, read: { type: "string" } },
          required: ["configure", "write", "read"],
        },
        response: writeResponses,
      },
    },
    async (req, reply) => {
      const { vhost, user } = req.params as { vhost: string; user: string };
      const body = req.body as { configure: string; write: string; read: string };
      if (!broker.listVhosts().some((v) => v.name === vhost) || !broker.getUser(user)) throw notFound();
      const existed = broker.listPermissions({ vhost, user }).length > 0;
      await broker.setPermission(req.user?.name ?? "", vhost, user, {
        configure: body.configure,
        write: body.write,
        read: body.read,
      });
      return reply.code(createdOrNoContent(existed)).send();
    },
  );

  app.delete(
    "/api/permissions/:vhost/:user",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["permissions"],
        summary: "Remove a user's permission in a vhost",
        params: permParams,
        response: { 204: emptyResponse, ...authErrors },
      },
    },
    async (req, reply) => {
      const { vhost, user } = req.params as { vhost: string; user: string };
      if (broker.listPermissions({ vhost, user }).length === 0) throw notFound();
      await broker.deletePermission(req.user?.name ?? "", vhost, user);
      return reply.code(204).send();
    },
  );
}
