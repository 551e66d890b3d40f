/**
 * Membership changes while messages flow, as RabbitMQ 3.10+ quorum queues offer them: a fourth
 * node joins the running cluster (join_cluster), a queue's replicas move onto it (add_member,
 * delete_member, including the node that leads the queue), and a dead node is forgotten
 * (forget_cluster_node) with its replicas replaced. No confirmed message is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BrokerService } from "../broker-service.js";
import { META_GROUP } from "../meta-client.js";
import {
  BrokerCluster,
  client,
  declareLed,
  declareSettled,
  drainBodies,
  durableExchange,
  eventually,
  text,
} from "./harness.js";

const sorted = (xs: readonly string[]) => [...xs].sort();

/** One publisher with confirms, one at a time, until stopped: what it was told is committed. */
function publisher(broker: BrokerService, ctx: ReturnType<typeof client>, queue: string) {
  const confirmed: string[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running; i++) {
      const body = `${queue}#${i}`;
      try {
        const out = await broker.publish(ctx, {
          exchange: "",
          routingKey: queue,
          properties: { deliveryMode: 2 },
          body: text(body),
          mandatory: false,
        });
        if (out.kind === "routed") confirmed.push(body);
      } catch {
        // Not confirmed (no quorum for a moment): the publisher would republish.
      }
    }
  })();
  return {
    confirmed,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Takes every message of the queue through `broker` (basic.get with no-ack). */
const drain = async (broker: BrokerService, queue: string) => new Set(await drainBodies(broker, queue));

describe("membership changes under traffic", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3, {}, { snapshotEvery: 50 });
  });
  afterAll(async () => {
    await c.close();
  });

  it("a fourth node joins the running cluster: every node learns it, it votes in the metadata group", async () => {
    const n4 = await c.join("n4");
    await eventually("n4 ready", () => n4.broker.isReady(), 20_000);
    for (const n of c.nodes) {
      await eventually(`${n.id} lists n4`, async () =>
        (await n.broker.listNodes()).some((x) => x.name === "n4" && x.running),
      );
    }
    const leader = c.nodes.find((n) => n.host.leaderOf(META_GROUP) === n.id)!;
    expect(sorted(leader.host.status(META_GROUP).conf.voters)).toEqual(["n1", "n2", "n3", "n4"]);
    // Its copy of the metadata is complete: it serves the default user like any node.
    expect(n4.broker.listPermissions({ user: "guest" }).length).toBeGreaterThan(0);
  });

  it("add_member then delete_member of the leader's node move a queue's replicas while publishes flow; none is lost", async () => {
    const n1 = c.node("n1");
    const q = "moving";
    const before = await declareSettled(n1.broker, q, { "x-quorum-initial-group-size": 3 });
    const outsider = ["n1", "n2", "n3", "n4"].find((n) => !before.members.includes(n))!;
    const pub = publisher(c.node("n2").broker, client(c.node("n2")), q);
    // Past a snapshot (every 50 entries here): the new member catches up from one, live entries included.
    await eventually("first confirms", () => pub.confirmed.length >= 120, 20_000);

    const added = await n1.broker.addQueueMember("guest", "/", q, outsider, { timeoutMs: 20_000 });
    expect(added.settled).toBe(true);
    expect(sorted(added.voters)).toEqual(sorted([...before.members, outsider]));

    // Remove the node leading the queue: leadership moves away first.
    const leader = added.leader!;
    const removed = await n1.broker.deleteQueueMember("guest", "/", q, leader, { timeoutMs: 20_000 });
    expect(removed.settled).toBe(true);
    expect(removed.voters).not.toContain(leader);
    expect(removed.leader).not.toBe(leader);
    await eventually(`${leader} dropped its replica`, () =>
      c
        .node(leader)
        .host.groupIds()
        .every((g) => !g.includes(`:${q}:`)),
    );
    const info = await n1.broker.getQueue("/", q);
    expect(sorted(info!.members)).toEqual(sorted(removed.voters));

    const mark = pub.confirmed.length;
    await eventually("confirms after the move", () => pub.confirmed.length >= mark + 20);
    await pub.stop();
    // The new replica (it caught up from a snapshot with its live entries, then live entries)
    // leads while the queue is drained: it holds every message.
    const group = info!.record.group!;
    if (removed.leader !== outsider) await c.node(removed.leader!).host.transferLeadership(group, outsider);
    const got = await drain(c.node(outsider).broker, q);
    const lost = pub.confirmed.filter((b) => !got.has(b));
    expect(lost).toEqual([]);
  });

  it("forget_cluster_node: a dead node leaves the cluster and its replicas are replaced", async () => {
    const n2 = c.node("n2");
    const q = "survivor";
    const { members } = await declareSettled(n2.broker, q);
    for (let i = 0; i < 50; i++) {
      await n2.broker.publish(client(n2), {
        exchange: "",
        routingKey: q,
        properties: {},
        body: text(`s${i}`),
        mandatory: false,
      });
    }
    // A member of the queue (one the cluster started with, not n2) dies, and is forgotten through n2.
    const victim = members.find((m) => m !== "n2" && m !== "n4")!;
    await c.kill(victim);
    const forgot = await n2.broker.forgetNode("guest", victim);
    expect(forgot.queues).toBeGreaterThan(0);
    const after = await eventually(
      "replicas replaced",
      async () => {
        const m = await n2.broker.queueMembers("/", q);
        return m.settled ? m : undefined;
      },
      30_000,
    );
    expect(after.members).not.toContain(victim);
    expect(after.members).toHaveLength(3);
    expect((await n2.broker.listNodes()).map((n) => n.name)).not.toContain(victim);
    const got = await drain(n2.broker, q);
    expect(got.size).toBe(50);
  });

  it("a joined node and a configured node restart: both come back ready with the queue's data", async () => {
    const q = "survivor";
    const alive = c.nodes.filter((n) => n.alive).map((n) => n.id);
    const configured = alive.find((id) => id !== "n4")!;
    for (const id of ["n4", configured]) {
      await c.kill(id);
      const n = await c.restart(id);
      await eventually(`${id} ready again`, () => n.broker.isReady(), 20_000);
    }
    const n4 = c.node("n4");
    await eventually(
      "the queue's members settled",
      async () => (await n4.broker.queueMembers("/", q)).settled,
    );
    const ctx = client(n4);
    await n4.broker.publish(ctx, {
      exchange: "",
      routingKey: q,
      properties: {},
      body: text("after"),
      mandatory: false,
    });
    const got = await drain(n4.broker, q);
    expect([...got]).toEqual(["after"]);
  });

  it("a move recorded just before its queue's leader dies is finished by the next leader", async () => {
    const n5 = await c.join("n5");
    await eventually("n5 ready", () => n5.broker.isReady(), 20_000);
    const q = "handover";
    const before = await declareSettled(n5.broker, q);
    const alive = c.nodes.filter((n) => n.alive).map((n) => n.id);
    const outsider = alive.find((n) => !before.members.includes(n))!;
    const asker = c.node(before.members.find((m) => m !== before.leader)!);
    // Recorded, not waited for (timeout 0); then the leader dies before it can finish.
    await asker.broker.addQueueMember("guest", "/", q, outsider, { timeoutMs: 0 });
    await c.kill(before.leader!);
    const after = await eventually(
      "the next leader finishes the move",
      async () => {
        const m = await asker.broker.queueMembers("/", q);
        return m.settled && m.leader !== before.leader ? m : undefined;
      },
      30_000,
    );
    expect(sorted(after.voters)).toEqual(sorted([...before.members, outsider]));
    await c.restart(before.leader!);
  });

  it("a node removed from a queue while it was down deletes its stale replica when it restarts", async () => {
    const any = c.nodes.find((n) => n.alive)!;
    const q = "left-behind";
    const m = await declareSettled(any.broker, q);
    const gone = m.members.find((x) => x !== m.leader && x !== any.id)!;
    const group = (await any.broker.getQueue("/", q))!.record.group!;
    await c.kill(gone);
    const after = await any.broker.deleteQueueMember("guest", "/", q, gone, { timeoutMs: 20_000 });
    expect(after.settled).toBe(true);
    const back = await c.restart(gone);
    await eventually(
      `${gone}'s stored replica deleted`,
      async () => {
        const stored = await back.storage.groups();
        return !stored.includes(group) && !back.host.groupIds().includes(group);
      },
      20_000,
    );
  });

  // Last: a node that never booted stays out of the harness' node list.
  it("a node bound to 0.0.0.0 refuses to join: its peers could not dial the address it would record", async () => {
    await expect(c.join("n9", { advertise: "0.0.0.0:25672" })).rejects.toThrow(
      /set raft.advertise \(WARREN_RAFT_ADVERTISE\) or raft.host to an address/,
    );
  });
});

