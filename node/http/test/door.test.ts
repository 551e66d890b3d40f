/**
 * The door's own behaviour against a test double of the broker: authentication and tags as
 * RabbitMQ's management API, errors as JSON with RabbitMQ's statuses and wording, bad requests,
 * and a door that keeps serving after all of them.
 */
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Broker } from "../../broker/types.js";
import { WarrenError } from "../../errors.js";
import { buildApp } from "../app.js";
import { basic, fakeBroker } from "./fake-broker.js";

const logger = pino({ level: "silent" });
let apps: ReturnType<typeof buildApp>[] = [];

function appWith(overrides: Partial<Broker> = {}, bodyLimit = 64 * 1024) {
  const app = buildApp({ broker: fakeBroker(overrides), config: { bodyLimit }, logger });
  apps.push(app);
  return app;
}

afterEach(async () => {
  await Promise.all(apps.map((a) => a.close()));
  apps = [];
});

const admin = { authorization: basic("admin") };

describe("process endpoints", () => {
  it("GET /health answers without credentials", async () => {
    const res = await appWith().inject({ url: "/health" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", node: "n1" });
  });

  it("GET /ready is 200 in a quorum and 503 outside one", async () => {
    let ready = true;
    const app = appWith({ isReady: () => ready });
    expect((await app.inject({ url: "/ready" })).statusCode).toBe(200);
    ready = false;
    const res = await app.inject({ url: "/ready" });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({ status: "not_ready", node: "n1" });
  });

  it("GET /metrics exposes per-group Raft figures and follower lag", async () => {
    const app = appWith({
      groupStatuses: () => [
        {
          group: "meta",
          leader: "n1",
          term: 3,
          commit: 40,
          applied: 40,
          progress: { n1: 40, n2: 38, n3: 40 },
        },
        { group: "q-1", queue: { vhost: "/", name: "orders" }, leader: "n2", term: 2, commit: 7, applied: 7 },
      ],
    });
    app.warren.metrics.observeFsync(2.5);
    const res = await app.inject({ url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toContain("text/plain");
    expect(res.body).toContain('warren_raft_term{group="meta",vhost="",queue=""} 3');
    expect(res.body).toContain('warren_raft_is_leader{group="q-1",vhost="/",queue="orders"} 0');
    expect(res.body).toContain('warren_raft_leader{group="q-1",vhost="/",queue="orders",leader="n2"} 1');
    expect(res.body).toContain('warren_raft_follower_lag{group="meta",vhost="",queue="",follower="n2"} 2');
    expect(res.body).toContain("warren_wal_fsync_duration_seconds_count 1");
    expect(res.body).toContain("warren_node_ready 1");
  });

  it("GET /api/docs serves the OpenAPI document of every route", async () => {
    const res = await appWith().inject({ url: "/api/docs" });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      "/api/overview",
      "/api/queues/{vhost}/{name}",
      "/api/exchanges/{vhost}/{name}/publish",
      "/api/queues/{vhost}/{name}/get",
      "/api/queues/{vhost}/{name}/consume",
      "/api/bindings/{vhost}/e/{source}/q/{destination}/{props}",
      "/api/permissions/{vhost}/{user}",
    ]) {
      expect(doc.paths).toHaveProperty([path]);
    }
  });
});

describe("authentication (HTTP basic, RabbitMQ's management tags)", () => {
  it("no credentials: 401 with WWW-Authenticate and a JSON body", async () => {
    const res = await appWith().inject({ url: "/api/overview" });
    expect(res.statusCode).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Basic realm="RabbitMQ Management"');
    expect(res.json()).toEqual({ error: "not_authorized", reason: "Not_Authorized" });
  });

  it("a wrong password: 401 Login failed", async () => {
    const res = await appWith().inject({
      url: "/api/vhosts",
      headers: { authorization: basic("admin", "nope") },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: "not_authorized", reason: "Login failed" });
  });

  it("a user without a management tag is refused the API", async () => {
    const res = await appWith().inject({ url: "/api/vhosts", headers: { authorization: basic("nobody") } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ error: "not_authorised", reason: "Not management user" });
  });

  it("a management user may not manage users; an administrator may", async () => {
    const app = appWith({ listUsers: () => [] });
    const refused = await app.inject({ url: "/api/users", headers: { authorization: basic("manager") } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().reason).toBe("Not administrator user");
    expect((await app.inject({ url: "/api/users", headers: admin })).statusCode).toBe(200);
  });

  it("a management user sees only the vhosts it has permissions in", async () => {
    const app = appWith();
    const res = await app.inject({ url: "/api/vhosts", headers: { authorization: basic("manager") } });
    expect(res.json().map((v: { name: string }) => v.name)).toEqual(["/"]);
    const other = await app.inject({
      url: "/api/queues/other",
      headers: { authorization: basic("manager") },
    });
    expect(other.statusCode).toBe(403);
    expect(other.json()).toEqual({
      error: "not_authorised",
      reason: "access to vhost 'other' refused for user 'manager'",
    });
  });
});

describe("errors are RabbitMQ's JSON, never HTML or a stack", () => {
  it("an unknown route is 404 Object Not Found", async () => {
    const res = await appWith().inject({ url: "/api/nothing-here", headers: admin });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "Object Not Found", reason: "Not Found" });
  });

  it("a known path with a method it does not support is 405 with Allow", async () => {
    const res = await appWith().inject({ method: "POST", url: "/api/queues/%2F/q", headers: admin });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe("GET, PUT, DELETE");
    expect(res.json()).toEqual({
      error: "method_not_allowed",
      reason: "POST not allowed on /api/queues/%2F/q",
    });
  });

  it("an unknown vhost is 404", async () => {
    const res = await appWith().inject({ url: "/api/queues/nope", headers: admin });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "Object Not Found", reason: "Not Found" });
  });

  it("an inequivalent redeclare is 400 with the AMQP code and text", async () => {
    const app = appWith({
      declareQueue: async () => {
        throw new WarrenError(
          "PRECONDITION_FAILED",
          "inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'",
        );
      },
    });
    const res = await app.inject({
      method: "PUT",
      url: "/api/queues/%2F/q",
      headers: admin,
      payload: { durable: false },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: "bad_request",
      reason:
        "406 PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'",
    });
  });

  it("no quorum is 503 with Retry-After", async () => {
    const app = appWith({
      declareQueue: async () => {
        throw new WarrenError("NO_QUORUM", "no quorum for the metadata group within 5000 ms");
      },
    });
    const res = await app.inject({ method: "PUT", url: "/api/queues/%2F/q", headers: admin, payload: {} });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBe("1");
    expect(res.json().error).toBe("service_unavailable");
  });

  it("an unexpected failure is a bare 500 and the door keeps serving", async () => {
    const app = appWith({
      listQueues: async () => {
        throw new TypeError("secret internals at line 42");
      },
    });
    const res = await app.inject({ url: "/api/queues", headers: admin });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: "internal_server_error", reason: "Internal Server Error" });
    expect(res.body).not.toContain("line 42");
    expect((await app.inject({ url: "/health" })).statusCode).toBe(200);
  });

  it("wrong JSON types are 400 bad_request naming the field", async () => {
    const res = await appWith().inject({
      method: "PUT",
      url: "/api/exchanges/%2F/x",
      headers: admin,
      payload: { type: "direct", durable: "yes" },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: "bad_request", reason: "body/durable must be boolean" });
  });

  it("malformed JSON is 400 bad_request", async () => {
    const res = await appWith().inject({
      method: "PUT",
      url: "/api/exchanges/%2F/x",
      headers: { ...admin, "content-type": "application/json" },
      payload: '{"type": "direct",',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe("bad_request");
  });

  it("a body over the configured limit is 413 JSON, and the door keeps serving", async () => {
    const app = appWith({}, 1024);
    const res = await app.inject({
      method: "POST",
      url: "/api/exchanges/%2F/amq.default/publish",
      headers: { ...admin, "content-type": "application/json" },
      payload: JSON.stringify({ routing_key: "q", payload: "x".repeat(4096) }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({ error: "bad_request", reason: "request body larger than 1024 bytes" });
    expect((await app.inject({ url: "/api/vhosts", headers: admin })).statusCode).toBe(200);
  });

  it("an invalid base64 payload is 400", async () => {
    const app = appWith({ getExchange: () => ({ name: "" }) as never });
    const res = await app.inject({
      method: "POST",
      url: "/api/exchanges/%2F/amq.default/publish",
      headers: admin,
      payload: { routing_key: "q", payload: "not base64!", payload_encoding: "base64" },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: "bad_request", reason: "payload is not valid base64" });
  });
});
