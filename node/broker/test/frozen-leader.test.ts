/**
 * A queue's leader freezes (SIGSTOP: its connections stay open, it answers nothing). Publishes
 * forwarded to it must not wait out the proposal timeout: once the publishing node learns of
 * the new leader, they go there at once, still in publish order and each stored once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { QueueInfo } from "../types.js";
import { BrokerCluster, client, eventually, str, type TestNode, text } from "./harness.js";

const PROPOSAL_TIMEOUT_MS = 4000;

function ledEverywhere(c: BrokerCluster, name: string): Promise<QueueInfo> {
  return eventually("a leader on every node", async () => {
    const infos = await Promise.all(c.nodes.map((n) => n.broker.getQueue("/", name)));
    return infos.every((i) => i?.leader !== undefined) ? infos[0] : undefined;
  });
}

async function drain(node: TestNode, queue: string): Promise<number[]> {
  const stored: number[] = [];
  for (;;) {
    const got = await node.broker.get(client(node), 1, queue, true);
    if (got === undefined) return stored;
    stored.push(Number(str(got.body)));
  }
}

describe("publishing while the queue's leader is frozen", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3, { proposalTimeoutMs: PROPOSAL_TIMEOUT_MS });
  });
  afterAll(async () => {
    await c.close();
  });

  it("confirms forwarded publishes soon after a new leader is known, in order, once each", async () => {
    await c.node("n1").broker.declareQueue(client(c.node("n1")), {
      name: "frozen",
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: {},
    });
    const info = await ledEverywhere(c, "frozen");
    const group = info.record.group!;
    const leader = c.node(info.leader!);
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

    // When the publishing node learns of another leader (the host tells its listeners in order).
    let knownAt: number | undefined;
    pubNode.host.onLeaderChange((g, l) => {
      if (g === group && l !== undefined && l !== leader.id) knownAt ??= Date.now();
    });
    c.freeze(leader.id);
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
    expect(knownAt).toBeDefined();
    const last = Math.max(...confirmedAt.values());
    // Before: the forwarded attempts waited out the whole proposal timeout (then NO_QUORUM).
    expect(last - knownAt!).toBeLessThan(PROPOSAL_TIMEOUT_MS / 2);

    c.thaw(leader.id);
    const stored = await drain(pubNode, "frozen");
    expect(stored).toEqual(Array.from({ length: 40 }, (_, n) => n));
  });
});