describe("a former member restarting half-way through its removal", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    // Membership changes are held (never carried out) and snapshots are frequent: the restarted
    // node's metadata comes from a snapshot in which it is no longer a member of the queue.
    c = await BrokerCluster.start(3, { membershipCheckMs: 3_600_000 }, { snapshotEvery: 5 });
  });
  afterAll(async () => {
    await c.close();
  });

  it("resumes the replica it stores while the group's configuration still counts it", async () => {
    const n1 = c.node("n1");
    const q = "half-way";
    const info = await declareLed(c, n1.broker, q);
    const group = info.record.group!;
    const former = info.members.find((m) => m !== info.leader && m !== "n1")!;
    await eventually(`${former} hosts the queue`, () => c.node(former).host.groupIds().includes(group));
    await n1.broker.deleteQueueMember("guest", "/", q, former, { timeoutMs: 0 });
    // More metadata after the removal, so the snapshots cover it.
    for (let i = 0; i < 6; i++) {
      await n1.broker.declareExchange(client(n1), durableExchange(`x${i}`, "direct"));
    }
    await eventually(
      `${former} applied it all`,
      () => c.node(former).broker.getExchange("/", "x5") !== undefined,
    );
    await c.kill(former);
    const back = await c.restart(former);
    await eventually(`${former} ready`, () => back.broker.isReady(), 20_000);
    expect((await back.broker.getQueue("/", q))!.record.members).not.toContain(former);
    // Still a voter (the change is held): it serves the group again instead of staying silent.
    await eventually(`${former} resumed its replica`, () => back.host.groupIds().includes(group), 20_000);
  });
});
