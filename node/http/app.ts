/**
 * The HTTP door: a fastify app over the `Broker` contract (node/broker/types.ts), with
 * RabbitMQ's management API routes, Warren's consume API, OpenAPI at `/api/docs`, and the
 * process endpoints `/health`, `/ready`, `/metrics`. It does not listen (server.ts does), so
 * tests drive it with `app.inject()`.
 *
 * Every `/api` route is behind HTTP basic auth with the tag its route config names; every error
 * leaves as JSON `{"error", "reason"}` with RabbitMQ's status and wording (errors.ts).
 */
import swagger from "@fastify/swagger";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Broker } from "../broker/types.js";
import { WarrenError } from "../errors.js";
import { authenticate } from "./auth.js";
import { ConsumeSessions } from "./consume-sessions.js";
import { errorReply, makeErrorHandler, NOT_FOUND_BODY } from "./errors.js";
import { NodeMetrics } from "./metrics.js";
import { bindingRoutes } from "./routes/bindings.js";
import { consumeRoutes } from "./routes/consume.js";
import type { RouteDeps } from "./routes/deps.js";
import { exchangeRoutes } from "./routes/exchanges.js";
import { memberRoutes } from "./routes/members.js";
import { messageRoutes } from "./routes/messages.js";
import { overviewRoutes, WARREN_VERSION } from "./routes/overview.js";
import { queueRoutes } from "./routes/queues.js";
import { userRoutes } from "./routes/users.js";
import { vhostRoutes } from "./routes/vhosts.js";

/** The slice of NodeConfig the door needs. */
export interface HttpConfig {
  /** Largest request body in bytes (413 beyond). */
  readonly bodyLimit: number;
}

export interface BuildAppOptions {
  readonly broker: Broker;
  readonly config: HttpConfig;
  /** pino (or compatible) logger; requests log at debug under it. */
  readonly logger: FastifyBaseLogger;
  /** Shared with the other door and fed by the process (fsync); a private one when absent. */
  readonly metrics?: NodeMetrics;
}

export interface WarrenDoor {
  readonly sessions: ConsumeSessions;
  readonly metrics: NodeMetrics;
}

declare module "fastify" {
  interface FastifyInstance {
    warren: WarrenDoor;
  }
}

const ROUTE_METHODS = ["GET", "PUT", "POST", "DELETE"] as const;

export function buildApp(opts: BuildAppOptions): FastifyInstance {
  const { broker, config } = opts;
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: config.bodyLimit,
    // Requests log at debug in onResponse below, not at info per request.
    logController: new LogController({ disableRequestLogging: true }),
    // find-my-way decodes `%2F` inside a parameter (the vhost "/") without splitting the path.
    routerOptions: { ignoreTrailingSlash: true },
    ajv: { customOptions: { allErrors: false } },
  });
  const metrics = opts.metrics ?? new NodeMetrics();
  metrics.attach(broker);
  const sessions = new ConsumeSessions(broker, opts.logger, metrics);
  app.decorate("warren", { sessions, metrics });
  const deps: RouteDeps = { broker, sessions, metrics };

  // Bodies are JSON whatever the content type says (curl -d sends form encoding); an empty body
  // is an empty object, as RabbitMQ treats it.
  const json = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (req, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") return done(null, {});
    json(req, text, done);
  });
  app.addHook("preValidation", async (request) => {
    if (request.body === undefined && (request.method === "POST" || request.method === "PUT"))
      request.body = {};
  });

  app.addHook("onRequest", async (request) => {
    await authenticate(broker, request, request.routeOptions.config?.access ?? "none");
  });
  app.addHook("onResponse", async (request, reply) => {
    request.log.debug(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      "http request",
    );
  });
  app.addHook("preClose", async () => {
    await sessions.close();
  });

  app.setErrorHandler(makeErrorHandler(config.bodyLimit));
  app.setNotFoundHandler((request, reply) => {
    // A path that exists with other methods is 405 with Allow, as RabbitMQ's management API.
    const path = request.url.split("?")[0] ?? "";
    const allowed = ROUTE_METHODS.filter(
      (m) => m !== request.method && app.findRoute({ method: m, url: path }),
    );
    if (allowed.length > 0) {
      const err = errorReply(
        new WarrenError("METHOD_NOT_ALLOWED", `${request.method} not allowed on ${path}`),
        0,
      );
      void reply.code(err.status).header("allow", allowed.join(", ")).type("application/json").send(err.body);
      return;
    }
    void reply.code(404).type("application/json").send(NOT_FOUND_BODY);
  });

  void app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "Warren HTTP API",
        description:
          "RabbitMQ-management-compatible subset plus Warren's consume API. See docs/http-api.md. Vhost `/` is `%2F` in paths.",
        version: WARREN_VERSION,
      },
      components: { securitySchemes: { basicAuth: { type: "http", scheme: "basic" } } },
      security: [{ basicAuth: [] }],
    },
  });
  void app.register(async (scope) => {
    overviewRoutes(scope, deps);
    vhostRoutes(scope, deps);
    userRoutes(scope, deps);
    exchangeRoutes(scope, deps);
    queueRoutes(scope, deps);
    memberRoutes(scope, deps);
    bindingRoutes(scope, deps);
    messageRoutes(scope, deps);
    consumeRoutes(scope, deps);
    scope.get("/api/docs", { config: { access: "none" }, schema: { hide: true } }, async () =>
      scope.swagger(),
    );
  });
  return app;
}
