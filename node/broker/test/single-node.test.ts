/**
 * One node: the Broker contract end to end over a real Raft host, storage and transport.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WarrenError } from "../../errors.js";
import { BrokerCluster, client, eventually, recorder, str, text } from "./harness.js";

const NO_ARGS = {};

describe("a single-node broker", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(1);
  });
  afterAll(async () => {
    await c.close();
  });

  it("creates guest on first boot with a salted hash and refuses wrong passwords", async () => {
    const b = c.node("n1").broker;
    const guest = await b.authenticate("guest", "guest", "127.0.0.1");
    expect(guest.tags).toContain("administrator");
    expect(guest.passwordHash).not.toContain("guest");
    await expect(b.authenticate("guest", "nope", "127.0.0.1")).rejects.toMatchObject({
      code: "UNAUTHORIZED",
    });
    await expect(b.authenticate("guest", "guest", "10.0.0.1")).rejects.toThrow(/only connect via localhost/);
  });

  it("declares, publishes, gets and acknowledges through a quorum queue", async () => {
    const b = c.node("n1").broker;
    const ctx = client(c.node("n1"));
    const declared = await b.declareQueue(ctx, {
      name: "orders",
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: NO_ARGS,
    });
    expect(declared.queue.type).toBe("quorum");
    const out = await b.publish(ctx, {
      exchange: "",
      routingKey: "orders",
      properties: { contentType: "text/plain" },
      body: text("hello"),
      mandatory: false,
    });
    expect(out).toEqual({ kind: "routed", queues: 1 });
    const got = await b.get(ctx, 1, "orders", false);
    expect(got && str(got.body)).toBe("hello");
    expect(got?.messageCount).toBe(0);
    await b.settle(ctx, 1, "orders", "ack", [got!.id]);
    const info = await b.getQueue("/", "orders");
    expect(info?.messages).toBe(0);
    expect(info?.leader).toBe("n1");
  });

  it("reports an unroutable publish and refuses unknown exchanges with 404", async () => {
    const b = c.node("n1").broker;
    const ctx = client(c.node("n1"));
    const out = await b.publish(ctx, {
      exchange: "amq.direct",
      routingKey: "nowhere",
      properties: {},
      body: text("x"),
      mandatory: true,
    });
    expect(out).toEqual({ kind: "unroutable" });
    const err = await b
      .publish(ctx, {
        exchange: "missing",
        routingKey: "",
        properties: {},
        body: text("x"),
        mandatory: false,
      })
      .catch((e: unknown) => e);
    expect(WarrenError.is(err, "NOT_FOUND")).toBe(true);
  });

  it("delivers to a consumer in order and respects prefetch", async () => {
    const node = c.node("n1");
    const b = node.broker;
    const ctx = client(node);
    await b.declareQueue(ctx, {
      name: "work",
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: NO_ARGS,
    });
    for (let i = 0; i < 5; i++) {
      await b.publish(ctx, {
        exchange: "",
        routingKey: "work",
        properties: {},
        body: text(`m${i}`),
        mandatory: false,
      });
    }
    const sink = recorder();
    await b.consume(
      ctx,
      {
        queue: "work",
        channel: 1,
        consumerTag: "",
        prefetch: 2,
        noAck: false,
        exclusive: false,
        arguments: NO_ARGS,
      },
      sink,
    );
    await eventually("two deliveries", () => sink.deliveries.length === 2);
    expect(sink.deliveries.map((d) => str(d.body))).toEqual(["m0", "m1"]);
    await b.settle(ctx, 1, "work", "ack", [sink.deliveries[0]!.id]);
    await eventually("the third delivery", () => sink.deliveries.length === 3);
    expect(str(sink.deliveries[2]!.body)).toBe("m2");
  });
});
