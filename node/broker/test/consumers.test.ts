/**
 * Consumers across nodes: no-ack flow control by credit, cancellation when the queue is deleted
 * elsewhere, and a consumer's node lost for good (its messages return to other consumers).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BrokerCluster,
  client,
  consumeRecorded,
  declareLed,
  eventually,
  publishText,
  recorder,
  str,
  text,
} from "./harness.js";

describe("consumers on a three-node broker", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3, { nodeDownGraceMs: 300 });
  });
  afterAll(async () => {
    await c.close();
  });

  it("keeps a no-ack consumer flowing past its window by granting credit", async () => {
    const n1 = c.node("n1");
    const n3 = c.node("n3");
    await declareLed(c, n1.broker, "firehose");
    const sink = recorder();
    const ctx = client(n3);
    await n3.broker.consume(
      ctx,
      {
        queue: "firehose",
        channel: 1,
        consumerTag: "f",
        prefetch: 4,
        noAck: true,
        exclusive: false,
        arguments: {},
      },
      sink,
    );
    const ctx1 = client(n1);
    for (let i = 0; i < 20; i++) {
      await n1.broker.publish(ctx1, {
        exchange: "",
        routingKey: "firehose",
        properties: {},
        body: text(`f${i}`),
        mandatory: false,
      });
    }
    await eventually("all twenty", () => sink.deliveries.length === 20);
    expect(sink.deliveries.map((d) => str(d.body))).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}`));
    expect((await n1.broker.getQueue("/", "firehose"))?.messages).toBe(0);
  });

  it("cancels consumers on every node when their queue is deleted", async () => {
    const n1 = c.node("n1");
    const n2 = c.node("n2");
    await declareLed(c, n1.broker, "doomed");
    const sink = recorder();
    await n2.broker.consume(
      client(n2),
      {
        queue: "doomed",
        channel: 1,
        consumerTag: "d",
        prefetch: 0,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      sink,
    );
    expect(await n1.broker.deleteQueue(client(n1), "doomed", { ifUnused: false, ifEmpty: false })).toBe(0);
    await eventually("the cancel notification", () => sink.cancelledWith.length === 1);
  });

  it("returns the messages of a consumer whose node is gone to the other consumers", async () => {
    const n1 = c.node("n1");
    const { leader } = await declareLed(c, n1.broker, "orphans");
    const [stay, lost] = c.nodes.filter((n) => n.id !== leader);
    const held = await consumeRecorded(lost!.broker, "orphans", "h", 3);
    for (let i = 0; i < 3; i++) await publishText(stay!.broker, "orphans", `o${i}`);
    await eventually("the held window", () => held.deliveries.length === 3);
    const other = await consumeRecorded(stay!.broker, "orphans", "s", 0);
    await c.kill(lost!.id);
    // After the grace period the leader declares the node down to the queue.
    await eventually("the held messages redelivered", () => other.deliveries.length === 3);
    expect(other.deliveries.map((d) => [str(d.body), d.redelivered])).toEqual([
      ["o0", true],
      ["o1", true],
      ["o2", true],
    ]);
  });
  it("cancels the consumers of a node that was cut off past the grace period, once it is back", async () => {
    // The previous test killed a node: bring it back, the queue needs a majority without the far node.
    for (const n of c.nodes) if (!n.alive) await c.restart(n.id);
    // Ready is the restarted node's view: the others redial it on their reconnect backoff, and
    // placement takes the nodes the declaring one is connected to. Declared before that, the queue
    // got two replicas, and cutting the far one off left its leader without a majority.
    await eventually("every node ready and connected to every other", () =>
      c.nodes.every((n) => n.broker.isReady() && c.nodes.every((m) => m === n || n.transport.isPeerUp(m.id))),
    );
    const alive = c.nodes;
    const n1 = alive[0]!;
    const declared = await declareLed(c, n1.broker, "cutoff");
    expect(declared.members).toHaveLength(3);
    const leaderId = declared.leader!;
    const leader = c.node(leaderId);
    const far = alive.find((n) => n.id !== leaderId)!;
    const sink = recorder();
    await far.broker.consume(
      client(far),
      {
        queue: "cutoff",
        channel: 1,
        consumerTag: "far",
        prefetch: 0,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      sink,
    );
    await eventually(
      "the consumer registered",
      async () => (await leader.broker.getQueue("/", "cutoff"))?.consumers === 1,
    );
    // The others lose their connections to the far node for longer than the grace period
    // (both: leadership may move between them meanwhile).
    const addr = far.transport.address();
    const others = c.nodes.filter((n) => n.id !== far.id);
    for (const n of others) n.transport.removePeer(far.id);
    await eventually("the far node's consumer released", async () => {
      const q = await (await Promise.all(others.map((n) => n.broker.getQueue("/", "cutoff")))).find(
        (x) => x?.state === "running",
      );
      return q?.state === "running" && q.consumers === 0;
    });
    expect(sink.cancelledWith).toEqual([]);
    for (const n of others) n.transport.setPeer(far.id, addr);
    await eventually("the far consumer told", () => sink.cancelledWith.length === 1);
  });
});
