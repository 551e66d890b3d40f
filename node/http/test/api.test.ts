/**
 * The management API end to end on one real node: every route's happy path and RabbitMQ's error
 * cases (unknown vhost, inequivalent redeclare, 401/403, 404).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { basicAuth, type Door, type HttpCluster, startHttpCluster } from "./helpers.js";

let hc: HttpCluster;
let d: Door;

beforeAll(async () => {
  hc = await startHttpCluster(1);
  d = hc.doors[0]!;
});
afterAll(async () => {
  await hc.close();
});

describe("overview and nodes", () => {
  it("GET /api/overview names the node and counts objects", async () => {
    const { status, body } = await d.json<Record<string, unknown>>("GET", "/api/overview");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      node: "n1",
      product_name: "Warren",
      object_totals: { queues: expect.any(Number) },
    });
  });

  it("GET /api/nodes lists the running node", async () => {
    const { status, body } = await d.json<Array<{ name: string; running: boolean }>>("GET", "/api/nodes");
    expect(status).toBe(200);
    expect(body).toEqual([expect.objectContaining({ name: "n1", running: true })]);
  });

  it("GET /ready is 200 on a node in its quorum", async () => {
    expect((await d.app.inject({ url: "/ready" })).statusCode).toBe(200);
  });
});

describe("vhosts", () => {
  it("PUT creates (201), PUT again is 204, GET shows it, DELETE removes it", async () => {
    expect((await d.json("PUT", "/api/vhosts/v1", { description: "first", tags: "a,b" })).status).toBe(201);
    expect((await d.json("PUT", "/api/vhosts/v1", {})).status).toBe(204);
    const { body } = await d.json<{ name: string; description: string; tags: string[] }>(
      "GET",
      "/api/vhosts/v1",
    );
    expect(body).toMatchObject({ name: "v1", description: "first", tags: ["a", "b"] });
    const list = await d.json<Array<{ name: string }>>("GET", "/api/vhosts");
    expect(list.body.map((v) => v.name)).toEqual(expect.arrayContaining(["/", "v1"]));
    expect((await d.json("DELETE", "/api/vhosts/v1")).status).toBe(204);
    expect((await d.json("GET", "/api/vhosts/v1")).status).toBe(404);
    expect((await d.json("DELETE", "/api/vhosts/v1")).status).toBe(404);
  });

  it("an unknown vhost is 404 on every vhost-scoped route", async () => {
    for (const url of [
      "/api/queues/nope",
      "/api/exchanges/nope",
      "/api/bindings/nope",
      "/api/queues/nope/q",
    ]) {
      const res = await d.json<{ error: string }>("GET", url);
      expect(res.status, url).toBe(404);
      expect(res.body).toEqual({ error: "Object Not Found", reason: "Not Found" });
    }
  });
});

describe("users and permissions", () => {
  it("creates a user with a hashed password, who then logs in with it", async () => {
    expect((await d.json("PUT", "/api/users/alice", { password: "s3cret", tags: "management" })).status).toBe(
      201,
    );
    const { body } = await d.json<{ name: string; password_hash: string; tags: string[] }>(
      "GET",
      "/api/users/alice",
    );
    expect(body.tags).toEqual(["management"]);
    expect(body.password_hash).not.toBe("");
    expect(body.password_hash).not.toContain("s3cret");
    // No permissions yet: alice sees no vhost.
    const alice = { authorization: basicAuth("alice", "s3cret") };
    const none = await d.call({ url: "/api/vhosts", headers: alice });
    expect(none.statusCode).toBe(200);
    expect(none.json()).toEqual([]);
    expect(
      (await d.call({ url: "/api/vhosts", headers: { authorization: basicAuth("alice", "wrong") } }))
        .statusCode,
    ).toBe(401);
  });

  it("sets, reads and deletes permissions, and enforces them on queue declares", async () => {
    expect(
      (await d.json("PUT", "/api/permissions/%2F/alice", { configure: "^alice-", write: ".*", read: ".*" }))
        .status,
    ).toBe(201);
    const { body } = await d.json("GET", "/api/permissions/%2F/alice");
    expect(body).toEqual({ user: "alice", vhost: "/", configure: "^alice-", write: ".*", read: ".*" });
    const alice = { authorization: basicAuth("alice", "s3cret") };
    const ok = await d.call({ method: "PUT", url: "/api/queues/%2F/alice-q", headers: alice, payload: {} });
    expect(ok.statusCode).toBe(201);
    const refused = await d.call({
      method: "PUT",
      url: "/api/queues/%2F/bob-q",
      headers: alice,
      payload: {},
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({
      error: "not_authorised",
      reason: "ACCESS_REFUSED - access to queue 'bob-q' in vhost '/' refused for user 'alice'",
    });
    // A management user may not manage users.
    expect((await d.call({ url: "/api/users", headers: alice })).statusCode).toBe(403);
    expect((await d.json("DELETE", "/api/permissions/%2F/alice")).status).toBe(204);
    expect((await d.json("GET", "/api/permissions/%2F/alice")).status).toBe(404);
    expect((await d.json("DELETE", "/api/queues/%2F/alice-q")).status).toBe(204);
  });

  it("guest is accepted only from loopback (loopback_users), and a new user needs a password", async () => {
    const remote = await d.app.inject({
      url: "/api/overview",
      headers: { authorization: basicAuth("guest", "guest") },
      remoteAddress: "10.1.2.3",
    });
    expect(remote.statusCode).toBe(401);
    expect(remote.json()).toEqual({ error: "not_authorized", reason: "Login failed" });
    const res = await d.json("PUT", "/api/users/nopass", { tags: "management" });
    expect(res).toEqual({
      status: 400,
      body: { error: "bad_request", reason: "password or password_hash must be set" },
    });
  });

  it("lists and deletes users", async () => {
    const { body } = await d.json<Array<{ name: string }>>("GET", "/api/users");
    expect(body.map((u) => u.name)).toEqual(expect.arrayContaining(["guest", "alice"]));
    expect((await d.json("DELETE", "/api/users/alice")).status).toBe(204);
    expect((await d.json("GET", "/api/users/alice")).status).toBe(404);
  });
});

describe("exchanges", () => {
  it("declares (201/204), reads, lists and deletes an exchange", async () => {
    const put = (body: unknown) => d.json("PUT", "/api/exchanges/%2F/ex1", body);
    expect((await put({ type: "topic", durable: true })).status).toBe(201);
    expect((await put({ type: "topic", durable: true })).status).toBe(204);
    const { body } = await d.json("GET", "/api/exchanges/%2F/ex1");
    expect(body).toMatchObject({
      name: "ex1",
      vhost: "/",
      type: "topic",
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    });
    const list = await d.json<Array<{ name: string }>>("GET", "/api/exchanges/%2F");
    expect(list.body.map((x) => x.name)).toEqual(expect.arrayContaining(["", "amq.direct", "ex1"]));
    const dflt = await d.json("GET", "/api/exchanges/%2F/amq.default");
    expect(dflt.body).toMatchObject({ name: "", type: "direct" });
    expect((await d.json("DELETE", "/api/exchanges/%2F/ex1")).status).toBe(204);
    expect((await d.json("GET", "/api/exchanges/%2F/ex1")).status).toBe(404);
  });

  it("an inequivalent redeclare is 400 with RabbitMQ's reason", async () => {
    await d.json("PUT", "/api/exchanges/%2F/ex2", { type: "direct" });
    const res = await d.json<{ error: string; reason: string }>("PUT", "/api/exchanges/%2F/ex2", {
      type: "fanout",
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe("bad_request");
    expect(res.body.reason).toMatch(
      /^406 PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'ex2' in vhost '\/'/,
    );
  });

  it("refuses to delete a system exchange and an unknown one", async () => {
    expect((await d.json("DELETE", "/api/exchanges/%2F/amq.direct")).status).toBe(403);
    expect((await d.json("DELETE", "/api/exchanges/%2F/no-such")).status).toBe(404);
  });

  it("an unknown exchange type is 400", async () => {
    const res = await d.json<{ reason: string }>("PUT", "/api/exchanges/%2F/ex3", { type: "bogus" });
    expect(res.status).toBe(400);
    expect(res.body.reason).toContain("unknown exchange type 'bogus'");
  });
});

describe("queues", () => {
  it("declares a quorum queue and reports counts, leader and members", async () => {
    expect(
      (await d.json("PUT", "/api/queues/%2F/q1", { durable: true, arguments: { "x-max-length": 10 } }))
        .status,
    ).toBe(201);
    expect(
      (await d.json("PUT", "/api/queues/%2F/q1", { durable: true, arguments: { "x-max-length": 10 } }))
        .status,
    ).toBe(204);
    const { status, body } = await d.json("GET", "/api/queues/%2F/q1");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      name: "q1",
      vhost: "/",
      durable: true,
      auto_delete: false,
      exclusive: false,
      type: "quorum",
      leader: "n1",
      members: ["n1"],
      node: "n1",
      messages: 0,
      messages_ready: 0,
      messages_unacknowledged: 0,
      consumers: 0,
      arguments: { "x-max-length": 10, "x-queue-type": "quorum" },
    });
    const list = await d.json<Array<{ name: string }>>("GET", "/api/queues/%2F");
    expect(list.body.map((q) => q.name)).toContain("q1");
    const all = await d.json<Array<{ name: string }>>("GET", "/api/queues");
    expect(all.body.map((q) => q.name)).toContain("q1");
  });

  it("an inequivalent redeclare is 400", async () => {
    const res = await d.json<{ reason: string }>("PUT", "/api/queues/%2F/q1", {
      durable: true,
      arguments: { "x-max-length": 20 },
    });
    expect(res.status).toBe(400);
    expect(res.body.reason).toMatch(/^406 PRECONDITION_FAILED - inequivalent arg 'x-max-length'/);
  });

  it("purges, refuses if-empty on a non-empty queue, deletes", async () => {
    await d.json("POST", "/api/exchanges/%2F/amq.default/publish", { routing_key: "q1", payload: "a" });
    const refused = await d.json<{ reason: string }>("DELETE", "/api/queues/%2F/q1?if-empty=true");
    expect(refused.status).toBe(400);
    expect(refused.body.reason).toContain("not empty");
    expect((await d.json("DELETE", "/api/queues/%2F/q1/contents")).status).toBe(204);
    expect((await d.json<{ messages: number }>("GET", "/api/queues/%2F/q1")).body.messages).toBe(0);
    expect((await d.json("DELETE", "/api/queues/%2F/q1?if-empty=true")).status).toBe(204);
    expect((await d.json("GET", "/api/queues/%2F/q1")).status).toBe(404);
    expect((await d.json("DELETE", "/api/queues/%2F/q1")).status).toBe(404);
  });

  it("a non-durable declare makes a classic (transient) queue", async () => {
    expect((await d.json("PUT", "/api/queues/%2F/tq", { durable: false })).status).toBe(201);
    const { body } = await d.json("GET", "/api/queues/%2F/tq");
    expect(body).toMatchObject({ type: "classic", durable: false, leader: "n1" });
    expect((await d.json("DELETE", "/api/queues/%2F/tq")).status).toBe(204);
  });
});

describe("bindings", () => {
  it("binds exchange->queue and exchange->exchange, reads and deletes by properties_key", async () => {
    await d.json("PUT", "/api/exchanges/%2F/bx", { type: "direct" });
    await d.json("PUT", "/api/exchanges/%2F/bx2", { type: "fanout" });
    await d.json("PUT", "/api/queues/%2F/bq", {});
    const created = await d.call({
      method: "POST",
      url: "/api/bindings/%2F/e/bx/q/bq",
      payload: { routing_key: "rk", arguments: {} },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe("rk");
    const withArgs = await d.call({
      method: "POST",
      url: "/api/bindings/%2F/e/bx/q/bq",
      payload: { routing_key: "rk", arguments: { "x-tag": "v" } },
    });
    expect(withArgs.headers.location).toMatch(/^rk~/);
    expect((await d.json("POST", "/api/bindings/%2F/e/bx/e/bx2", { routing_key: "" })).status).toBe(201);

    const list = await d.json<Array<Record<string, unknown>>>("GET", "/api/bindings/%2F/e/bx/q/bq");
    expect(list.body).toHaveLength(2);
    expect(list.body[0]).toMatchObject({
      source: "bx",
      destination: "bq",
      destination_type: "queue",
      vhost: "/",
    });
    const one = await d.json("GET", "/api/bindings/%2F/e/bx/q/bq/rk");
    expect(one.body).toMatchObject({ routing_key: "rk", arguments: {}, properties_key: "rk" });
    const e2e = await d.json<Array<Record<string, unknown>>>("GET", "/api/bindings/%2F/e/bx/e/bx2");
    expect(e2e.body).toEqual([
      expect.objectContaining({ destination_type: "exchange", properties_key: "~" }),
    ]);
    const vhostList = await d.json<unknown[]>("GET", "/api/bindings/%2F");
    expect(vhostList.body.length).toBeGreaterThanOrEqual(3);
    // As RabbitMQ: the default exchange's implicit binding is listed too.
    const src = await d.json<Array<{ destination: string }>>("GET", "/api/exchanges/%2F/bx/bindings/source");
    expect(src.body.map((b) => b.destination).sort()).toEqual(["bq", "bq", "bx2"]);
    const dst = await d.json<Array<{ source: string }>>("GET", "/api/exchanges/%2F/bx2/bindings/destination");
    expect(dst.body.map((b) => b.source)).toEqual(["bx"]);
    const qb = await d.json<Array<{ source: string }>>("GET", "/api/queues/%2F/bq/bindings");
    expect(qb.body.map((b) => b.source).sort()).toEqual(["", "bx", "bx"]);

    // publish through the binding
    const routed = await d.json("POST", "/api/exchanges/%2F/bx/publish", {
      routing_key: "rk",
      payload: "via bx",
    });
    expect(routed.body).toEqual({ routed: true });

    expect((await d.json("DELETE", "/api/bindings/%2F/e/bx/q/bq/rk")).status).toBe(204);
    expect((await d.json("DELETE", `/api/bindings/%2F/e/bx/q/bq/${withArgs.headers.location}`)).status).toBe(
      204,
    );
    expect((await d.json("DELETE", "/api/bindings/%2F/e/bx/e/bx2/~")).status).toBe(204);
    expect((await d.json("DELETE", "/api/bindings/%2F/e/bx/q/bq/rk")).status).toBe(404);
    expect(
      (await d.json("POST", "/api/exchanges/%2F/bx/publish", { routing_key: "rk", payload: "x" })).body,
    ).toEqual({
      routed: false,
    });
  });

  it("binding to a missing queue or from a missing exchange is 404; the default exchange is 403", async () => {
    expect((await d.json("POST", "/api/bindings/%2F/e/bx/q/missing", {})).status).toBe(404);
    expect((await d.json("POST", "/api/bindings/%2F/e/missing/q/bq", {})).status).toBe(404);
    expect((await d.json("POST", "/api/bindings/%2F/e/amq.default/q/bq", { routing_key: "x" })).status).toBe(
      403,
    );
  });
});
