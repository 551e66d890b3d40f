/**
 * Three real nodes in-process, one HTTP door each: any node serves any client. Declare on one
 * node, publish via another, consume and ack via the third; every node reports the same queue.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type HttpCluster, startHttpCluster } from "./helpers.js";

let hc: HttpCluster;

beforeAll(async () => {
  hc = await startHttpCluster(3);
});
afterAll(async () => {
  await hc.close();
});

interface QueueJson {
  leader: string | null;
  members: string[];
  messages_ready: number;
  messages_unacknowledged: number;
}

describe("a three-node cluster over HTTP", () => {
  it("publish via one node, consume via another, ack settles it everywhere", async () => {
    const [n1, n2, n3] = hc.doors as [(typeof hc.doors)[0], (typeof hc.doors)[0], (typeof hc.doors)[0]];
    expect((await n1.json("PUT", "/api/queues/%2F/orders", { durable: true })).status).toBe(201);
    // Read-your-writes on the declaring node; the others catch up.
    const q = await eventually("the queue on every node with a leader", async () => {
      const all = await Promise.all(hc.doors.map((d) => d.json<QueueJson>("GET", "/api/queues/%2F/orders")));
      return all.every((r) => r.status === 200 && r.body.leader !== null) ? all[0]!.body : undefined;
    });
    expect([...q.members].sort()).toEqual(["n1", "n2", "n3"]);

    for (let i = 0; i < 5; i++) {
      const r = await n2.json("POST", "/api/exchanges/%2F/amq.default/publish", {
        routing_key: "orders",
        payload: `o${i}`,
      });
      expect(r.body).toEqual({ routed: true });
    }
    // Confirmed means committed: the figures (from the leader) show all five on any node.
    expect((await n3.json<QueueJson>("GET", "/api/queues/%2F/orders")).body.messages_ready).toBe(5);

    const got = await n3.json<Array<{ payload: string; delivery_id: string }>>(
      "POST",
      "/api/queues/%2F/orders/consume",
      {
        max: 5,
        wait_ms: 2000,
      },
    );
    expect(got.body.map((m) => m.payload)).toEqual(["o0", "o1", "o2", "o3", "o4"]);
    // Delivery ids belong to the node that issued them.
    const elsewhere = await n1.json("POST", "/api/queues/%2F/orders/ack", {
      delivery_ids: [got.body[0]!.delivery_id],
    });
    expect(elsewhere.body).toEqual({ settled: [], unknown: [got.body[0]!.delivery_id] });
    const acked = await n3.json<{ settled: string[] }>("POST", "/api/queues/%2F/orders/ack", {
      delivery_ids: got.body.map((m) => m.delivery_id),
    });
    expect(acked.body.settled).toHaveLength(5);
    for (const d of hc.doors) {
      expect((await d.json<QueueJson>("GET", "/api/queues/%2F/orders")).body).toMatchObject({
        messages_ready: 0,
        messages_unacknowledged: 0,
      });
    }
  });

  it("RabbitMQ's get works from every node", async () => {
    const [n1, n2, n3] = hc.doors as [(typeof hc.doors)[0], (typeof hc.doors)[0], (typeof hc.doors)[0]];
    await n1.json("POST", "/api/exchanges/%2F/amq.default/publish", { routing_key: "orders", payload: "g1" });
    await n2.json("POST", "/api/exchanges/%2F/amq.default/publish", { routing_key: "orders", payload: "g2" });
    const peek = await n3.json<Array<{ payload: string }>>("POST", "/api/queues/%2F/orders/get", {
      count: 2,
      ackmode: "ack_requeue_true",
      encoding: "auto",
    });
    expect(peek.body.map((m) => m.payload)).toEqual(["g1", "g2"]);
    const take = await n1.json<Array<{ payload: string }>>("POST", "/api/queues/%2F/orders/get", {
      count: 2,
      ackmode: "ack_requeue_false",
      encoding: "auto",
    });
    expect(take.body.map((m) => m.payload)).toEqual(["g1", "g2"]);
  });

  it("GET /api/nodes lists the three nodes and /metrics shows the queue's group", async () => {
    const nodes = await hc.doors[0]!.json<Array<{ name: string; running: boolean }>>("GET", "/api/nodes");
    expect(nodes.body.map((n) => n.name).sort()).toEqual(["n1", "n2", "n3"]);
    const metrics = await hc.doors[0]!.app.inject({ url: "/metrics" });
    expect(metrics.body).toMatch(/warren_raft_commit_index\{group="[^"]+",vhost="\/",queue="orders"\} \d+/);
    expect(metrics.body).toMatch(/warren_queue_messages_ready\{vhost="\/",queue="orders"\} 0/);
  });

  it("a queue declared over HTTP is led by the node that received the request (client-local)", async () => {
    const n3 = hc.doors[2]!;
    expect((await n3.json("PUT", "/api/queues/%2F/via-n3", { durable: true })).status).toBe(201);
    await eventually("every node reports n3 as the leader", async () => {
      const all = await Promise.all(hc.doors.map((d) => d.json<QueueJson>("GET", "/api/queues/%2F/via-n3")));
      return all.every((r) => r.status === 200 && r.body.leader === "n3");
    });
  });

  it("a PUT of a new queue answers once the queue has a leader: a publish right after is routed", async () => {
    const n2 = hc.doors[1]!;
    expect((await n2.json("PUT", "/api/queues/%2F/led-at-once", { durable: true })).status).toBe(201);
    // A queue listing does not wait for a leader: the declare did.
    const q = await n2.json<QueueJson>("GET", "/api/queues/%2F/led-at-once");
    expect(q.body.leader).toBe("n2");
    const r = await n2.json("POST", "/api/exchanges/%2F/amq.default/publish", {
      routing_key: "led-at-once",
      payload: "first",
    });
    expect(r.body).toEqual({ routed: true });
  });

  it("without a quorum a publish is 503 with Retry-After, and /ready says 503", async () => {
    const n1 = hc.doors[0]!;
    await hc.cluster.kill("n2");
    await hc.cluster.kill("n3");
    const t0 = Date.now();
    const res = await n1.call({
      method: "POST",
      url: "/api/exchanges/%2F/amq.default/publish",
      payload: { routing_key: "orders", payload: "lost?" },
    });
    expect(res.statusCode).toBe(503);
    expect(res.headers["retry-after"]).toBeDefined();
    expect(res.json().error).toBe("service_unavailable");
    // Bounded by the proposal timeout (3 s in the harness) plus forwarding slack.
    expect(Date.now() - t0).toBeLessThan(10_000);
    await eventually("not ready", async () => (await n1.app.inject({ url: "/ready" })).statusCode === 503);
    // The door itself keeps serving.
    expect((await n1.app.inject({ url: "/health" })).statusCode).toBe(200);
  });
});
