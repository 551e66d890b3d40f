/**
 * Queues with a lifetime: transient queues (exclusive, auto-delete, server-named) live on their
 * home node yet take publishes from any node and go with their connection or last consumer;
 * x-expires deletes an unused queue; message TTL dead-letters through the DLX on a timer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerCluster, client, eventually, quorumQueue, recorder, str, text } from "./harness.js";

describe("queue lifetimes on a three-node broker", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3);
  });
  afterAll(async () => {
    await c.close();
  });

  it("keeps an exclusive server-named queue on its home node, reachable from others, deleted with its connection", async () => {
    const home = c.node("n1");
    const other = c.node("n2");
    const owner = client(home);
    const declared = await home.broker.declareQueue(owner, {
      name: "",
      passive: false,
      durable: false,
      exclusive: true,
      autoDelete: false,
      arguments: {},
    });
    const name = declared.queue.name;
    expect(name).toMatch(/^amq\.gen-/);
    expect(declared.queue.type).toBe("transient");
    expect(declared.queue.leader).toBe("n1");

    // Another connection may not use it (405), but a publish from another node reaches it.
    await eventually(
      "the queue known on n2",
      async () => (await other.broker.getQueue("/", name)) !== undefined,
    );
    await expect(other.broker.get(client(other), 1, name, true)).rejects.toMatchObject({
      code: "RESOURCE_LOCKED",
    });
    const out = await other.broker.publish(client(other), {
      exchange: "",
      routingKey: name,
      properties: {},
      body: text("reply"),
      mandatory: true,
    });
    expect(out).toEqual({ kind: "routed", queues: 1 });
    const sink = recorder();
    await home.broker.consume(
      owner,
      { queue: name, channel: 1, consumerTag: "", prefetch: 0, noAck: true, exclusive: false, arguments: {} },
      sink,
    );
    await eventually("the delivery", () => sink.deliveries.length === 1);
    expect(str(sink.deliveries[0]!.body)).toBe("reply");

    await home.broker.connectionClosed(owner);
    await eventually("the queue gone everywhere", async () => {
      for (const n of c.nodes) if ((await n.broker.getQueue("/", name)) !== undefined) return false;
      return true;
    });
  });

  it("deletes an auto-delete queue when its last consumer cancels", async () => {
    const node = c.node("n2");
    const ctx = client(node);
    await node.broker.declareQueue(ctx, {
      name: "temp",
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: true,
      arguments: {},
    });
    const a = await node.broker.consume(
      ctx,
      {
        queue: "temp",
        channel: 1,
        consumerTag: "a",
        prefetch: 0,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      recorder(),
    );
    const b = await node.broker.consume(
      ctx,
      {
        queue: "temp",
        channel: 1,
        consumerTag: "b",
        prefetch: 0,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      recorder(),
    );
    await node.broker.cancel(ctx, 1, a);
    expect(await node.broker.getQueue("/", "temp")).toBeDefined();
    await node.broker.cancel(ctx, 1, b);
    await eventually(
      "the queue deleted",
      async () => (await node.broker.getQueue("/", "temp")) === undefined,
    );
  });

  it("deletes a quorum queue unused for x-expires", async () => {
    const node = c.node("n3");
    await node.broker.declareQueue(client(node), {
      name: "expiring",
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: { "x-expires": 300 },
    });
    expect(await node.broker.getQueue("/", "expiring")).toBeDefined();
    await eventually(
      "the queue expired",
      async () => (await node.broker.getQueue("/", "expiring")) === undefined,
    );
  });

  it("dead-letters expired messages (x-message-ttl) through the DLX on a timer", async () => {
    const node = c.node("n1");
    const ctx = client(node);
    await node.broker.declareQueue(ctx, quorumQueue("ttl-dead"));
    await node.broker.declareQueue(ctx, {
      name: "ttl",
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: {
        "x-message-ttl": 100,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": "ttl-dead",
      },
    });
    // Another node learns of the queue within a heartbeat (read-your-writes holds on n1 only).
    const n2 = c.node("n2").broker;
    await eventually("the queue known on n2", async () => (await n2.getQueue("/", "ttl")) !== undefined);
    const out = await n2.publish(client(c.node("n2")), {
      exchange: "",
      routingKey: "ttl",
      properties: {},
      body: text("old"),
      mandatory: false,
    });
    expect(out).toEqual({ kind: "routed", queues: 1 });
    const dead = await eventually("the expired message dead-lettered", () =>
      node.broker.get(ctx, 1, "ttl-dead", true),
    );
    expect(str(dead.body)).toBe("old");
    const deaths = dead.properties.headers?.["x-death"] as Record<string, unknown>[] | undefined;
    expect(deaths?.[0]).toMatchObject({ reason: "expired", queue: "ttl", count: 1 });
    expect((await node.broker.getQueue("/", "ttl"))?.messages).toBe(0);
  });
  it("serves basic.get and acks on a transient queue from another node than its home", async () => {
    const home = c.node("n1");
    const far = c.node("n3");
    await home.broker.declareQueue(client(home), {
      name: "scratch",
      passive: false,
      durable: false,
      exclusive: false,
      autoDelete: false,
      arguments: {},
    });
    await eventually(
      "the queue on n3",
      async () => (await far.broker.getQueue("/", "scratch")) !== undefined,
    );
    const ctx = client(far);
    const out = await far.broker.publish(ctx, {
      exchange: "",
      routingKey: "scratch",
      properties: { headers: { k: "v" } },
      body: text("far away"),
      mandatory: false,
    });
    expect(out).toEqual({ kind: "routed", queues: 1 });
    const got = await far.broker.get(ctx, 1, "scratch", false);
    expect(got && str(got.body)).toBe("far away");
    expect(got?.properties.headers).toEqual({ k: "v" });
    await far.broker.settle(ctx, 1, "scratch", "requeue", [got!.id]);
    const again = await far.broker.get(ctx, 1, "scratch", false);
    expect(again?.redelivered).toBe(true);
    await far.broker.settle(ctx, 1, "scratch", "ack", [again!.id]);
    const info = await far.broker.getQueue("/", "scratch");
    expect(info).toMatchObject({ messages: 0, leader: "n1", state: "running" });
  });
  it("dead-letters a burst of overflowing messages (drop-head), each once, settled in batches", async () => {
    const node = c.node("n2");
    const ctx = client(node);
    const q = (name: string, args: Record<string, unknown>) =>
      node.broker.declareQueue(ctx, quorumQueue(name, args));
    await q("overflow-dead", {});
    await q("overflow", {
      "x-max-length": 2,
      "x-dead-letter-exchange": "",
      "x-dead-letter-routing-key": "overflow-dead",
    });
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        node.broker.publish(ctx, {
          exchange: "",
          routingKey: "overflow",
          properties: { messageId: `m${i}` },
          body: text(`m${i}`),
          mandatory: false,
        }),
      ),
    );
    await eventually(
      "eighteen dead-lettered",
      async () => (await node.broker.getQueue("/", "overflow-dead"))?.messages === 18,
    );
    const source = await node.broker.getQueue("/", "overflow");
    expect(source?.messages).toBe(2);
    const bodies: string[] = [];
    for (;;) {
      const got = await node.broker.get(ctx, 9, "overflow-dead", true);
      if (got === undefined) break;
      bodies.push(str(got.body));
      expect(
        (got.properties.headers?.["x-death"] as Record<string, unknown>[] | undefined)?.[0]?.reason,
      ).toBe("maxlen");
    }
    expect(new Set(bodies).size).toBe(18);
  });
});
