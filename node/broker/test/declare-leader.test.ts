/**
 * A queue declare answers once the new queue has a leader (declare-leader.ts), and that leader
 * is the placed one, elected by its own campaign at group creation (queue-groups.ts,
 * CreateGroupOptions.campaign): no election timeout, no hand-over. With the placed leader's
 * node unresponsive at the declare, the other members elect one after the usual timeout.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueDeclareResult } from "../types.js";
import { BrokerCluster, declareQueue, eventually, publishText, type TestNode } from "./harness.js";

describe("a new queue's leader at declare-ok", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3);
  });
  afterAll(async () => {
    await c.close();
  });

  it("the placed leader leads in the group's first term when the declare answers, and a publish right after is confirmed", async () => {
    const n1 = c.node("n1");
    for (const name of ["dl-a", "dl-b", "dl-c"]) {
      const r = await declareQueue(n1.broker, name);
      const group = r.queue.group!;
      // Answered once n1's replica knows the leader: the placed one, in term 1.
      expect(n1.host.leaderOf(group)).toBe(r.queue.leader);
      expect(n1.host.status(group).term).toBe(1);
      expect(await publishText(n1.broker, name, "first")).toEqual({ kind: "routed", queues: 1 });
      const info = await n1.broker.getQueue("/", name);
      expect(info?.leader).toBe(r.queue.leader);
      expect(info?.messages).toBe(1);
    }
  });

  it("a declare through a node that is not a member answers once a member knows the leader", async () => {
    const n1 = c.node("n1");
    const led: string[] = [];
    for (const name of ["dl-one-a", "dl-one-b", "dl-one-c"]) {
      const r = await declareQueue(n1.broker, name, {
        "x-quorum-initial-group-size": 1,
        "x-queue-leader-locator": "balanced",
      });
      // A listing does not wait for a leader: it must be there already.
      const info = await n1.broker.getQueue("/", name);
      expect(info?.state).toBe("running");
      expect(info?.leader).toBe(r.queue.leader);
      led.push(r.queue.leader);
      expect(await publishText(n1.broker, name, "first")).toEqual({ kind: "routed", queues: 1 });
    }
    // Single-member queues are spread: at least one of them was declared from outside.
    expect(led.some((l) => l !== "n1")).toBe(true);
  });

  it("with the placed leader's node frozen at the declare, the others elect a leader", async () => {
    const metaLeader = await eventually("a metadata leader", () => c.node("n1").host.leaderOf("meta"));
    const frozen = c.nodes.find((n) => n.id !== metaLeader)!;
    const via = c.node(metaLeader);
    c.freeze(frozen.id);
    let placed: QueueDeclareResult | undefined;
    try {
      // Leaders are spread over the nodes: one of a few new queues is placed on the frozen one.
      for (let i = 0; i < 6 && placed === undefined; i++) {
        const r = await declareQueue(via.broker, `dl-frozen-${i}`, { "x-queue-leader-locator": "balanced" });
        if (r.queue.leader === frozen.id) placed = r;
      }
      expect(placed).toBeDefined();
      const name = placed!.queue.name;
      const group = placed!.queue.group!;
      const up = c.nodes.filter((n: TestNode) => n !== frozen);
      const leader = await eventually("a leader among the running members", () => {
        const seen = up.map((n) => n.host.leaderOf(group));
        return seen[0] !== undefined && seen.every((l) => l === seen[0]) ? seen[0] : undefined;
      });
      expect(leader).not.toBe(frozen.id);
      expect(await publishText(via.broker, name, "while frozen")).toEqual({ kind: "routed", queues: 1 });
    } finally {
      c.thaw(frozen.id);
    }
    // Back, the frozen node joins the group (its late campaign disrupts nothing).
    const group = placed!.queue.group!;
    await eventually("every node agreeing on a leader", () => {
      const seen = c.nodes.map((n) =>
        n.host.groupIds().includes(group) ? n.host.leaderOf(group) : undefined,
      );
      return seen[0] !== undefined && seen.every((l) => l === seen[0]);
    });
    expect(await publishText(via.broker, placed!.queue.name, "after")).toEqual({ kind: "routed", queues: 1 });
    const info = await eventually("both messages counted", async () => {
      const i = await via.broker.getQueue("/", placed!.queue.name);
      return i?.messages === 2 ? i : undefined;
    });
    expect(info.state).toBe("running");
  });
});
