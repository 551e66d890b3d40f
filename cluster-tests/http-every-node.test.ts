/**
 * The HTTP API on a real three-node cluster (child processes on loopback): every node serves
 * every operation, messages published through one node are consumed through another, and bad
 * requests get the documented errors without hurting the node.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ClusterNode, seg, TestCluster, waitFor } from "./harness/index.js";

const MAX_MESSAGE = 16 * 1024;
const BODY_LIMIT = 256 * 1024;
const V = seg("/");

interface Message {
  payload: string;
  redelivered: boolean;
  routing_key: string;
  delivery_id?: string;
  delivery_count?: number;
}

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start({
    env: { WARREN_MAX_MESSAGE_SIZE: String(MAX_MESSAGE), WARREN_HTTP_BODY_LIMIT: String(BODY_LIMIT) },
  });
});

afterEach(({ task }) => {
  // The nodes' own account of a failure: the last lines of each node's output.
  if (task.result?.state === "fail") console.error(cluster?.tail(60));
});

afterAll(async () => {
  await cluster?.destroy();
});

/** Wait until `node` knows the queue (metadata reaches followers a few ms after the commit). */
async function seesQueue(node: ClusterNode, name: string): Promise<void> {
  await waitFor(async () => (await node.http.get(`/api/queues/${V}/${seg(name)}`)).status === 200, {
    timeoutMs: 10_000,
    what: `${node.id} to see queue ${name}`,
  });
}

