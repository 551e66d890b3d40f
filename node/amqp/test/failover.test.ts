/**
 * A queue leader's node dies while a client on another node publishes with confirms: the
 * publisher carries on (a publish that cannot commit in time is nacked, never falsely acked), and
 * every message that was confirmed is still there afterwards, read through a third node.
 */
import { describe, expect, it } from "vitest";
import { eventually, unique } from "./harness.js";
import { useAmqpCluster } from "./suite.js";

describe("AMQP through a leader failure", () => {
  const { c, clients } = useAmqpCluster(3);

  it("loses no confirmed message when the queue leader's node is killed", async () => {
    const q = unique("failover");
    const setup = await clients.channel(0);
    await setup.assertQueue(q, { durable: true });
    const leaderIndex = await clients.leaderIndex(q);
    const leader = c.cluster.nodes[leaderIndex]!.id;
    const others = [0, 1, 2].filter((i) => i !== leaderIndex);
    const pubNode = others[0]!;
    const readNode = others[1]!;

    const pub = await (await clients.connect(pubNode)).createConfirmChannel();
    const confirmed: string[] = [];
    let nacked = 0;
    let sent = 0;
    const publishBatch = async (n: number) => {
      const batch = Array.from({ length: n }, () => `m${sent++}`);
      await Promise.all(
        batch.map(
          (body) =>
            new Promise<void>((resolve) =>
              pub.sendToQueue(q, Buffer.from(body), { persistent: true }, (err) => {
                if (err) nacked++;
                else confirmed.push(body);
                resolve();
              }),
            ),
        ),
      );
    };
    await publishBatch(100);
    await c.servers[leaderIndex]!.close();
    await c.cluster.kill(leader);
    // Keep publishing through the failover until a batch is wholly confirmed again.
    await eventually(
      "publishing recovered after the leader's death",
      async () => {
        const before = confirmed.length;
        await publishBatch(20);
        return confirmed.length - before === 20;
      },
      30_000,
    );
    const reader = await clients.channel(readNode);
    const bodies = new Set<string>();
    for (;;) {
      const m = await reader.get(q, { noAck: true });
      if (m === false) break;
      bodies.add(m.content.toString());
    }
    const lost = confirmed.filter((b) => !bodies.has(b));
    expect(lost).toEqual([]);
    expect(confirmed.length).toBeGreaterThanOrEqual(120);
    // Nacks are allowed (commits slower than the proposal timeout), silent losses are not.
    expect(confirmed.length + nacked).toBe(sent);
  });
});
