/**
 * What a client sent before it closed is processed, in order, as RabbitMQ does: acks written just
 * before channel.close / connection.close are applied (nothing comes back as a redelivery), and
 * publishes written just before a close reach their queue. The clients sit on a node that does
 * not lead the queue, so their acks and publishes are forwarded to the leader.
 *
 * amqplib and rabbitmq-client flush a channel's frames before its channel.close. Before
 * connection.close amqplib does not (its frame mux may put connection.close ahead of acks still
 * buffered, and RabbitMQ, like Warren, discards frames after connection.close), so the
 * connection.close cases write the frames and the close in one socket write with a raw client:
 * the server sees them in one read, which is where queued acks used to be skipped.
 */
import { Connection } from "rabbitmq-client";
import { afterAll, describe, expect, it } from "vitest";
import { encodeContentFrames, encodeMethodFrame } from "../codec/index.js";
import { Inbox } from "./clients.js";
import { eventually, unique } from "./harness.js";
import { RawClient } from "./raw-client.js";
import { useAmqpCluster } from "./suite.js";

const N = 20;

describe("frames sent just before a close are processed", () => {
  const { c, clients } = useAmqpCluster(3);
  const rcConns: Connection[] = [];
  const raws: RawClient[] = [];
  afterAll(async () => {
    for (const r of raws) r.destroy();
    await Promise.all(rcConns.map((r) => r.close()));
  });

  async function raw(node: number): Promise<RawClient> {
    const r = await RawClient.open(c.port(node));
    raws.push(r);
    await r.openChannel(1);
    return r;
  }

  const CLOSE = encodeMethodFrame(0, {
    name: "connection.close",
    replyCode: 200,
    replyText: "bye",
    classId: 0,
    methodId: 0,
  });

  function publishFrames(q: string, bodies: readonly string[]): Uint8Array[] {
    return bodies.flatMap((b) => [
      encodeMethodFrame(1, {
        name: "basic.publish",
        exchange: "",
        routingKey: q,
        mandatory: false,
        immediate: false,
      }),
      ...encodeContentFrames(1, 60, { deliveryMode: 2 }, Buffer.from(b), 131_072),
    ]);
  }

  /** A durable queue holding N confirmed messages, and a node that does not lead it. */
  async function queueWithMessages(prefix: string): Promise<{ q: string; node: number }> {
    const q = unique(prefix);
    const setup = await (await clients.connect(0)).createConfirmChannel();
    await setup.assertQueue(q, { durable: true });
    for (let i = 0; i < N; i++) setup.sendToQueue(q, Buffer.from(`m${i}`), { persistent: true });
    await setup.waitForConfirms();
    const leader = await clients.leaderIndex(q);
    return { q, node: (leader + 1) % c.cluster.nodes.length };
  }

  async function queueFigures(q: string): Promise<{ messages: number; consumers: number }> {
    const info = await c.cluster.nodes[0]!.broker.getQueue("/", q);
    if (info === undefined) throw new Error(`queue ${q} is gone`);
    return { messages: info.messages, consumers: info.consumers };
  }

  it("amqplib: acks written just before channel.close are applied, not redelivered", async () => {
    const { q, node } = await queueWithMessages("ack-ch-close");
    const ch = await (await clients.connect(node)).createChannel();
    await ch.prefetch(N);
    const inbox = new Inbox();
    await ch.consume(q, inbox.onMessage);
    const got = await inbox.take(N);
    for (const m of got) ch.ack(m);
    await ch.close();
    // close-ok comes after the acks were committed on the leader and the channel was released.
    expect(await queueFigures(q)).toEqual({ messages: 0, consumers: 0 });
    const check = await clients.channel(node);
    expect(await check.get(q)).toBe(false);
  });

  it("acks and connection.close in one write: the acks are applied before close-ok", async () => {
    const { q, node } = await queueWithMessages("ack-conn-close");
    const r = await raw(node);
    r.send(1, { name: "basic.qos", prefetchSize: 0, prefetchCount: N, global: false });
    await r.method(1, "basic.qos-ok");
    r.send(1, {
      name: "basic.consume",
      queue: q,
      consumerTag: "closing",
      noLocal: false,
      noAck: false,
      exclusive: false,
      noWait: false,
      arguments: {},
    });
    await r.method(1, "basic.consume-ok");
    const tags: number[] = [];
    for (let i = 0; i < N; i++) tags.push(Number((await r.method(1, "basic.deliver")).deliveryTag));
    r.write(
      Buffer.concat([
        ...tags.map((deliveryTag) =>
          encodeMethodFrame(1, { name: "basic.ack", deliveryTag, multiple: false }),
        ),
        CLOSE,
      ]),
    );
    await r.method(0, "connection.close-ok");
    // close-ok comes once the broker released the connection (as rabbit_reader after its channels).
    expect(await queueFigures(q)).toEqual({ messages: 0, consumers: 0 });
  });

  it("publishes and connection.close in one write: the publishes reach the queue", async () => {
    const q = unique("pub-conn-close");
    const setup = await clients.channel(0);
    await setup.assertQueue(q, { durable: true });
    const r = await raw(((await clients.leaderIndex(q)) + 1) % 3);
    const bodies = Array.from({ length: N }, (_, i) => `p${i}`);
    r.write(Buffer.concat([...publishFrames(q, bodies), CLOSE]));
    await r.method(0, "connection.close-ok");
    expect((await queueFigures(q)).messages).toBe(N);
  });

  it("publishes followed by the socket's end (no close) reach the queue", async () => {
    const q = unique("pub-fin");
    const setup = await clients.channel(0);
    await setup.assertQueue(q, { durable: true });
    const r = await raw(((await clients.leaderIndex(q)) + 1) % 3);
    r.socket.end(Buffer.concat(publishFrames(q, ["f0", "f1", "f2"])));
    await eventually(`3 messages in ${q}`, async () => (await queueFigures(q)).messages >= 3);
    expect((await queueFigures(q)).messages).toBe(3);
  });

  it("amqplib: publishes written just before channel.close reach the queue", async () => {
    const q = unique("pub-ch-close");
    const setup = await clients.channel(0);
    await setup.assertQueue(q, { durable: true });
    const leader = await clients.leaderIndex(q);
    const ch = await (await clients.connect((leader + 1) % 3)).createConfirmChannel();
    for (let i = 0; i < N; i++) ch.sendToQueue(q, Buffer.from(`p${i}`), { persistent: true });
    await ch.close();
    // The publishes committed before close-ok (their confirms went out before it, too).
    expect((await queueFigures(q)).messages).toBe(N);
    const bodies: string[] = [];
    for (let m = await setup.get(q, { noAck: true }); m !== false; m = await setup.get(q, { noAck: true }))
      bodies.push(m.content.toString());
    expect(bodies).toEqual(Array.from({ length: N }, (_, i) => `p${i}`));
  });

  it("rabbitmq-client: acks before close are applied; confirms of publishes before close arrive", async () => {
    const { q, node } = await queueWithMessages("rc-close");
    const rc = new Connection({ url: c.url(node), retryLow: 50, retryHigh: 200 });
    rc.on("error", () => {});
    rcConns.push(rc);

    const consumer = await rc.acquire();
    await consumer.basicQos({ prefetchCount: N });
    const tags: number[] = [];
    await consumer.basicConsume({ queue: q }, (msg) => tags.push(msg.deliveryTag));
    await eventually(`${N} deliveries (have ${tags.length})`, () => tags.length >= N);
    for (const deliveryTag of tags) consumer.basicAck({ deliveryTag });
    await consumer.close();
    expect(await queueFigures(q)).toEqual({ messages: 0, consumers: 0 });

    const publisher = await rc.acquire();
    await publisher.confirmSelect();
    const confirms = Array.from({ length: N }, (_, i) => publisher.basicPublish(q, `r${i}`));
    await publisher.close();
    // Every publish sent before channel.close got its outcome before close-ok: none is lost.
    const outcomes = await Promise.allSettled(confirms);
    expect(outcomes.filter((o) => o.status === "rejected")).toEqual([]);
    expect((await queueFigures(q)).messages).toBe(N);
  });
});