async function publish(node: ClusterNode, exchange: string, key: string, payload: string) {
  const path = exchange === "" ? "amq.default" : seg(exchange);
  const res = await node.http.post(`/api/exchanges/${V}/${path}/publish`, {
    routing_key: key,
    payload,
    payload_encoding: "string",
    properties: { delivery_mode: 2 },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as { routed: boolean };
}

describe("every node serves the management API", () => {
  it("declares, binds, publishes and gets through each node", async () => {
    for (const n of cluster.nodes) {
      const ex = `ex-${n.id}`;
      const q = `q-${n.id}`;
      expect((await n.http.put(`/api/exchanges/${V}/${ex}`, { type: "direct", durable: true })).status).toBe(
        201,
      );
      expect((await n.http.put(`/api/queues/${V}/${q}`, { durable: true })).status).toBe(201);
      // A redeclare with the same properties is a no-op (204), as RabbitMQ.
      expect((await n.http.put(`/api/queues/${V}/${q}`, { durable: true })).status).toBe(204);
      const bind = await n.http.post(`/api/bindings/${V}/e/${ex}/q/${q}`, { routing_key: "k" });
      expect(bind.status).toBe(201);
      expect(await publish(n, ex, "k", `hello via ${n.id}`)).toEqual({ routed: true });
      expect(await publish(n, ex, "other", "nobody")).toEqual({ routed: false });
      const got = await n.http.post<Message[]>(`/api/queues/${V}/${q}/get`, {
        count: 5,
        ackmode: "ack_requeue_false",
        encoding: "auto",
      });
      expect(got.status).toBe(200);
      expect(got.body.map((m) => m.payload)).toEqual([`hello via ${n.id}`]);
    }
    // Every node lists every node's objects once the metadata reached it.
    for (const n of cluster.nodes) {
      for (const m of cluster.nodes) await seesQueue(n, `q-${m.id}`);
      const bindings = await n.http.get<{ source: string; destination: string }[]>(`/api/bindings/${V}`);
      for (const m of cluster.nodes) {
        expect(bindings.body).toContainEqual(
          expect.objectContaining({ source: `ex-${m.id}`, destination: `q-${m.id}` }),
        );
      }
    }
  });

  it("consumes, acks and nacks through each node", async () => {
    for (const n of cluster.nodes) {
      const q = `cq-${n.id}`;
      expect((await n.http.put(`/api/queues/${V}/${q}`, {})).status).toBe(201);
      for (const p of ["a", "b"]) expect(await publish(n, "", q, p)).toEqual({ routed: true });
      const first = await n.http.post<Message[]>(`/api/queues/${V}/${q}/consume`, { max: 2, wait_ms: 5000 });
      expect(first.status).toBe(200);
      expect(first.body.map((m) => m.payload).sort()).toEqual(["a", "b"]);
      const a = first.body.find((m) => m.payload === "a") as Message;
      const b = first.body.find((m) => m.payload === "b") as Message;
      const acked = await n.http.post<{ settled: string[] }>(`/api/queues/${V}/${q}/ack`, {
        delivery_ids: [a.delivery_id],
      });
      expect(acked.body.settled).toEqual([a.delivery_id]);
      const nacked = await n.http.post<{ settled: string[] }>(`/api/queues/${V}/${q}/nack`, {
        delivery_ids: [b.delivery_id],
        requeue: true,
      });
      expect(nacked.body.settled).toEqual([b.delivery_id]);
      const again = await n.http.post<Message[]>(`/api/queues/${V}/${q}/consume`, { max: 1, wait_ms: 5000 });
      expect(again.body).toHaveLength(1);
      expect(again.body[0]).toMatchObject({ payload: "b", redelivered: true, delivery_count: 1 });
      await n.http.post(`/api/queues/${V}/${q}/ack`, { delivery_ids: [again.body[0]?.delivery_id] });
      await waitFor(
        async () => (await n.http.get<{ messages: number }>(`/api/queues/${V}/${q}`)).body.messages === 0,
        { timeoutMs: 10_000, what: `${q} to be empty` },
      );
    }
  });

  it("publishes through one node and consumes through another", async () => {
    const [n1, n2, n3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    expect((await n1.http.put(`/api/queues/${V}/cross`, {})).status).toBe(201);
    await seesQueue(n2, "cross");
    await seesQueue(n3, "cross");
    const sent = Array.from({ length: 30 }, (_, i) => `m${i}`);
    for (const p of sent) expect(await publish(n2, "", "cross", p)).toEqual({ routed: true });
    const received: string[] = [];
    await waitFor(
      async () => {
        const res = await n3.http.post<Message[]>(`/api/queues/${V}/cross/consume`, {
          max: 50,
          wait_ms: 2000,
        });
        const ids = res.body.map((m) => m.delivery_id);
        if (ids.length > 0) await n3.http.post(`/api/queues/${V}/cross/ack`, { delivery_ids: ids });
        received.push(...res.body.map((m) => m.payload));
        return received.length >= sent.length;
      },
      { timeoutMs: 20_000, what: "every message through n3" },
    );
    // Order is kept: one publisher, one queue, one consumer.
    expect(received).toEqual(sent);
  });
});

describe("bad requests", () => {
  it("get the documented errors and the node keeps serving", async () => {
    for (const n of cluster.nodes) {
      const wrongType = await n.http.put(`/api/queues/${V}/typed`, { durable: "maybe" });
      expect(wrongType.status).toBe(400);
      expect(wrongType.body).toMatchObject({ error: "bad_request" });

      const malformed = await n.http.request("PUT", `/api/queues/${V}/typed`, "{not json");
      expect(malformed.status).toBe(400);
      expect(malformed.body).toMatchObject({ error: "bad_request" });

      const unknownVhost = await n.http.put(`/api/queues/${seg("no-such-vhost")}/q`, {});
      expect(unknownVhost.status).toBe(404);
      expect(unknownVhost.body).toEqual({ error: "Object Not Found", reason: "Not Found" });

      const unknownRoute = await n.http.get("/api/no-such-thing");
      expect(unknownRoute.status).toBe(404);

      const tooBig = await n.http.post(`/api/exchanges/${V}/amq.default/publish`, {
        routing_key: `q-${n.id}`,
        payload: "x".repeat(MAX_MESSAGE + 1),
        payload_encoding: "string",
        properties: {},
      });
      expect(tooBig.status).toBe(400);
      expect(tooBig.body).toMatchObject({ error: "bad_request" });
      expect((tooBig.body as { reason: string }).reason).toContain("larger than configured max size");

      const overLimit = await n.http.post(`/api/exchanges/${V}/amq.default/publish`, {
        routing_key: `q-${n.id}`,
        payload: "y".repeat(BODY_LIMIT + 1),
        payload_encoding: "string",
        properties: {},
      });
      expect(overLimit.status).toBe(413);
      expect(overLimit.body).toMatchObject({ error: "bad_request" });

      const badAuth = await new (n.http.constructor as typeof import("./harness/http.js").HttpClient)(
        n.http.baseUrl,
        { user: "guest", password: "wrong" },
      ).get("/api/overview");
      expect(badAuth.status).toBe(401);

      // Still serving: reads, writes and readiness.
      expect((await n.http.get("/ready")).status).toBe(200);
      expect(await publish(n, "", `q-${n.id}`, "still here")).toEqual({ routed: true });
      const got = await n.http.post<Message[]>(`/api/queues/${V}/q-${n.id}/get`, {
        count: 1,
        ackmode: "ack_requeue_false",
        encoding: "auto",
      });
      expect(got.body.map((m) => m.payload)).toEqual(["still here"]);
    }
  });
});
