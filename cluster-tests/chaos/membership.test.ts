/**
 * Membership under traffic (issue 6): while clients publish and consume on every node, a fourth
 * node joins the running cluster (`WARREN_JOIN`), the queue's replicas move onto it (add_member,
 * then delete_member of the node leading the queue, so leadership moves too), and the node that
 * lost its replica is killed and forgotten (forget_cluster_node). Nothing confirmed is lost,
 * nothing unexpected is delivered (checker.ts).
 *
 * The fourth node is started here, outside the proxies: it reaches the others' Raft listeners
 * directly and they learn its address from the metadata.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePorts, HttpClient, NodeProcess, seg, waitFor } from "../harness/index.js";
import { linkName } from "./proxied-cluster.js";
import { agreedLeader, PHASE_MS, Scenario } from "./scenario.js";
import { ALL_NODES, useChaosCluster } from "./suite.js";

const HOST = "127.0.0.1";
const V = seg("/");
const { cluster } = useChaosCluster("membership scenario");

interface Members {
  members: string[];
  voters: string[];
  learners: string[];
  leader: string | null;
  settled: boolean;
}

let extra: { proc: NodeProcess; dir: string } | undefined;
afterAll(async () => {
  if (extra === undefined) return;
  if (extra.proc.running) await extra.proc.kill();
  await rm(extra.dir, { recursive: true, force: true });
});

/** Starts n4 with `join`, its peers being the three nodes' Raft listeners (behind the proxies). */
async function startFourthNode(): Promise<{ id: string; http: HttpClient; proc: NodeProcess }> {
  const secretFile = cluster().secretFile();
  if (secretFile === undefined) throw new Error("the membership scenario needs the nodes the suite starts");
  const dir = await mkdtemp(join(tmpdir(), "warren-chaos-n4-"));
  const [http, raft, amqp] = (await freePorts(3, HOST)) as [number, number, number];
  const peers = ALL_NODES.map(
    (id) => `${id}=${cluster().proxy(linkName(ALL_NODES.find((x) => x !== id)!, id)).upstream}`,
  );
  const proc = new NodeProcess("n4", {
    WARREN_NODE_ID: "n4",
    WARREN_DATA_DIR: join(dir, "n4"),
    WARREN_HTTP_HOST: HOST,
    WARREN_HTTP_PORT: String(http),
    WARREN_RAFT_HOST: HOST,
    WARREN_RAFT_PORT: String(raft),
    WARREN_AMQP_HOST: HOST,
    WARREN_AMQP_PORT: String(amqp),
    WARREN_CLUSTER_SECRET_FILE: secretFile,
    WARREN_LOG_LEVEL: "info",
    WARREN_PEERS: peers.join(","),
    WARREN_JOIN: "true",
  });
  extra = { proc, dir };
  proc.start();
  const client = new HttpClient(`http://${HOST}:${http}`, { timeoutMs: 45_000 });
  await proc.waitForReadyLine(90_000);
  await waitFor(async () => (await client.get("/ready")).status === 200, {
    timeoutMs: 90_000,
    what: "n4 /ready",
    intervalMs: 100,
  });
  return { id: "n4", http: client, proc };
}

describe("chaos: membership changes", () => {
  it("a fourth node joins, the queue's replicas move onto it, a node is forgotten: nothing lost", async () => {
    const s = await Scenario.begin(cluster(), "membership");
    await s.run(PHASE_MS);

    s.fault("join-n4");
    const n4 = await startFourthNode();
    s.note("n4 ready");
    const admin = new HttpClient(cluster().node("n1").direct.baseUrl, { timeoutMs: 45_000 });
    await waitFor(
      async () => {
        const nodes = await admin.get<{ name: string; running: boolean }[]>("/api/nodes");
        return nodes.body.some((n) => n.name === "n4" && n.running);
      },
      { timeoutMs: 20_000, what: "n1 lists n4 as running" },
    );

    s.fault("add-member-n4");
    const added = await admin.post<Members>(`/api/queues/${V}/${s.queue}/members`, { node: "n4" });
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body.settled).toBe(true);
    expect(added.body.voters).toContain("n4");
    s.note("n4 votes");
    await s.waitConfirms(10);

    const leader = await agreedLeader(cluster(), s.queue, ALL_NODES);
    s.fault(`delete-member-${leader}`);
    const removed = await admin.request<Members>("DELETE", `/api/queues/${V}/${s.queue}/members/${leader}`);
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body.settled).toBe(true);
    expect(removed.body.voters).not.toContain(leader);
    expect(removed.body.voters).toContain("n4");
    s.note("leader's replica moved");
    await s.waitConfirms(10);
    await s.run(PHASE_MS);

    // The node that lost its replica dies and is forgotten through another node.
    const survivor = ALL_NODES.find((n) => n !== leader)!;
    s.fault(`kill-and-forget-${leader}`);
    await cluster().kill(leader);
    const forgot = await cluster()
      .node(survivor)
      .direct.request<{ queues: number }>("DELETE", `/api/nodes/${leader}`);
    expect(forgot.status, JSON.stringify(forgot.body)).toBe(200);
    await waitFor(
      async () => {
        const nodes = await n4.http.get<{ name: string }[]>("/api/nodes");
        return !nodes.body.some((n) => n.name === leader);
      },
      { timeoutMs: 20_000, what: `${leader} gone from n4's node list` },
    );
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    const q = await n4.http.get<{ members: string[] }>(`/api/queues/${V}/${s.queue}`);
    expect(q.body.members).toContain("n4");
    expect(q.body.members).not.toContain(leader);
    await s.finish();
  });
});
