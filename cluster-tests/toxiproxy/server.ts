/**
 * A Toxiproxy-compatible HTTP API (the v2 routes of Shopify/toxiproxy's api.go) over our proxies,
 * so the same client (`toxiproxy-node-client`) drives this server or a real `toxiproxy-server`.
 * Requests are handled one at a time: proxy start/stop is asynchronous and must not interleave.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiError, ApiErrors, toApiError } from "./errors.js";
import { ProxyRuntime } from "./proxy.js";
import { parseNewToxic, parseToxicUpdate } from "./toxic-config.js";

/** What /version reports: the Toxiproxy release whose API this server follows. */
export const TOXIPROXY_API_VERSION = "2.9.0-warren";

export interface ToxiproxyServerOptions {
  readonly host?: string;
  readonly port?: number;
  /** Randomness for toxicity rolls, jitter and slicing; seed it to replay a run. */
  readonly random?: () => number;
  readonly now?: () => number;
}

export interface ToxiproxyServer {
  /** Base URL of the API, e.g. http://127.0.0.1:8474 */
  readonly url: string;
  close(): Promise<void>;
}

interface Reply {
  readonly status: number;
  readonly body?: unknown;
}

class Api {
  private readonly proxies = new Map<string, ProxyRuntime>();

  constructor(
    private readonly random: () => number,
    private readonly now: () => number,
  ) {}

  private proxy(name: string): ProxyRuntime {
    const p = this.proxies.get(name);
    if (p === undefined) throw ApiErrors.proxyNotFound;
    return p;
  }

  async handle(method: string, path: string, body: unknown): Promise<Reply> {
    const parts = path
      .split("/")
      .filter((s) => s !== "")
      .map(decodeURIComponent);
    const [root, name, sub, toxic] = parts;
    const update = method === "POST" || method === "PATCH";
    if (root === "version" && parts.length === 1 && method === "GET") {
      return { status: 200, body: { version: TOXIPROXY_API_VERSION } };
    }
    if (root === "reset" && parts.length === 1 && method === "POST") return this.reset();
    if (root === "populate" && parts.length === 1 && method === "POST") return this.populate(body);
    if (root === "proxies") {
      if (name === undefined) {
        if (method === "GET") return { status: 200, body: Object.fromEntries(this.proxies) };
        if (method === "POST") return { status: 201, body: await this.create(body) };
      } else if (sub === undefined) {
        if (method === "GET") return { status: 200, body: this.proxy(name) };
        if (update) return { status: 200, body: await this.updateProxy(name, body) };
        if (method === "DELETE") {
          await this.proxy(name).stop();
          this.proxies.delete(name);
          return { status: 204 };
        }
      } else if (sub === "toxics" && toxic === undefined) {
        const p = this.proxy(name);
        if (method === "GET") return { status: 200, body: p.toJSON().toxics };
        if (method === "POST") return { status: 200, body: this.addToxic(p, body) };
      } else if (sub === "toxics" && parts.length === 4 && toxic !== undefined) {
        const p = this.proxy(name);
        const current = p.toxics.find((t) => t.name === toxic);
        if (current === undefined) throw ApiErrors.toxicNotFound;
        if (method === "GET") return { status: 200, body: current };
        if (update) {
          const next = parseToxicUpdate(current, body);
          p.updateToxic(next);
          return { status: 200, body: next };
        }
        if (method === "DELETE") {
          p.removeToxic(toxic);
          return { status: 204 };
        }
      }
    }
    // gorilla/mux answers an unknown route with a plain 404 and 405 for a wrong method; the
    // client only looks at the status.
    throw new ApiError("404 page not found", 404);
  }

  private async create(body: unknown): Promise<ProxyRuntime> {
    const input = parseProxyInput(body);
    if (this.proxies.has(input.name)) throw ApiErrors.proxyAlreadyExists;
    const p = new ProxyRuntime(input.name, input.listen, input.upstream, this.random, this.now);
    if (input.enabled) await p.start();
    this.proxies.set(p.name, p);
    return p;
  }

  private async updateProxy(name: string, body: unknown): Promise<ProxyRuntime> {
    const p = this.proxy(name);
    const b = asObject(body);
    const listen = optionalString(b, "listen") ?? p.listen;
    const upstream = optionalString(b, "upstream") ?? p.upstream;
    const enabled = optionalBoolean(b, "enabled") ?? p.enabled;
    if (listen !== p.listen || upstream !== p.upstream) {
      // Toxiproxy restarts the proxy on an address change, cutting its connections.
      const wasEnabled = p.enabled;
      await p.stop();
      p.listen = listen;
      p.upstream = upstream;
      if (wasEnabled && enabled) await p.start();
    }
    if (enabled && !p.enabled) await p.start();
    if (!enabled && p.enabled) await p.stop();
    return p;
  }

