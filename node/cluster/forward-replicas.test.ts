/**
 * A publish through a follower travels to the leader packed and is proposed as those bytes
 * (forward.ts): every replica must store exactly the message the sender built. Each message is
 * read back by basic.get while a different node leads, so each replica's copy is the one served.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerCluster, client, eventually } from "../broker/test/harness.js";
import type { MessageProperties } from "../broker/types.js";

describe("a forwarded publish", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3);
  });
  afterAll(async () => {
    await c.close();
  });

  it("is stored on every replica exactly as the publishing node built it", async () => {
    const n1 = c.node("n1");
    await n1.broker.declareQueue(client(n1), {
      name: "fwd",
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: {},
    });
    const info = await eventually("a leader for fwd", async () => {
      const q = await n1.broker.getQueue("/", "fwd");
      return q?.leader === undefined ? undefined : q;
    });
    const group = info.record.group;
    if (group === undefined) throw new Error("fwd has no Raft group");
    await eventually("fwd on every node", async () => {
      for (const n of c.nodes) if ((await n.broker.getQueue("/", "fwd")) === undefined) return false;
      return true;
    });
    const follower = c.nodes.find((n) => n.id !== info.leader);
    if (follower === undefined) throw new Error("no follower");

    const sent = c.nodes.map((_n, i) => {
      const body = new Uint8Array(1024);
      for (let b = 0; b < body.length; b++) body[b] = (b * 31 + i) & 0xff;
      const properties: MessageProperties = {
        contentType: "application/octet-stream",
        deliveryMode: 2,
        priority: i,
        correlationId: `corr-${i}`,
        messageId: `m-${i}`,
        timestamp: 1_700_000_000 + i,
        headers: { n: i, s: "é ü", nested: { list: [1, "two", { three: 3 }], flag: true } },
      };
      return { body, properties };
    });
    for (const m of sent) {
      const out = await follower.broker.publish(client(follower), {
        exchange: "",
        routingKey: "fwd",
        properties: m.properties,
        body: m.body,
        mandatory: false,
      });
      expect(out).toEqual({ kind: "routed", queues: 1 });
    }

    // One message per replica: hand it the leadership, then take the next message through it.
    for (const [i, n] of c.nodes.entries()) {
      await eventually(`${n.id} leads fwd`, async () => {
        const leader = n.host.leaderOf(group);
        if (leader === n.id) return true;
        if (leader !== undefined)
          await c
            .node(leader)
            .host.transferLeadership(group, n.id)
            .catch(() => {});
        return false;
      });
      const got = await eventually(`message ${i} through ${n.id}`, () =>
        n.broker.get(client(n), 1, "fwd", true),
      );
      expect(new Uint8Array(got.body)).toEqual(sent[i]?.body);
      expect(got.properties).toEqual(sent[i]?.properties);
    }
  });
});
