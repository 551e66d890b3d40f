/**
 * Listens with the HTTP door. The process wiring (node/main.ts) calls `startHttpServer` once the
 * broker is up and `close()` first on shutdown.
 *
 * Closing must end every connection, or the process never exits: Node's `server.close()` stops
 * accepting and drops the keep-alive sockets that are idle at that instant, but a socket whose
 * request is in flight becomes an idle keep-alive socket afterwards and stays open for the
 * keep-alive timeout (72 s with fastify), and a client that keeps sending on it gets a 503 per
 * request for as long as it likes. So, while closing:
 * - long polls answer at once with nothing, streams end, leased messages return to their queues
 *   (ConsumeSessions.close, from the app's preClose hook);
 * - every response carries `Connection: close`, so a client learns to go elsewhere and the socket
 *   ends with its response;
 * - sockets that fall idle are closed as they do, and after `graceMs` whatever is still open
 *   (a request stuck in flight) is cut.
 */
import type { FastifyInstance } from "fastify";
import { type BuildAppOptions, buildApp } from "./app.js";

/** How often idle sockets are swept while the door closes. */
const IDLE_SWEEP_MS = 50;
/** Requests in flight when closing starts get this long to finish, unless told otherwise. */
export const DEFAULT_CLOSE_GRACE_MS = 5_000;

export interface HttpServerOptions extends Omit<BuildAppOptions, "config"> {
  readonly config: BuildAppOptions["config"] & { readonly host: string; readonly port: number };
}

export interface HttpCloseOptions {
  /** After this many ms, connections still open (requests in flight) are destroyed. */
  readonly graceMs?: number;
}

export interface HttpServer {
  /** `http://host:port` actually bound (port 0 in the config picks a free one). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly app: FastifyInstance;
  close(opts?: HttpCloseOptions): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const app = buildApp(opts);
  let draining = false;
  // Requests that arrive while closing already get `Connection: close` from fastify (with its
  // 503); this covers those that were in flight when closing began.
  app.addHook("onSend", async (_request, reply, payload) => {
    if (draining) void reply.header("connection", "close");
    return payload;
  });
  await app.listen({ host: opts.config.host, port: opts.config.port });
  const bound = app.server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : opts.config.port;
  const host = opts.config.host;
  const shown = host.includes(":") ? `[${host}]` : host;
  opts.logger.info({ http: `${shown}:${port}` }, "HTTP API listening");

  const closeDoor = async (graceMs: number): Promise<void> => {
    draining = true;
    const server = app.server;
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const cut = setTimeout(() => {
      opts.logger.warn(
        { graceMs },
        "HTTP requests still in flight after the grace period: closing their connections",
      );
      server.closeAllConnections();
    }, graceMs);
    try {
      await app.close();
    } finally {
      clearInterval(sweep);
      clearTimeout(cut);
    }
  };
  let closing: Promise<void> | undefined;
  return {
    address: `http://${shown}:${port}`,
    host,
    port,
    app,
    close: (closeOpts) => {
      closing ??= closeDoor(closeOpts?.graceMs ?? DEFAULT_CLOSE_GRACE_MS);
      return closing;
    },
  };
}
