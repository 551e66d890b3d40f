/**
 * Faults on a real three-node cluster (child processes): a queue leader killed with SIGKILL in
 * the middle of a publish stream, and a restart of every node (SIGTERM of a busy leader:
 * shutdown.test.ts). What a user must see: every confirmed publish is consumed afterwards, a new
 * leader serves within seconds, and everything committed (messages and metadata) survives
 * restarts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ApiClient } from "../node/cli/api-client.js";
import { gatherStatus, renderStatus } from "../node/cli/cluster-status.js";
import {
  agreedLeaderOf,
  type ClusterNode,
  drainQueue,
  leaderOf as harnessLeaderOf,
  tryPublish as harnessTryPublish,
  queueInfo,
  seg,
  TestCluster,
  waitFor,
} from "./harness/index.js";

const V = seg("/");
/** "Within a few seconds" on a loaded 2-core machine: election timeout 1-2 s plus slack. */
const FAILOVER_BUDGET_MS = 10_000;

interface Message {
  payload: string;
}

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start();
});

afterEach(({ task }) => {
  // The nodes' own account of a failure: the last lines of each node's output.
  if (task.result?.state === "fail") console.error(cluster?.tail(60));
});

afterAll(async () => {
  await cluster?.destroy();
});

const leaderOf = (via: ClusterNode, name: string, not?: string) =>
  harnessLeaderOf(via.http, name, FAILOVER_BUDGET_MS * 2, not);
const agreedLeader = (name: string) =>
  agreedLeaderOf(
    cluster.running().map((n) => n.http),
    name,
    FAILOVER_BUDGET_MS * 2,
  );
const tryPublish = (n: ClusterNode, queue: string, payload: string) =>
  harnessTryPublish(n.http, queue, payload);

describe("kill -9 of a queue leader mid-stream", () => {
  it("loses no confirmed message and a new leader serves within seconds", async () => {
    const n1 = cluster.node("n1");
    expect((await n1.http.put(`/api/queues/${V}/stream`, {})).status).toBe(201);
    await leaderOf(n1, "stream");
    for (const n of cluster.nodes) {
      await waitFor(() => queueInfo(n.http, "/", "stream"), {
        timeoutMs: 10_000,
        what: `${n.id} to know the queue`,
      });
    }

    const confirmed = new Set<string>();
    let killedAt = 0;
    let victimId = "";
    let firstConfirmAfterKill = 0;
    let stop = false;
    // Two publishers over every running node in turn, as clients behind a load balancer would.
    const publishers = [0, 1].map(async (w) => {
      for (let i = 0; !stop; i++) {
        const targets = cluster.running();
        const n = targets[i % targets.length] as ClusterNode;
        const payload = `w${w}-${i}`;
        const startedAfterKill = killedAt > 0;
        if (await tryPublish(n, "stream", payload)) {
          confirmed.add(payload);
          // Only a publish begun after the kill proves a new leader commits.
          if (startedAfterKill && firstConfirmAfterKill === 0) firstConfirmAfterKill = Date.now();
        }
      }
    });
    try {
      await waitFor(() => confirmed.size >= 60, { timeoutMs: 20_000, what: "60 confirms before the kill" });
      // The leader right now, as every node sees it (leadership may have moved since the
      // declare: the rebalancer; one node's view may lag).
      victimId = await agreedLeader("stream");
      const exit = await cluster.node(victimId).proc.kill();
      // From here the old leader is certainly dead: a publish begun later needs a new leader.
      killedAt = Date.now();
      expect(exit.signal).toBe("SIGKILL");
      const survivor = cluster.running()[0] as ClusterNode;
      const newLeader = await leaderOf(survivor, "stream", victimId);
      expect(newLeader).not.toBe(victimId);
      const before = confirmed.size;
      await waitFor(() => confirmed.size >= before + 60, {
        timeoutMs: 30_000,
        what: "60 more confirms after the kill",
      });
    } finally {
      stop = true;
      await Promise.all(publishers);
    }
    const failoverMs = firstConfirmAfterKill - killedAt;
    expect(failoverMs).toBeGreaterThan(0);
    expect(failoverMs).toBeLessThan(FAILOVER_BUDGET_MS);
    console.log(`failover: first confirmed publish ${failoverMs} ms after kill -9 of ${victimId}`);

    const survivor = cluster.running()[0] as ClusterNode;
    // `warren status` through a survivor: the dead node is down, the queue has its new leader.
    const status = await gatherStatus(
      new ApiClient({ urls: [survivor.http.baseUrl], user: "guest", password: "guest" }),
    );
    expect(status.nodes.find((n) => n.id === victimId)?.state).toBe("down");
    expect(status.nodes.filter((n) => n.state === "ready")).toHaveLength(2);
    const group = status.groups.find((g) => g.label === "stream");
    expect(group?.leader).not.toBe(victimId);
    expect(group?.indexes[victimId]).toBeUndefined();
    expect(renderStatus(status)).toContain("2/3 nodes ready");

    const seen = await drainQueue(survivor.http, "stream", confirmed);
    expect(seen.size).toBeGreaterThanOrEqual(confirmed.size);

    // The killed node comes back with its data and catches up.
    await cluster.restart(victimId);
    await waitFor(async () => (await queueInfo(cluster.node(victimId).http, "/", "stream")).leader !== null, {
      timeoutMs: 20_000,
      what: "the restarted node to know the queue's leader",
    });
  });
});

