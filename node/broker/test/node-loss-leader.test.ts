/**
 * A consumer's node declared down while its queue had no leader: the queue's leader was on that
 * node, and the survivors could not elect one yet (the other survivor was frozen). Nobody could
 * return the messages the lost node's consumer held then; the next leader does, once elected.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NodeId } from "../../../raft/core/types.js";
import { BrokerCluster, consumeRecorded, declareLed, eventually, publishText, str } from "./harness.js";

/** The peers a node's membership has declared down (reaches into the broker, as the harness does). */
function declaredDown(c: BrokerCluster, id: string): NodeId[] {
  const b = c.node(id).broker as unknown as { membership: { downPeers(): NodeId[] } };
  return b.membership.downPeers();
}

describe("node loss while a queue has no leader", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3, { nodeDownGraceMs: 300 });
  });
  afterAll(async () => {
    await c.close();
  });

  it("the next leader returns the messages the lost node's consumers held", async () => {
    const n1 = c.node("n1");
    const n3 = c.node("n3");
    // Declared through n3: the leader is n3 (client-local), and n3's consumer holds the messages.
    const info = await declareLed(c, n3.broker, "leader-lost-too");
    expect(info.leader).toBe("n3");
    const held = await consumeRecorded(n3.broker, "leader-lost-too", "h", 3);
    for (let i = 0; i < 3; i++) await publishText(n1.broker, "leader-lost-too", `m${i}`);
    await eventually("n3's consumer to hold the three", () => held.deliveries.length === 3);
    const other = await consumeRecorded(n1.broker, "leader-lost-too", "s", 0);

    // n2 freezes, then n3 (leader and consumer) dies: n1 alone cannot elect a leader.
    c.freeze("n2");
    await c.kill("n3");
    await eventually("n1 and n2 to declare n3 down", () =>
      ["n1", "n2"].every((id) => declaredDown(c, id).includes("n3")),
    );
    expect(other.deliveries).toEqual([]);
    // n2 is back: a leader is elected, and it returns what n3's consumer held.
    c.thaw("n2");
    await eventually("the held messages redelivered", () => other.deliveries.length === 3);
    expect(other.deliveries.map((d) => [str(d.body), d.redelivered])).toEqual([
      ["m0", true],
      ["m1", true],
      ["m2", true],
    ]);
  });
});
