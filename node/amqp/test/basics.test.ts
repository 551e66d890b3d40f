/**
 * amqplib against a three-node cluster, clients on different nodes: declare, publish, consume,
 * get, confirms, returns, prefetch, redelivery, exclusive and auto-delete queues, cancel notify.
 */
import amqp from "amqplib";
import { describe, expect, it } from "vitest";
import { WarrenError } from "../../errors.js";
import { failure, Inbox } from "./clients.js";
import { eventually, startServerOver, unique } from "./harness.js";
import { useAmqpCluster } from "./suite.js";

describe("AMQP over the wire (amqplib, three nodes)", () => {
  const { c, clients } = useAmqpCluster(3);

  it("publishes through one node and consumes through another, properties intact", async () => {
    const q = unique("q");
    const a = await clients.channel(0);
    const b = await clients.channel(1);
    const ok = await a.assertQueue(q, { durable: true });
    expect(ok).toEqual({ queue: q, messageCount: 0, consumerCount: 0 });
    await clients.queueEverywhere(q);
    const inbox = new Inbox();
    const { consumerTag } = await b.consume(q, inbox.onMessage);
    expect(consumerTag).toMatch(/^amq\.ctag-/);
    a.sendToQueue(q, Buffer.from("hello"), {
      contentType: "text/plain",
      headers: { "x-app": "warren", n: 7, nested: { deep: true } },
      correlationId: "c-1",
      persistent: true,
      priority: 3,
      messageId: "m-1",
      timestamp: 1_700_000_000,
    });
    const [m] = await inbox.take(1);
    expect(m?.content.toString()).toBe("hello");
    expect(m?.fields).toMatchObject({
      consumerTag,
      deliveryTag: 1,
      redelivered: false,
      exchange: "",
      routingKey: q,
    });
    expect(m?.properties).toMatchObject({
      contentType: "text/plain",
      correlationId: "c-1",
      deliveryMode: 2,
      priority: 3,
      messageId: "m-1",
      timestamp: 1_700_000_000,
    });
    expect(m?.properties.headers).toMatchObject({ "x-app": "warren", n: 7, nested: { deep: true } });
    b.ack(m!);
  });

  it("basic.get returns messages with the remaining count, then get-empty", async () => {
    const q = unique("get");
    const ch = await clients.channel(2);
    await ch.assertQueue(q);
    const cc = await (await clients.connect(2)).createConfirmChannel();
    for (const s of ["a", "b"]) {
      cc.sendToQueue(q, Buffer.from(s));
      await cc.waitForConfirms();
    }
    const first = await ch.get(q);
    if (first === false) throw new Error("expected a message");
    expect(first.content.toString()).toBe("a");
    expect(first.fields.messageCount).toBe(1);
    const second = await ch.get(q, { noAck: true });
    if (second === false) throw new Error("expected a message");
    expect(second.content.toString()).toBe("b");
    expect(await ch.get(q)).toBe(false);
    ch.ack(first as never);
  });

  it("confirms every publish and returns an unroutable mandatory message with 312 NO_ROUTE", async () => {
    const cc = await (await clients.connect(1)).createConfirmChannel();
    const returned: { replyCode: number; replyText: string; routingKey: string; body: string }[] = [];
    cc.on("return", (m) => returned.push({ ...m.fields, body: m.content.toString() } as never));
    const q = unique("confirm");
    await cc.assertQueue(q);
    for (let i = 0; i < 50; i++) cc.sendToQueue(q, Buffer.from(String(i)));
    cc.publish("", unique("nowhere"), Buffer.from("lost"), { mandatory: true });
    await cc.waitForConfirms();
    expect(returned).toHaveLength(1);
    expect(returned[0]).toMatchObject({ replyCode: 312, replyText: "NO_ROUTE", body: "lost" });
    const info = await cc.checkQueue(q);
    expect(info.messageCount).toBe(50);
  });

  it("honours per-consumer prefetch and redelivers unacked messages when the channel closes", async () => {
    const q = unique("prefetch");
    const pub = await clients.channel(0);
    await pub.assertQueue(q);
    await clients.queueEverywhere(q);
    const conn = await clients.connect(1);
    const ch = await conn.createChannel();
    await ch.prefetch(2);
    const inbox = new Inbox();
    await ch.consume(q, inbox.onMessage);
    for (let i = 0; i < 5; i++) pub.sendToQueue(q, Buffer.from(String(i)));
    const firstTwo = await inbox.take(2);
    expect(firstTwo.map((m) => m.content.toString())).toEqual(["0", "1"]);
    // Nothing more until an ack: probe with a get on another channel (the rest are ready).
    await eventually("3 ready", async () => (await pub.checkQueue(q)).messageCount === 3);
    ch.ack(firstTwo[0]!);
    const [third] = await inbox.take(1);
    expect(third?.content.toString()).toBe("2");
    await ch.close();
    const other = await clients.channel(2);
    const again = new Inbox();
    await other.consume(q, again.onMessage, { noAck: true });
    const rest = await again.take(4);
    expect(rest.map((m) => m.content.toString()).sort()).toEqual(["1", "2", "3", "4"]);
    expect(
      rest
        .filter((m) => m.fields.redelivered)
        .map((m) => m.content.toString())
        .sort(),
    ).toEqual(["1", "2"]);
  });

  it("nack with requeue redelivers; reject without requeue drops", async () => {
    const q = unique("nack");
    const ch = await clients.channel(1);
    await ch.assertQueue(q);
    ch.sendToQueue(q, Buffer.from("x"));
    const inbox = new Inbox();
    await ch.consume(q, inbox.onMessage);
    const [m1] = await inbox.take(1);
    ch.nack(m1!, false, true);
    const [m2] = await inbox.take(1);
    expect(m2?.fields.redelivered).toBe(true);
    expect(m2?.properties.headers?.["x-delivery-count"]).toBe(1);
    ch.reject(m2!, false);
    await eventually("queue empty", async () => (await ch.checkQueue(q)).messageCount === 0);
  });

  it("notifies a consumer with basic.cancel when its queue is deleted", async () => {
    const q = unique("cancel");
    const a = await clients.channel(0);
    await a.assertQueue(q);
    await clients.queueEverywhere(q);
    const b = await clients.channel(2);
    const inbox = new Inbox();
    await b.consume(q, inbox.onMessage);
    await a.deleteQueue(q);
    await eventually("cancel notification", () => inbox.cancelled);
  });

  it("ignores acks of messages whose queue was deleted meanwhile (the channel stays open)", async () => {
    const q = unique("acked-after-delete");
    const a = await clients.channel(0);
    await a.assertQueue(q);
    await clients.queueEverywhere(q);
    // The race: the ack reaches the queue's leader after the queue's group was deleted. The
    // broker reports NOT_FOUND; RabbitMQ drops such an ack and the channel goes on working.
    const real = c.cluster.nodes[1]!.broker;
    const server = await startServerOver(real, {
      settle: () => Promise.reject(new WarrenError("NOT_FOUND", `queue of group q:/:${q} no longer exists`)),
    });
    try {
      const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${server.port}/`);
      const b = await conn.createChannel();
      let closed = false;
      b.on("close", () => {
        closed = true;
      });
      b.on("error", () => {});
      const inbox = new Inbox();
      await b.consume(q, inbox.onMessage);
      a.sendToQueue(q, Buffer.from("x"));
      const [m] = await inbox.take(1);
      b.ack(m!);
      // The refused settle comes back within this round trip (a declare waits for a commit).
      const other = unique("after");
      expect((await b.assertQueue(other, { exclusive: true })).queue).toBe(other);
      expect(closed).toBe(false);
      await conn.close();
    } finally {
      await server.close();
    }
  });

  it("keeps exclusive queues to their connection (405) and deletes them when it closes", async () => {
    const conn = await clients.connect(0);
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue("", { exclusive: true });
    expect(queue).toMatch(/^amq\.gen-/);
    await clients.queueEverywhere(queue);
    const other = await clients.channel(1);
    const err = await failure(other.consume(queue, () => {}));
    expect(err.code).toBe(405);
    expect(err.message).toContain("RESOURCE_LOCKED - cannot obtain exclusive access to locked queue");
    await conn.close();
    const probe = await clients.channel(2);
    await eventually(
      "exclusive queue gone",
      async () => (await failure(probe.checkQueue(queue))).code === 404,
    );
  });

  it("deletes an auto-delete queue when its last consumer cancels", async () => {
    const q = unique("auto");
    const ch = await clients.channel(1);
    await ch.assertQueue(q, { autoDelete: true });
    const { consumerTag } = await ch.consume(q, () => {});
    await ch.cancel(consumerTag);
    const probe = await clients.channel(0);
    await eventually("auto-delete queue gone", async () => (await failure(probe.checkQueue(q))).code === 404);
  });

  it("routes through every exchange type", async () => {
    const ch = await clients.channel(0);
    const kinds = ["direct", "fanout", "topic", "headers"] as const;
    const names = Object.fromEntries(kinds.map((k) => [k, unique(`ex-${k}`)]));
    const qs = Array.from({ length: 4 }, (_, i) => unique(`exq${i}`));
    for (const k of kinds) await ch.assertExchange(names[k]!, k);
    for (const q of qs) await ch.assertQueue(q);
    await ch.bindQueue(qs[0]!, names.direct!, "red");
    await ch.bindQueue(qs[1]!, names.fanout!, "ignored");
    await ch.bindQueue(qs[2]!, names.topic!, "a.*.c");
    await ch.bindQueue(qs[3]!, names.headers!, "", { "x-match": "all", color: "red", size: 1 });
    for (const q of qs) await clients.bindingsEverywhere(q, 2);
    const cc = await (await clients.connect(2)).createConfirmChannel();
    cc.publish(names.direct!, "red", Buffer.from("d1"));
    cc.publish(names.direct!, "blue", Buffer.from("d2"));
    cc.publish(names.fanout!, "whatever", Buffer.from("f1"));
    cc.publish(names.topic!, "a.b.c", Buffer.from("t1"));
    cc.publish(names.topic!, "a.b.b.c", Buffer.from("t2"));
    cc.publish(names.headers!, "", Buffer.from("h1"), { headers: { color: "red", size: 1 } });
    cc.publish(names.headers!, "", Buffer.from("h2"), { headers: { color: "red" } });
    await cc.waitForConfirms();
    const got: string[][] = [];
    for (const q of qs) {
      const bodies: string[] = [];
      for (;;) {
        const m = await ch.get(q, { noAck: true });
        if (m === false) break;
        bodies.push(m.content.toString());
      }
      got.push(bodies);
    }
    expect(got).toEqual([["d1"], ["f1"], ["t1"], ["h1"]]);
  });

  it("spreads messages over queues with x-consistent-hash, one queue per routing key", async () => {
    const ch = await clients.channel(1);
    const ex = unique("hash");
    const qa = unique("hash-a");
    const qb = unique("hash-b");
    await ch.assertExchange(ex, "x-consistent-hash");
    for (const q of [qa, qb]) {
      await ch.assertQueue(q);
      await ch.bindQueue(q, ex, "1");
    }
    await clients.bindingsEverywhere(qa, 2);
    await clients.bindingsEverywhere(qb, 2);
    const cc = await (await clients.connect(0)).createConfirmChannel();
    for (let round = 0; round < 2; round++) {
      for (let k = 0; k < 20; k++) cc.publish(ex, `key-${k}`, Buffer.from(`key-${k}`));
    }
    await cc.waitForConfirms();
    const seen = new Map<string, Set<string>>();
    let total = 0;
    for (const q of [qa, qb]) {
      for (;;) {
        const m = await ch.get(q, { noAck: true });
        if (m === false) break;
        total++;
        const key = m.content.toString();
        seen.set(key, (seen.get(key) ?? new Set()).add(q));
      }
    }
    expect(total).toBe(40);
    expect([...seen.values()].every((qs) => qs.size === 1)).toBe(true);
    expect(new Set([...seen.values()].map((qs) => [...qs][0])).size).toBe(2);
  });

  it("sends unroutable messages to the alternate exchange instead of returning them", async () => {
    const ch = await clients.channel(2);
    const ae = unique("ae");
    const main = unique("with-ae");
    const caught = unique("caught");
    await ch.assertExchange(ae, "fanout");
    await ch.assertExchange(main, "direct", { alternateExchange: ae });
    await ch.assertQueue(caught);
    await ch.bindQueue(caught, ae, "");
    await clients.bindingsEverywhere(caught, 2);
    await clients.exchangeEverywhere(main);
    const cc = await (await clients.connect(1)).createConfirmChannel();
    const returned: unknown[] = [];
    cc.on("return", (m) => returned.push(m));
    cc.publish(main, "no-binding", Buffer.from("to-ae"), { mandatory: true });
    await cc.waitForConfirms();
    const m = await ch.get(caught, { noAck: true });
    expect(m !== false && m.content.toString()).toBe("to-ae");
    expect(m !== false && m.fields.exchange).toBe(main);
    expect(returned).toHaveLength(0);
  });

  it("delivers to the consumer with the highest x-priority while it has room", async () => {
    const q = unique("prio");
    const ch = await clients.channel(0);
    await ch.assertQueue(q);
    await ch.prefetch(100);
    const low = new Inbox();
    const high = new Inbox();
    await ch.consume(q, low.onMessage, { priority: 1 });
    await ch.consume(q, high.onMessage, { priority: 10 });
    const cc = await (await clients.connect(0)).createConfirmChannel();
    for (let i = 0; i < 10; i++) cc.sendToQueue(q, Buffer.from(String(i)));
    await cc.waitForConfirms();
    await high.take(10);
    expect(low.messages).toHaveLength(0);
  });

  it("refuses a second consumer on a queue consumed exclusively (403)", async () => {
    const q = unique("exclusive-consumer");
    const a = await clients.channel(0);
    await a.assertQueue(q);
    await clients.queueEverywhere(q);
    await a.consume(q, () => {}, { exclusive: true });
    const b = await clients.channel(1);
    const err = await failure(b.consume(q, () => {}));
    expect(err.code).toBe(403);
    // RabbitMQ's text is "queue 'q' in vhost '/' in exclusive use" (the queue machine words it
    // as the exclusive-queue case; see the report of issue 5).
    expect(err.message).toContain("ACCESS_REFUSED");
    expect(err.message).toContain(`'${q}'`);
  });

  it("covers purge, unbind, exchange unbind/delete and conditional queue delete", async () => {
    const ch = await clients.channel(1);
    ch.on("error", () => {});
    const ex = unique("m-ex");
    const ex2 = unique("m-ex2");
    const q = unique("m-q");
    await ch.assertExchange(ex, "direct");
    await ch.assertExchange(ex2, "fanout");
    await ch.assertQueue(q);
    await ch.bindQueue(q, ex, "k");
    await ch.bindExchange(ex2, ex, "k");
    const cc = await (await clients.connect(1)).createConfirmChannel();
    for (let i = 0; i < 3; i++) cc.publish(ex, "k", Buffer.from(String(i)));
    await cc.waitForConfirms();
    expect((await ch.purgeQueue(q)).messageCount).toBe(3);
    await ch.unbindQueue(q, ex, "k");
    await ch.unbindExchange(ex2, ex, "k");
    const returned: string[] = [];
    cc.on("return", (m) => returned.push(m.content.toString()));
    cc.publish(ex, "k", Buffer.from("nowhere"), { mandatory: true });
    await cc.waitForConfirms();
    expect(returned).toEqual(["nowhere"]);
    cc.sendToQueue(q, Buffer.from("keep"));
    await cc.waitForConfirms();
    const notEmpty = await failure(ch.deleteQueue(q, { ifEmpty: true }));
    expect(notEmpty.code).toBe(406);
    const other = await clients.channel(1);
    expect((await other.deleteQueue(q)).messageCount).toBe(1);
    await other.deleteExchange(ex2);
    await other.deleteExchange(ex);
    expect((await failure(other.checkExchange(ex))).code).toBe(404);
  });
  it("counts a confirmed message in queue.declare-ok, also through an old leader that has not noticed its replacement", async () => {
    // declare-ok counts read behind a read barrier at the leader: a leader that was replaced
    // and has not noticed yet (within an election timeout, or a new one that has not applied
    // its predecessor's last entries) must not count a confirmed message as missing.
    const q = unique("counted");
    const ch = await clients.channel(0);
    await ch.assertQueue(q);
    const nodes = c.cluster.nodes;
    const { group, old } = await eventually(`${q} led by its placed leader on every node`, async () => {
      const info = await nodes[0]!.broker.getQueue("/", q);
      const g = info?.record.group;
      if (g === undefined) return undefined;
      const placed = info!.record.leader;
      return nodes.every((n) => n.host.leaderOf(g) === placed) ? { group: g, old: placed } : undefined;
    });
    const oldAt = nodes.findIndex((n) => n.id === old);
    const newAt = (oldAt + 1) % nodes.length;
    const undo = await c.cluster.deposeUnnoticed(old, group, nodes[newAt]!.id);
    try {
      const cc = await (await clients.connect(newAt)).createConfirmChannel();
      cc.sendToQueue(q, Buffer.alloc(1024));
      await cc.waitForConfirms();
      const counts = await Promise.all(
        nodes.map(async (_, i) => (await (await clients.channel(i)).checkQueue(q)).messageCount),
      );
      // Without the barrier the old leader answers from what it applied: 0 through its node.
      expect(counts).toEqual([1, 1, 1]);
    } finally {
      undo();
    }
  });
});