describe("restart of every node", () => {
  it("keeps every confirmed message and all metadata", async () => {
    const n1 = cluster.node("n1");
    const vh = seg("persist");
    expect((await n1.http.put(`/api/vhosts/${vh}`, { description: "survives" })).status).toBe(201);
    expect(
      (await n1.http.put("/api/users/alice", { password: "s3cret-pass", tags: "management" })).status,
    ).toBe(201);
    // guest created the vhost, so it already has `.* .* .*` there (RabbitMQ's management API).
    expect(
      (await n1.http.put(`/api/permissions/${vh}/guest`, { configure: ".*", write: ".*", read: ".*" }))
        .status,
    ).toBe(204);
    expect(
      (await n1.http.put(`/api/permissions/${vh}/alice`, { configure: ".*", write: ".*", read: ".*" }))
        .status,
    ).toBe(201);
    expect((await n1.http.put(`/api/exchanges/${vh}/events`, { type: "topic", durable: true })).status).toBe(
      201,
    );
    expect(
      (await n1.http.put(`/api/queues/${vh}/audit`, { durable: true, arguments: { "x-max-length": 1000 } }))
        .status,
    ).toBe(201);
    expect(
      (await n1.http.post(`/api/bindings/${vh}/e/events/q/audit`, { routing_key: "order.#" })).status,
    ).toBe(201);
    const confirmed: string[] = [];
    for (let i = 0; i < 25; i++) {
      const via = cluster.nodes[i % 3] as ClusterNode;
      await waitFor(async () => (await via.http.get(`/api/exchanges/${vh}/events`)).status === 200, {
        timeoutMs: 10_000,
        what: `${via.id} to see the exchange`,
      });
      const res = await via.http.post<{ routed: boolean }>(`/api/exchanges/${vh}/events/publish`, {
        routing_key: `order.${i}`,
        payload: `event-${i}`,
        payload_encoding: "string",
        properties: { delivery_mode: 2 },
      });
      expect(res.body).toEqual({ routed: true });
      confirmed.push(`event-${i}`);
    }

    for (const n of cluster.nodes) {
      const exit = await n.proc.stop("SIGTERM");
      expect(exit, `${n.id} exit\n${n.proc.tail()}`).toEqual({ code: 0, signal: null });
    }
    for (const n of cluster.nodes) n.proc.start();
    await cluster.waitReady(cluster.nodes.map((n) => n.id));

    for (const n of cluster.nodes) {
      await waitFor(async () => (await n.http.get(`/api/queues/${vh}/audit`)).status === 200, {
        timeoutMs: 20_000,
        what: `${n.id} to know the queue after restart`,
      });
      expect((await n.http.get(`/api/vhosts/${vh}`)).body).toMatchObject({
        name: "persist",
        description: "survives",
      });
      expect((await n.http.get("/api/users/alice")).body).toMatchObject({ name: "alice" });
      expect((await n.http.get(`/api/permissions/${vh}/alice`)).body).toMatchObject({ configure: ".*" });
      expect((await n.http.get(`/api/exchanges/${vh}/events`)).body).toMatchObject({
        type: "topic",
        durable: true,
      });
      expect((await n.http.get(`/api/queues/${vh}/audit`)).body).toMatchObject({
        durable: true,
        arguments: { "x-max-length": 1000 },
      });
      const b = await n.http.get<unknown[]>(`/api/bindings/${vh}/e/events/q/audit`);
      expect(b.body).toEqual([expect.objectContaining({ routing_key: "order.#" })]);
    }
    // The user's password survived too: alice logs in.
    const alice = new (n1.http.constructor as typeof import("./harness/http.js").HttpClient)(
      n1.http.baseUrl,
      {
        user: "alice",
        password: "s3cret-pass",
      },
    );
    expect((await alice.get("/api/whoami")).body).toMatchObject({ name: "alice" });

    const got = await waitFor(
      async () => {
        const res = await n1.http.post<Message[]>(`/api/queues/${vh}/audit/get`, {
          count: 100,
          ackmode: "ack_requeue_false",
          encoding: "auto",
        });
        return res.status === 200 ? res.body : undefined;
      },
      { timeoutMs: 20_000, what: "get from the restarted queue" },
    );
    expect(got.map((m) => m.payload)).toEqual(confirmed);
  });
});
