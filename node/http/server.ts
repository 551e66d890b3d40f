/**
 * Listens with the HTTP door. The process wiring (node/main.ts) calls `startHttpServer` once the
 * broker is up and `close()` first on shutdown: it stops accepting requests, ends consume
 * streams and returns leased messages to their queues.
 */
import type { FastifyInstance } from "fastify";
import { type BuildAppOptions, buildApp } from "./app.js";

export interface HttpServerOptions extends Omit<BuildAppOptions, "config"> {
  readonly config: BuildAppOptions["config"] & { readonly host: string; readonly port: number };
}

export interface HttpServer {
  /** `http://host:port` actually bound (port 0 in the config picks a free one). */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const app = buildApp(opts);
  await app.listen({ host: opts.config.host, port: opts.config.port });
  const bound = app.server.address();
  const port = typeof bound === "object" && bound !== null ? bound.port : opts.config.port;
  const host = opts.config.host;
  const shown = host.includes(":") ? `[${host}]` : host;
  opts.logger.info({ http: `${shown}:${port}` }, "HTTP API listening");
  let closing: Promise<void> | undefined;
  return {
    address: `http://${shown}:${port}`,
    host,
    port,
    app,
    close: () => {
      closing ??= app.close();
      return closing;
    },
  };
}