  private addToxic(p: ProxyRuntime, body: unknown): unknown {
    const t = parseNewToxic(body);
    if (p.toxics.some((x) => x.name === t.name)) throw ApiErrors.toxicAlreadyExists;
    p.addToxic(t);
    return t;
  }

  private async reset(): Promise<Reply> {
    for (const p of this.proxies.values()) {
      await p.start();
      for (const t of [...p.toxics]) p.removeToxic(t.name);
    }
    return { status: 204 };
  }

  /** Creates the listed proxies, replacing any whose address differs; all-or-nothing validation. */
  private async populate(body: unknown): Promise<Reply> {
    if (!Array.isArray(body)) throw ApiErrors.badRequestBody.withDetail("expected a JSON array of proxies");
    const inputs = body.map(parseProxyInput);
    const done: ProxyRuntime[] = [];
    try {
      for (const input of inputs) {
        const old = this.proxies.get(input.name);
        if (old !== undefined && old.listen === input.listen && old.upstream === input.upstream) {
          done.push(old);
          continue;
        }
        if (old !== undefined) {
          await old.stop();
          this.proxies.delete(input.name);
        }
        done.push(await this.create(input));
      }
    } catch (err) {
      const e = toApiError(err);
      return { status: e.status, body: { ...e.toJSON(), proxies: done } };
    }
    return { status: 201, body: { proxies: done } };
  }

  async closeAll(): Promise<void> {
    for (const p of this.proxies.values()) await p.stop();
    this.proxies.clear();
  }
}

interface ProxyInput {
  readonly name: string;
  readonly listen: string;
  readonly upstream: string;
  readonly enabled: boolean;
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw ApiErrors.badRequestBody.withDetail("expected a JSON object");
  }
  return body as Record<string, unknown>;
}

function optionalString(b: Record<string, unknown>, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw ApiErrors.badRequestBody.withDetail(`${key} must be a string`);
  return v;
}

function optionalBoolean(b: Record<string, unknown>, key: string): boolean | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") throw ApiErrors.badRequestBody.withDetail(`${key} must be a boolean`);
  return v;
}

function parseProxyInput(body: unknown): ProxyInput {
  const b = asObject(body);
  const name = optionalString(b, "name") ?? "";
  const upstream = optionalString(b, "upstream") ?? "";
  if (name === "") throw ApiErrors.missingField.withDetail("name");
  if (upstream === "") throw ApiErrors.missingField.withDetail("upstream");
  // Toxiproxy would listen on every interface with a random port; loopback is the safer default.
  const listen = optionalString(b, "listen") || "127.0.0.1:0";
  return { name, upstream, listen, enabled: optionalBoolean(b, "enabled") ?? true };
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw ApiErrors.badRequestBody.withDetail((err as Error).message);
  }
}

function send(res: ServerResponse, reply: Reply): void {
  if (reply.body === undefined) {
    res.writeHead(reply.status).end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, { "content-type": "application/json" }).end(`${text}\n`);
}

export async function startToxiproxyServer(opts: ToxiproxyServerOptions = {}): Promise<ToxiproxyServer> {
  const api = new Api(opts.random ?? Math.random, opts.now ?? (() => performance.now()));
  let queue: Promise<unknown> = Promise.resolve();
  const http = createServer((req, res) => {
    // Toxiproxy refuses browsers (CSRF protection for a local API).
    if ((req.headers["user-agent"] ?? "").startsWith("Mozilla/")) {
      res.writeHead(403, { "content-type": "text/plain" }).end("User agent not allowed\n");
      return;
    }
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const run = async (): Promise<void> => {
      let reply: Reply;
      try {
        reply = await api.handle(req.method ?? "GET", path, await readBody(req));
      } catch (err) {
        const e = toApiError(err);
        reply = { status: e.status, body: e.toJSON() };
      }
      send(res, reply);
    };
    queue = queue.then(run, run);
  });
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen({ host: opts.host ?? "127.0.0.1", port: opts.port ?? 8474 }, () => resolve());
  });
  const addr = http.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    async close() {
      await queue.catch(() => undefined);
      await api.closeAll();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
