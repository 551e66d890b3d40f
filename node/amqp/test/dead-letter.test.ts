/**
 * Dead-lettering, TTL, max-length and delivery limits over the wire, including the exact flows
 * of the user notes Warren was created from (/work/shared/seeds): a fanout DLX with a consumer
 * that nacks without requeue, a topic DLX consumed through an exclusive server-named queue bound
 * with `#`, and a retry loop that republishes with an `x-retry-count` header.
 */
import type { ConsumeMessage } from "amqplib";
import { describe, expect, it } from "vitest";
import { Inbox } from "./clients.js";
import { eventually, unique } from "./harness.js";
import { useAmqpCluster } from "./suite.js";

type Death = Record<string, unknown>;

function deaths(m: ConsumeMessage | undefined): Death[] {
  return (m?.properties.headers?.["x-death"] as Death[] | undefined) ?? [];
}

describe("dead-lettering over AMQP", () => {
  const { clients } = useAmqpCluster(3);

  it("seed 000: fanout dlx_exchange, dlx_queue and main_queue; Nack(requeue=false) dead-letters with x-death", async () => {
    const dlx = unique("dlx_exchange");
    const dlq = unique("dlx_queue");
    const main = unique("main_queue");
    const setup = await clients.channel(0);
    await setup.assertExchange(dlx, "fanout", { durable: true });
    await setup.assertQueue(dlq, { durable: true });
    await setup.bindQueue(dlq, dlx, "");
    await setup.assertQueue(main, { durable: true, arguments: { "x-dead-letter-exchange": dlx } });
    await clients.queueEverywhere(main);
    await clients.bindingsEverywhere(dlq, 2);

    const consumer = await clients.channel(1);
    await consumer.consume(main, (m) => m && consumer.nack(m, false, false));
    const dead = await clients.channel(2);
    const inbox = new Inbox();
    await dead.consume(dlq, inbox.onMessage);

    const pub = await (await clients.connect(2)).createConfirmChannel();
    pub.sendToQueue(main, Buffer.from("poison"), { headers: { attempt: 1 } });
    await pub.waitForConfirms();
    const [m] = await inbox.take(1);
    expect(m?.content.toString()).toBe("poison");
    expect(m?.fields.exchange).toBe(dlx);
    expect(m?.fields.routingKey).toBe(main);
    const [death] = deaths(m);
    expect(death).toMatchObject({
      count: 1,
      reason: "rejected",
      queue: main,
      exchange: "",
      "routing-keys": [main],
    });
    expect(death?.time).toBeDefined();
    expect(m?.properties.headers).toMatchObject({
      attempt: 1,
      "x-first-death-reason": "rejected",
      "x-first-death-queue": main,
      "x-first-death-exchange": "",
    });
    dead.ack(m!);
  });

  it("seed 003: topic DLX consumed through an exclusive server-named queue bound with #", async () => {
    const deadEx = unique("tizi365.dead");
    const hello = unique("tizi365.demo.hello");
    const ch = await clients.channel(1);
    await ch.assertExchange(deadEx, "topic", { durable: true });
    const { queue } = await ch.assertQueue("", { exclusive: true });
    await ch.bindQueue(queue, deadEx, "#");
    const inbox = new Inbox();
    await ch.consume(queue, inbox.onMessage, { noAck: true });
    const other = await clients.channel(0);
    await other.assertQueue(hello, {
      durable: true,
      arguments: {
        "x-dead-letter-exchange": deadEx,
        "x-dead-letter-routing-key": "dead.hello",
        "x-message-ttl": 100,
      },
    });
    await clients.queueEverywhere(hello);
    await clients.bindingsEverywhere(queue, 2);
    other.sendToQueue(hello, Buffer.from("expires"));
    const [m] = await inbox.take(1);
    expect(m?.fields.routingKey).toBe("dead.hello");
    expect(deaths(m)[0]).toMatchObject({ reason: "expired", queue: hello, count: 1 });
  });

  it("seed 000: retry with an x-retry-count header, then a dlq after the maximum", async () => {
    const work = unique("work");
    const dlq = unique("dlq");
    const ch = await clients.channel(2);
    await ch.assertQueue(work, { durable: true });
    await ch.assertQueue(dlq, { durable: true });
    await clients.queueEverywhere(work);
    await clients.queueEverywhere(dlq);
    const maxRetries = 3;
    const seen: number[] = [];
    const worker = await (await clients.connect(0)).createConfirmChannel();
    await worker.consume(work, (m) => {
      if (m === null) return;
      const count = Number(m.properties.headers?.["x-retry-count"] ?? 0);
      seen.push(count);
      const target = count >= maxRetries ? dlq : work;
      worker.sendToQueue(target, m.content, {
        headers: { ...m.properties.headers, "x-retry-count": count + 1 },
      });
      worker.ack(m);
    });
    ch.sendToQueue(work, Buffer.from("flaky"));
    const probe = await clients.channel(1);
    const final = await eventually("the message in the dlq", async () => {
      const m = await probe.get(dlq, { noAck: true });
      return m === false ? undefined : m;
    });
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(final.properties.headers?.["x-retry-count"]).toBe(4);
  });

  it("expires messages by queue TTL and per-message expiration, dead-lettering them as expired", async () => {
    const dlq = unique("ttl-dlq");
    const q = unique("ttl");
    const ch = await clients.channel(0);
    await ch.assertQueue(dlq);
    await ch.assertQueue(q, {
      arguments: { "x-message-ttl": 150, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq },
    });
    await clients.queueEverywhere(q);
    const pub = await clients.channel(1);
    pub.sendToQueue(q, Buffer.from("queue-ttl"));
    pub.sendToQueue(q, Buffer.from("msg-ttl"), { expiration: "50" });
    const inbox = new Inbox();
    await ch.consume(dlq, inbox.onMessage, { noAck: true });
    const got = await inbox.take(2);
    expect(got.map((m) => m.content.toString()).sort()).toEqual(["msg-ttl", "queue-ttl"]);
    const perMessage = got.find((m) => m.content.toString() === "msg-ttl");
    expect(deaths(perMessage)[0]).toMatchObject({ reason: "expired", "original-expiration": "50" });
    expect(perMessage?.properties.expiration).toBeUndefined();
  });

  it("max-length drop-head dead-letters the oldest as maxlen; reject-publish nacks the publisher", async () => {
    const dlq = unique("maxlen-dlq");
    const dropHead = unique("drop-head");
    const rejecting = unique("reject-publish");
    const ch = await clients.channel(1);
    await ch.assertQueue(dlq);
    await ch.assertQueue(dropHead, {
      arguments: { "x-max-length": 2, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq },
    });
    await ch.assertQueue(rejecting, { arguments: { "x-max-length": 2, "x-overflow": "reject-publish" } });
    await clients.queueEverywhere(dropHead);
    await clients.queueEverywhere(rejecting);
    const cc = await (await clients.connect(2)).createConfirmChannel();
    // One at a time: "oldest" must not depend on how the cluster orders concurrent publishes
    // while a leader moves (see docs/amqp.md, ordering).
    for (const s of ["1", "2", "3"]) {
      cc.sendToQueue(dropHead, Buffer.from(s));
      await cc.waitForConfirms();
    }
    const dead = await eventually("the dropped head", async () => {
      const m = await ch.get(dlq, { noAck: true });
      return m === false ? undefined : m;
    });
    expect(dead.content.toString()).toBe("1");
    expect(deaths(dead as unknown as ConsumeMessage)[0]).toMatchObject({
      reason: "maxlen",
      queue: dropHead,
    });

    const outcomes: string[] = [];
    await Promise.all(
      ["a", "b", "c"].map(
        (s) =>
          new Promise<void>((resolve) =>
            cc.sendToQueue(rejecting, Buffer.from(s), {}, (err) => {
              outcomes.push(`${s}:${err ? "nack" : "ack"}`);
              resolve();
            }),
          ),
      ),
    );
    expect(outcomes.sort()).toEqual(["a:ack", "b:ack", "c:nack"]);
  });

  it("dead-letters a message requeued past x-delivery-limit as delivery_limit", async () => {
    const dlq = unique("limit-dlq");
    const q = unique("limited");
    const ch = await clients.channel(0);
    await ch.assertQueue(dlq);
    await ch.assertQueue(q, {
      durable: true,
      arguments: { "x-delivery-limit": 2, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq },
    });
    await clients.queueEverywhere(q);
    const consumer = await clients.channel(1);
    let deliveries = 0;
    await consumer.consume(q, (m) => {
      if (m === null) return;
      deliveries++;
      consumer.nack(m, false, true);
    });
    ch.sendToQueue(q, Buffer.from("again"));
    const dead = await eventually("the message in the dlq", async () => {
      const m = await ch.get(dlq, { noAck: true });
      return m === false ? undefined : m;
    });
    expect(deliveries).toBe(3);
    expect(deaths(dead as unknown as ConsumeMessage)[0]).toMatchObject({
      reason: "delivery_limit",
      queue: q,
    });
  });
});
