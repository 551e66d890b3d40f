/**
 * Consumers across nodes: no-ack flow control by credit, cancellation when the queue is deleted
 * elsewhere, and a consumer's node lost for good (its messages return to other consumers).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerCluster, client, eventually, recorder, str, text } from "./harness.js";

const quorum = (name: string) => ({
  name,
  passive: false,
  durable: true,
  exclusive: false,
  autoDelete: false,
  arguments: {},
});

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
    await n1.broker.declareQueue(client(n1), quorum("firehose"));
    await eventually("the queue on n3", async () => (await n3.broker.getQueue("/", "firehose"))?.leader);
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
    await n1.broker.declareQueue(client(n1), quorum("doomed"));
    await eventually("the queue on n2", async () => (await n2.broker.getQueue("/", "doomed"))?.leader);
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
    await n1.broker.declareQueue(client(n1), quorum("orphans"));
    const leader = await eventually(
      "a leader",
      async () => (await n1.broker.getQueue("/", "orphans"))?.leader,
    );
    const [stay, lost] = c.nodes.filter((n) => n.id !== leader);
    const held = recorder();
    await lost!.broker.consume(
      client(lost!),
      {
        queue: "orphans",
        channel: 1,
        consumerTag: "h",
        prefetch: 3,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      held,
    );
    const pub = client(stay!);
    for (let i = 0; i < 3; i++) {
      await stay!.broker.publish(pub, {
        exchange: "",
        routingKey: "orphans",
        properties: {},
        body: text(`o${i}`),
        mandatory: false,
      });
    }
    await eventually("the held window", () => held.deliveries.length === 3);
    const other = recorder();
    await stay!.broker.consume(
      client(stay!),
      {
        queue: "orphans",
        channel: 1,
        consumerTag: "s",
        prefetch: 0,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      other,
    );
    await c.kill(lost!.id);
    // After the grace period the leader declares the node down to the queue.
    await eventually("the held messages redelivered", () => other.deliveries.length === 3);
    expect(other.deliveries.map((d) => [str(d.body), d.redelivered])).toEqual([
      ["o0", true],
      ["o1", true],
      ["o2", true],
    ]);
  });
});
