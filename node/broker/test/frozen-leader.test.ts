/**
 * A queue's leader freezes (SIGSTOP: its connections stay open, it answers nothing). Publishes
 * and acks forwarded to it must not wait out the proposal timeout: once the forwarding node
 * learns of the new leader, they go there at once (publishes still in publish order and each
 * stored once, acks applied once).
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

/**
 * The queue's group and its leader once every node agrees on it and placement will not move it
 * any more (the first leader hands off to the placed one, only in the group's first terms).
 */
function settledLeader(c: BrokerCluster, name: string): Promise<{ group: string; leader: TestNode }> {
  return eventually("one leader of the queue, known everywhere", async () => {
    const info = await c.node("n1").broker.getQueue("/", name);
    const group = info?.record.group;
    if (info === undefined || group === undefined) return undefined;
    const leaders = new Set(c.nodes.map((n) => n.host.leaderOf(group)));
    const [leader] = leaders;
    if (leaders.size !== 1 || leader === undefined) return undefined;
    const placed = leader === info.record.leader || c.node(leader).host.status(group).term > 2;
    return placed ? { group, leader: c.node(leader) } : undefined;
  });
}

/** Drains `queue` via `node`: the message numbers in queue order. */
const drain = async (node: TestNode, queue: string) => (await drainBodies(node.broker, queue)).map(Number);

/** Freezes `leader`; the returned function tells when `node` first learned of another leader of `group`. */
function freezeLeader(c: BrokerCluster, group: string, leader: TestNode, node: TestNode): () => number {
  let knownAt: number | undefined;
  // The host tells its listeners in order, as it learns of the leader.
  node.host.onLeaderChange((g, l) => {
    if (g === group && l !== undefined && l !== leader.id) knownAt ??= Date.now();
  });
  c.freeze(leader.id);
  return () => {
    expect(knownAt).toBeDefined();
    return knownAt!;
  };
}

describe("publishing while the queue's leader is frozen", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3, { proposalTimeoutMs: PROPOSAL_TIMEOUT_MS });
  });
  afterEach(() => {
    for (const n of c.nodes) c.thaw(n.id);
  });
  afterAll(async () => {
    await c.close();
  });

  it("confirms forwarded publishes soon after a new leader is known, in order, once each", async () => {
    await declareQueue(c.node("n1").broker, "frozen");
    const { group, leader } = await settledLeader(c, "frozen");
    const pubNode = c.nodes.find((n) => n !== leader)!;
    const ctx = client(pubNode);
    const publish = (n: number) =>
      pubNode.broker.publish(ctx, {
        exchange: "",
        routingKey: "frozen",
        properties: {},
        body: text(String(n)),
        mandatory: false,
        channel: 1,
      });
    // Warm: the channel's stream is streaming to the leader.
    for (let n = 0; n < 10; n++) await publish(n);

    const knownAt = freezeLeader(c, group, leader, pubNode);
    const confirmedAt = new Map<number, number>();
    const failed: unknown[] = [];
    const pending: Promise<void>[] = [];
    for (let n = 10; n < 40; n++) {
      pending.push(
        publish(n).then(
          (out) => {
            expect(out).toEqual({ kind: "routed", queues: 1 });
            confirmedAt.set(n, Date.now());
          },
          (err: unknown) => {
            failed.push(err);
          },
        ),
      );
    }
    await Promise.all(pending);
    expect(failed).toEqual([]);
    const last = Math.max(...confirmedAt.values());
    // Before: the forwarded attempts waited out the whole proposal timeout (then NO_QUORUM).
    expect(last - knownAt()).toBeLessThan(PROPOSAL_TIMEOUT_MS / 2);

    c.thaw(leader.id);
    const stored = await drain(pubNode, "frozen");
    expect(stored).toEqual(Array.from({ length: 40 }, (_, n) => n));
  });

  it("applies a forwarded ack soon after a new leader is known, once", async () => {
    await declareQueue(c.node("n1").broker, "frozen-ack");
    const { group, leader } = await settledLeader(c, "frozen-ack");
    const node = c.nodes.find((n) => n !== leader)!;
    const ctx = client(node);
    for (let n = 0; n < 3; n++) {
      await node.broker.publish(ctx, {
        exchange: "",
        routingKey: "frozen-ack",
        properties: {},
        body: text(String(n)),
        mandatory: false,
        channel: 1,
      });
    }
    const got = await node.broker.get(ctx, 2, "frozen-ack", false);
    expect(str(got!.body)).toBe("0");

    const knownAt = freezeLeader(c, group, leader, node);
    await node.broker.settle(ctx, 2, "frozen-ack", "ack", [got!.id]);
    // Before: the ack waited out the whole proposal timeout on the frozen node (then NO_QUORUM).
    expect(Date.now() - knownAt()).toBeLessThan(PROPOSAL_TIMEOUT_MS / 2);

    c.thaw(leader.id);
    expect(await drain(node, "frozen-ack")).toEqual([1, 2]);
  });
});
