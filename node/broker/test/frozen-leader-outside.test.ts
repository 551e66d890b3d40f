/**
 * A queue's leader freezes (SIGSTOP) in a cluster larger than the queue's replica set (4 nodes,
 * 3 replicas). A node that holds no replica of the queue hears of the new leader from it
 * (leader news): its forwarded publishes and acks go there soon after the election instead of
 * waiting out the proposal timeout on the frozen node, as a replica node's already do.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  BrokerCluster,
  client,
  declareQueue,
  drainBodies,
  eventually,
  str,
  type TestNode,
  text,
} from "./harness.js";

const PROPOSAL_TIMEOUT_MS = 4000;

/** The queue's group, its settled leader (known to every member) and a node outside its members. */
function placement(c: BrokerCluster, name: string) {
  return eventually("one placed leader of the queue, known to every member", async () => {
    const info = await c.node("n1").broker.getQueue("/", name);
    const group = info?.record.group;
    if (info === undefined || group === undefined) return undefined;
    const members = c.nodes.filter((n) => info.record.members.includes(n.id));
    const leader = info.record.leader;
    if (!members.every((n) => n.host.leaderOf(group) === leader)) return undefined;
    const outside = c.nodes.find((n) => !info.record.members.includes(n.id))!;
    return { group, leader: c.node(leader), members, outside };
  });
}

/** Freezes `leader`; the returned function tells when a member first learned of another leader. */
function freezeLeader(c: BrokerCluster, group: string, leader: TestNode, members: TestNode[]): () => number {
  let electedAt: number | undefined;
  for (const m of members) {
    if (m === leader) continue;
    m.host.onLeaderChange((g, l) => {
      if (g === group && l !== undefined && l !== leader.id) electedAt ??= Date.now();
    });
  }
  c.freeze(leader.id);
  return () => {
    expect(electedAt).toBeDefined();
    return electedAt!;
  };
}

describe("a frozen queue leader, seen from a node without a replica", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(4, { proposalTimeoutMs: PROPOSAL_TIMEOUT_MS, initialGroupSize: 3 });
  });
  afterEach(() => {
    for (const n of c.nodes) c.thaw(n.id);
  });
  afterAll(async () => {
    await c.close();
  });

  it("confirms publishes forwarded from outside the replica set soon after the new leader's election", async () => {
    await declareQueue(c.node("n1").broker, "outside");
    const { group, leader, members, outside } = await placement(c, "outside");
    const ctx = client(outside);
    const publish = (n: number) =>
      outside.broker.publish(ctx, {
        exchange: "",
        routingKey: "outside",
        properties: {},
        body: text(String(n)),
        mandatory: false,
        channel: 1,
      });
    // Warm: the channel's stream is streaming to the leader.
    for (let n = 0; n < 5; n++) await publish(n);

    const electedAt = freezeLeader(c, group, leader, members);
    const pending: Promise<unknown>[] = [];
    for (let n = 5; n < 20; n++) pending.push(publish(n));
    const outcomes = await Promise.all(pending);
    const confirmedAt = Date.now();
    expect(outcomes.every((o) => JSON.stringify(o) === JSON.stringify({ kind: "routed", queues: 1 }))).toBe(
      true,
    );
    // Before: they waited out the whole proposal timeout on the frozen node (then NO_QUORUM).
    expect(confirmedAt - electedAt()).toBeLessThan(PROPOSAL_TIMEOUT_MS / 2);

    c.thaw(leader.id);
    const stored = (await drainBodies(outside.broker, "outside")).map(Number);
    expect(stored).toEqual(Array.from({ length: 20 }, (_, n) => n));
  });

  it("applies an ack forwarded from outside the replica set soon after the new leader's election", async () => {
    await declareQueue(c.node("n1").broker, "outside-ack");
    const { group, leader, members, outside } = await placement(c, "outside-ack");
    const ctx = client(outside);
    for (let n = 0; n < 3; n++) {
      await outside.broker.publish(ctx, {
        exchange: "",
        routingKey: "outside-ack",
        properties: {},
        body: text(String(n)),
        mandatory: false,
        channel: 1,
      });
    }
    const got = await outside.broker.get(ctx, 2, "outside-ack", false);
    expect(str(got!.body)).toBe("0");

    const electedAt = freezeLeader(c, group, leader, members);
    await outside.broker.settle(ctx, 2, "outside-ack", "ack", [got!.id]);
    // Before: the ack waited out the whole proposal timeout on the frozen node (then NO_QUORUM).
    expect(Date.now() - electedAt()).toBeLessThan(PROPOSAL_TIMEOUT_MS / 2);

    c.thaw(leader.id);
    expect((await drainBodies(outside.broker, "outside-ack")).map(Number)).toEqual([1, 2]);
  });
});
