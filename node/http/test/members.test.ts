/**
 * The membership routes (a Warren extension: the HTTP form of rabbitmq-queues add_member,
 * delete_member, grow, shrink) on three real nodes: the queue record's `members` follows.
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

interface Members {
  members: string[];
  voters: string[];
  learners: string[];
  leader: string | null;
  settled: boolean;
}

const sorted = (xs: readonly string[]) => [...xs].sort();

describe("queue membership over HTTP (Warren extension)", () => {
  it("add and delete a member: the group and GET /api/queues follow", async () => {
    const [n1, n2] = hc.doors as [(typeof hc.doors)[0], (typeof hc.doors)[0]];
    const put = await n1.json("PUT", "/api/queues/%2F/m1", {
      durable: true,
      arguments: { "x-quorum-initial-group-size": 2 },
    });
    expect(put.status).toBe(201);
    const start = await eventually("two settled members", async () => {
      const r = await n1.json<Members>("GET", "/api/queues/%2F/m1/members");
      return r.status === 200 && r.body.settled && r.body.leader !== null ? r.body : undefined;
    });
    expect(start.members).toHaveLength(2);
    const third = ["n1", "n2", "n3"].find((n) => !start.members.includes(n))!;

    const added = await n2.json<Members>("POST", "/api/queues/%2F/m1/members", { node: third });
    expect(added.status).toBe(200);
    expect(added.body).toMatchObject({ settled: true, learners: [] });
    expect(sorted(added.body.voters)).toEqual(["n1", "n2", "n3"]);
    const listed = await n2.json<{ members: string[] }>("GET", "/api/queues/%2F/m1");
    expect(sorted(listed.body.members)).toEqual(["n1", "n2", "n3"]);

    const gone = await n1.json<Members>("DELETE", `/api/queues/%2F/m1/members/${start.members[0]}`);
    expect(gone.status).toBe(200);
    expect(gone.body.settled).toBe(true);
    expect(gone.body.voters).not.toContain(start.members[0]);
    expect(gone.body.voters).toHaveLength(2);
  });

  it("grow adds a node to every quorum queue missing it; shrink removes it again", async () => {
    const [n1] = hc.doors as [(typeof hc.doors)[0]];
    for (const q of ["g1", "g2"]) {
      await n1.json("PUT", `/api/queues/%2F/${q}`, {
        durable: true,
        arguments: { "x-quorum-initial-group-size": 1 },
      });
    }
    const only = await eventually("g1's one member", async () => {
      const r = await n1.json<Members>("GET", "/api/queues/%2F/g1/members");
      return r.status === 200 && r.body.settled ? r.body.members[0] : undefined;
    });
    const target = ["n1", "n2", "n3"].find((n) => n !== only)!;
    const grow = await n1.json<{ name: string; ok: boolean; settled?: boolean }[]>(
      "POST",
      `/api/nodes/${target}/grow`,
      { strategy: "all", queue_pattern: "^g[12]$" },
    );
    expect(grow.status).toBe(200);
    for (const r of grow.body) expect(r).toMatchObject({ ok: true, settled: true });
    for (const q of ["g1", "g2"]) {
      const m = (await n1.json<Members>("GET", `/api/queues/%2F/${q}/members`)).body;
      expect(m.voters).toContain(target);
    }
    const shrink = await n1.json<{ name: string; ok: boolean; error?: string }[]>(
      "POST",
      `/api/nodes/${target}/shrink`,
      {},
    );
    expect(shrink.status).toBe(200);
    const byName = new Map(shrink.body.map((r) => [r.name, r]));
    for (const q of ["g1", "g2"]) {
      const m = (await n1.json<Members>("GET", `/api/queues/%2F/${q}/members`)).body;
      // The node stays only where it is the last member (never removed: its data is nowhere else).
      if (m.members.length === 1 && m.members[0] === target) expect(byName.get(q)?.ok).toBe(false);
      else expect(m.members).not.toContain(target);
    }
  });

  it("refuses unknown queues, unknown nodes and bad strategies with RabbitMQ-style errors", async () => {
    const [n1] = hc.doors as [(typeof hc.doors)[0]];
    expect((await n1.json("GET", "/api/queues/%2F/nope/members")).status).toBe(404);
    await n1.json("PUT", "/api/queues/%2F/m2", { durable: true });
    const unknown = await n1.json<{ error: string; reason: string }>("POST", "/api/queues/%2F/m2/members", {
      node: "n9",
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.reason).toContain("n9");
    expect((await n1.json("POST", "/api/nodes/n1/grow", { strategy: "most" })).status).toBe(400);
    const docs = await n1.json<{ paths: Record<string, unknown> }>("GET", "/api/docs");
    expect(Object.keys(docs.body.paths)).toEqual(
      expect.arrayContaining(["/api/queues/{vhost}/{name}/members", "/api/nodes/{node}/grow"]),
    );
  });
});
