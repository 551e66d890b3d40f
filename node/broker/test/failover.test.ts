/**
 * Losing nodes: a queue's leader stopped abruptly (no leadership transfer) is replaced, the
 * consumer on another node goes on and no confirmed message is lost; with two of three nodes
 * gone a publish fails with NO_QUORUM within the proposal timeout instead of hanging.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WarrenError } from "../../errors.js";
import { BrokerCluster, client, declareLed, eventually, recorder, str, text } from "./harness.js";

const PROPOSAL_TIMEOUT_MS = 2000;

describe("a three-node broker losing nodes", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3, { proposalTimeoutMs: PROPOSAL_TIMEOUT_MS });
  });
  afterAll(async () => {
    await c.close();
  });

  it("survives the abrupt loss of a queue's leader: the consumer elsewhere goes on, nothing confirmed is lost", async () => {
    const n1 = c.node("n1");
    const leaderId = (await declareLed(c, n1.broker, "ha")).leader!;
    const [pubNode, consNode] = c.nodes.filter((n) => n.id !== leaderId);
    const pub = { broker: pubNode!.broker, ctx: client(pubNode!) };
    const cons = { broker: consNode!.broker, ctx: client(consNode!) };

    const confirmed: string[] = [];
    const publish = async (body: string) => {
      // A publisher republishes what was not confirmed (NO_QUORUM during the election).
      for (;;) {
        try {
          const out = await pub.broker.publish(pub.ctx, {
            exchange: "",
            routingKey: "ha",
            properties: {},
            body: text(body),
            mandatory: false,
          });
          expect(out.kind).toBe("routed");
          confirmed.push(body);
          return;
        } catch (err) {
          if (!WarrenError.is(err, "NO_QUORUM")) throw err;
        }
      }
    };
    for (let i = 0; i < 10; i++) await publish(`m${i}`);

    const sink = recorder();
    await cons.broker.consume(
      cons.ctx,
      {
        queue: "ha",
        channel: 1,
        consumerTag: "c",
        prefetch: 4,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      sink,
    );
    await eventually("the first window", () => sink.deliveries.length === 4);
    const firstWindow = sink.deliveries.map((d) => str(d.body));
    expect(firstWindow).toEqual(["m0", "m1", "m2", "m3"]);

    await c.kill(leaderId);
    for (let i = 10; i < 15; i++) await publish(`m${i}`);
    const newLeader = await eventually("a new leader", async () => {
      const l = (await cons.broker.getQueue("/", "ha"))?.leader;
      return l !== undefined && l !== leaderId ? l : undefined;
    });
    expect(newLeader).not.toBe(leaderId);

    // The messages the consumer held are still its own: acks reach the new leader, and the
    // rest of the queue flows to the consumer in order, each message once.
    const acked = new Set<number>();
    const ackAll = async () => {
      const pending = sink.deliveries.filter((d) => !acked.has(d.id)).map((d) => d.id);
      if (pending.length > 0) {
        await cons.broker.settle(cons.ctx, 1, "ha", "ack", pending);
        for (const id of pending) acked.add(id);
      }
    };
    await eventually(
      "every confirmed message consumed",
      async () => {
        await ackAll();
        const seen = new Set(sink.deliveries.map((d) => str(d.body)));
        return confirmed.every((m) => seen.has(m));
      },
      15_000,
    );
    await eventually("the queue drained", async () => {
      await ackAll();
      return (await cons.broker.getQueue("/", "ha"))?.messages === 0;
    });
    const bodies = sink.deliveries.map((d) => str(d.body));
    expect(bodies.slice(0, 4)).toEqual(firstWindow);
    // Each delivery once per consumer (a new leader's re-issued deliveries are deduped).
    expect(new Set(sink.deliveries.map((d) => d.id)).size).toBe(sink.deliveries.length);

    // Returned after the failover, held messages come back redelivered.
    await pub.broker.publish(pub.ctx, {
      exchange: "",
      routingKey: "ha",
      properties: {},
      body: text("late"),
      mandatory: false,
    });
    await eventually("the late message", () => sink.deliveries.some((d) => str(d.body) === "late"));
    await cons.broker.channelClosed(cons.ctx, 1);
    const again = await eventually("the late message again", () => pub.broker.get(pub.ctx, 3, "ha", true));
    expect(str(again.body)).toBe("late");
    expect(again.redelivered).toBe(true);
  }, 30_000);

  it("rejects a publish with NO_QUORUM within the proposal timeout when two of three nodes are gone", async () => {
    const alive = c.nodes.filter((n) => n.alive);
    // One node is already gone; stop one more.
    await c.kill(alive[0]!.id);
    const last = alive[1]!;
    const started = Date.now();
    const err = await last.broker
      .publish(client(last), {
        exchange: "",
        routingKey: "ha",
        properties: {},
        body: text("lost"),
        mandatory: false,
      })
      .catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(WarrenError.is(err, "NO_QUORUM")).toBe(true);
    expect((err as WarrenError).http.status).toBe(503);
    expect(elapsed).toBeLessThan(PROPOSAL_TIMEOUT_MS + 1500);
  }, 20_000);
});
