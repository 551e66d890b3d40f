/**
 * Leadership spread under `queueLeaderLocator: balanced`: placement picks a preferred leader per
 * queue so that no node leads much more than its share, and the first elected leader hands over
 * to it. The `x-queue-leader-locator` argument overrides the setting.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { BrokerCluster, client, eventually, quorumQueue } from "./harness.js";

/** Leaders per node, as n1 reports them. */
async function perNode(): Promise<Map<string, number>> {
  const qs = await c.node("n1").broker.listQueues("/");
  const per = new Map<string, number>();
  for (const q of qs) if (q.leader !== undefined) per.set(q.leader, (per.get(q.leader) ?? 0) + 1);
  return per;
}

let c: BrokerCluster;
beforeAll(async () => {
  c = await BrokerCluster.start(3, { queueLeaderLocator: "balanced" });
});
afterAll(async () => {
  await c.close();
});

it("spreads the leaders of new queues evenly over the nodes", async () => {
  const n1 = c.node("n1");
  const ctx = client(n1);
  const names = Array.from({ length: 6 }, (_, i) => `spread-${i}`);
  for (const name of names) {
    const r = await n1.broker.declareQueue(ctx, quorumQueue(name));
    expect(r.queue.members).toHaveLength(3);
  }
  await eventually("two leaders per node", async () => {
    const qs = await n1.broker.listQueues("/");
    const per = new Map<string, number>();
    for (const q of qs) if (q.leader !== undefined) per.set(q.leader, (per.get(q.leader) ?? 0) + 1);
    return ["n1", "n2", "n3"].every((n) => per.get(n) === 2);
  });
  const nodes = await n1.broker.listNodes();
  expect(nodes.map((n) => [n.name, n.running, n.leaderOf])).toEqual([
    ["n1", true, 2],
    ["n2", true, 2],
    ["n3", true, 2],
  ]);
});

it("rebalances leadership after a node returns", async () => {
  await c.kill("n3");
  await eventually("n1 and n2 lead everything", async () => {
    const per = await perNode();
    return (per.get("n1") ?? 0) + (per.get("n2") ?? 0) === 6;
  });
  await c.restart("n3");
  await eventually(
    "n3 leads its share again",
    async () => {
      const per = await perNode();
      return ["n1", "n2", "n3"].every((n) => per.get(n) === 2);
    },
    15_000,
  );
}, 30_000);

it("x-queue-leader-locator: client-local overrides the balanced setting", async () => {
  // Every node leads two queues (the tests above): balanced would not pick n2 for a third.
  const n2 = c.node("n2");
  const r = await n2.broker.declareQueue(
    client(n2),
    quorumQueue("local-on-n2", { "x-queue-leader-locator": "client-local" }),
  );
  expect(r.queue.leader).toBe("n2");
  await eventually("n2 leads local-on-n2", async () => {
    const q = (await c.node("n1").broker.listQueues("/")).find((x) => x.record.name === "local-on-n2");
    return q?.leader === "n2";
  });
  // Without the argument, the setting applies: the next queue declared through n2 goes elsewhere.
  const b = await n2.broker.declareQueue(client(n2), quorumQueue("balanced-via-n2"));
  expect(["n1", "n3"]).toContain(b.queue.leader);
  await eventually("every node leads its share", async () => {
    const per = await perNode();
    return per.get("n2") === 3 && (per.get("n1") ?? 0) + (per.get("n3") ?? 0) === 5;
  });
});
