/**
 * queue.declare-ok of a new quorum queue comes once the queue has a leader (as RabbitMQ's), and
 * that leader is the placed one from the group's first term (it campaigned as it created the
 * group): a publish right after declare-ok is confirmed without waiting for an election.
 */
import { describe, expect, it } from "vitest";
import { unique } from "./harness.js";
import { useAmqpCluster } from "./suite.js";

describe("queue.declare-ok and the new queue's leader", () => {
  const { c, clients } = useAmqpCluster(3);

  it("at declare-ok the declaring node leads the queue in term 1, and the first publish is confirmed", async () => {
    for (const i of [0, 1, 2]) {
      const node = c.cluster.nodes[i]!;
      const q = unique("declare-led");
      const ch = await (await clients.connect(i)).createConfirmChannel();
      await ch.assertQueue(q, { durable: true, arguments: { "x-queue-type": "quorum" } });
      // A listing does not wait for a leader: the declare did.
      const info = await node.broker.getQueue("/", q);
      expect(info?.leader).toBe(node.id);
      const group = info!.record.group!;
      // Elected in the first term: no election timeout and no hand-over happened.
      expect(node.host.status(group).term).toBe(1);
      ch.sendToQueue(q, Buffer.from("first"), { persistent: true });
      await ch.waitForConfirms();
      expect((await node.broker.getQueue("/", q))?.messages).toBe(1);
      await ch.close();
    }
  });
});
