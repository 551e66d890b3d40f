/**
 * Where a queue declared over AMQP is led (RabbitMQ's queue leader locator): by default on the
 * node the declaring client is connected to (`client-local`), with `x-queue-leader-locator:
 * balanced` on the node leading the fewest queues.
 */
import { describe, expect, it } from "vitest";
import { eventually, unique } from "./harness.js";
import { useAmqpCluster } from "./suite.js";

describe("AMQP queue leader locator", () => {
  const { c, clients } = useAmqpCluster(3);

  /** Every node reports `expected` (a node id) as the queue's leader. */
  const ledBy = async (q: string, expected: (leader: string) => boolean): Promise<string> => {
    await clients.queueEverywhere(q);
    return eventually(`${q} led where expected on every node`, async () => {
      const leaders = new Set<string | undefined>();
      for (const n of c.cluster.nodes) leaders.add((await n.broker.getQueue("/", q))?.leader);
      const [leader] = leaders;
      return leaders.size === 1 && leader !== undefined && expected(leader) ? leader : undefined;
    });
  };

  it("a queue declared through a node is led by that node (client-local, the default)", async () => {
    for (const i of [1, 2]) {
      const q = unique("client-local");
      await (await clients.channel(i)).assertQueue(q, { durable: true });
      const id = c.cluster.nodes[i]!.id;
      expect(await ledBy(q, (l) => l === id)).toBe(id);
    }
  });

  it("x-queue-leader-locator: balanced leads on a node leading the fewest queues", async () => {
    // n2 and n3 lead one queue each (the test above), n1 none: a balanced queue goes to n1
    // even when declared through n3.
    const q = unique("balanced");
    await (await clients.channel(2)).assertQueue(q, {
      durable: true,
      arguments: { "x-queue-leader-locator": "balanced" },
    });
    const n1 = c.cluster.nodes[0]!.id;
    expect(await ledBy(q, (l) => l === n1)).toBe(n1);
  });
});
