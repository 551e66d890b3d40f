/**
 * Real nodes behind the HTTP door for the end-to-end tests: the broker tests' in-process cluster
 * (real LevelDB, transport, Raft host, BrokerService per node; node/broker/test/harness.ts) with
 * one fastify app per node, driven by `inject()`.
 */
import type { FastifyInstance, HTTPMethods, InjectOptions, LightMyRequestResponse } from "fastify";
import pino from "pino";
import type { BrokerSettings } from "../../broker/context.js";
import { BrokerCluster } from "../../broker/test/harness.js";
import { buildApp } from "../app.js";

export { eventually } from "../../broker/test/harness.js";

const logger = pino({ level: "silent" });

export const GUEST = `Basic ${Buffer.from("guest:guest").toString("base64")}`;

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

export interface Door {
  readonly app: FastifyInstance;
  /** inject with guest's credentials unless the options carry their own. */
  call(opts: InjectOptions): Promise<LightMyRequestResponse>;
  json<T = unknown>(
    method: InjectOptions["method"],
    url: string,
    payload?: unknown,
  ): Promise<{ status: number; body: T }>;
}

export function door(app: FastifyInstance): Door {
  const call = (opts: InjectOptions) =>
    app.inject({ ...opts, headers: { authorization: GUEST, ...(opts.headers ?? {}) } });
  return {
    app,
    call,
    async json<T>(method: HTTPMethods, url: string, payload?: unknown) {
      const res = await call({
        method,
        url,
        ...(payload !== undefined ? { payload: payload as object } : {}),
      });
      return { status: res.statusCode, body: (res.body === "" ? undefined : res.json()) as T };
    },
  };
}

export interface HttpCluster {
  readonly cluster: BrokerCluster;
  readonly doors: Door[];
  close(): Promise<void>;
}

export async function startHttpCluster(
  size: number,
  bodyLimit = 1024 * 1024,
  settings: Partial<BrokerSettings> = {},
): Promise<HttpCluster> {
  const cluster = await BrokerCluster.start(size, settings);
  const doors = cluster.nodes.map((n) => door(buildApp({ broker: n.broker, config: { bodyLimit }, logger })));
  await Promise.all(doors.map((d) => d.app.ready()));
  return {
    cluster,
    doors,
    async close() {
      await Promise.all(doors.map((d) => d.app.close()));
      await cluster.close();
    },
  };
}
