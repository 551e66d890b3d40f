/**
 * Flow control and the less common methods: a no-ack consumer that stops reading its socket
 * holds up its queue instead of growing the node's buffers; global prefetch limits a channel's
 * consumers together; basic.recover requeues; exchange-to-exchange bindings; direct reply-to
 * through amqplib.
 */
import amqp from "amqplib";
import { describe, expect, it } from "vitest";
import { Inbox } from "./clients.js";
import { eventually, startServerOver, unique } from "./harness.js";
import { RawClient } from "./raw-client.js";
import { useAmqpCluster } from "./suite.js";

/**
 * Wall-time budgets of the slow no-ack consumer test, phase by phase: its 12 MiB through three
 * in-process nodes take about 1 s on an idle machine, so each phase allows for one 40 times slower.
 */
const PUBLISH_BUDGET_MS = 40_000;
const DELIVER_BUDGET_MS = 40_000;

describe("AMQP flow control and extensions", () => {
  const { c, clients } = useAmqpCluster(3, {
    maxMessageSize: 1024 * 1024,
    throttle: { node: 1, maxInflightPublishes: 16 },
  });

  it(
    "a no-ack consumer that stops reading holds its queue back, then gets everything",
    async () => {
      const q = unique("slow");
      // The smallest load that outgrows what a stopped reader can take: the consumer's window of
      // 500 (4 MiB here), the door's 1 MiB socket bound and the kernel's socket buffers (about
      // 1 MiB measured on loopback, at most the 4 MiB tcp_wmem ceiling as the reader never reads
      // to grow its receive buffer): at most 1165 messages, so 1500 leave 2.6 MiB held back.
      const total = 1500;
      const size = 8 * 1024;
      const setup = await clients.channel(0);
      await setup.assertQueue(q);
      await clients.queueEverywhere(q);
      const slow = await RawClient.open(c.port(0));
      await slow.openChannel(1);
      slow.send(1, {
        name: "basic.consume",
        queue: q,
        consumerTag: "slow",
        noLocal: false,
        noAck: true,
        exclusive: false,
        noWait: false,
        arguments: {},
      });
      await slow.method(1, "basic.consume-ok");
      slow.socket.pause();

      const pub = await (await clients.connect(2)).createConfirmChannel();
      // In batches, so a loaded machine commits each batch well within the proposal timeout.
      for (let i = 0; i < total; i++) {
        pub.sendToQueue(q, Buffer.alloc(size, i % 251));
        if (i % 250 === 249) await pub.waitForConfirms();
      }
      await pub.waitForConfirms();
      // Whatever the kernel's socket buffers take, much of the 24 MiB is still in the queue.
      const info = await eventually("queue figures", async () => {
        const i = await c.cluster.nodes[0]!.broker.getQueue("/", q);
        return i !== undefined && i.messages > 0 ? i : undefined;
      });
      expect(info.messagesReady).toBeGreaterThan(0);
      expect(info.messagesUnacknowledged).toBeLessThanOrEqual(500);

      slow.socket.resume();
      await eventually(
        `${total} deliveries`,
        () =>
          slow.frames.filter((f) => f.type === "method" && f.method.name === "basic.deliver").length >= total,
        DELIVER_BUDGET_MS,
      );
      await eventually(
        "queue drained",
        async () => (await c.cluster.nodes[0]!.broker.getQueue("/", q))?.messages === 0,
      );
      slow.destroy();
    },
    PUBLISH_BUDGET_MS + DELIVER_BUDGET_MS + 10_000,
  );

  it("does not redeliver what a no-ack consumer received when it closes its channel", async () => {
    const q = unique("noack-close");
    const conn = await clients.connect(0);
    const ch = await conn.createChannel();
    await ch.assertQueue(q);
    const cc = await (await clients.connect(2)).createConfirmChannel();
    for (let i = 0; i < 50; i++) cc.sendToQueue(q, Buffer.from(String(i)));
    await cc.waitForConfirms();
    const inbox = new Inbox();
    await ch.consume(q, inbox.onMessage, { noAck: true });
    await inbox.take(50);
    await ch.close();
    const info = await cc.checkQueue(q);
    expect(info.messageCount).toBe(0);
  });

  it("stops reading a publisher that outruns commits, and confirms everything in the end", async () => {
    const q = unique("throttle");
    const cc = await (await clients.connect(1)).createConfirmChannel();
    await cc.assertQueue(q);
    const before = c.servers[1]!.throttled();
    for (let i = 0; i < 400; i++) cc.sendToQueue(q, Buffer.alloc(512, i % 256));
    await cc.waitForConfirms();
    expect(c.servers[1]!.throttled()).toBeGreaterThan(before);
    expect((await cc.checkQueue(q)).messageCount).toBe(400);
  });

  it("global prefetch limits the channel's consumers together", async () => {
    const q1 = unique("g1");
    const q2 = unique("g2");
    const ch = await clients.channel(2);
    await ch.assertQueue(q1);
    await ch.assertQueue(q2);
    await ch.prefetch(3, true);
    const inbox = new Inbox();
    await ch.consume(q1, inbox.onMessage);
    await ch.consume(q2, inbox.onMessage);
    const cc = await (await clients.connect(2)).createConfirmChannel();
    for (let i = 0; i < 5; i++) {
      cc.sendToQueue(q1, Buffer.from(`a${i}`));
      cc.sendToQueue(q2, Buffer.from(`b${i}`));
    }
    await cc.waitForConfirms();
    const first = await inbox.take(3);
    // The fourth waits for an ack.
    const probe = await clients.channel(2);
    await eventually("the rest held back", async () => {
      const a = await probe.checkQueue(q1);
      const b = await probe.checkQueue(q2);
      return a.messageCount + b.messageCount <= 7;
    });
    expect(inbox.messages).toHaveLength(0);
    ch.ack(first[0]!);
    await inbox.take(1);
    ch.ack(first[2]!, true);
    await inbox.take(2);
  });

  it("basic.recover requeues unacked deliveries as redelivered", async () => {
    const q = unique("recover");
    const ch = await clients.channel(1);
    await ch.assertQueue(q);
    ch.sendToQueue(q, Buffer.from("r"));
    const inbox = new Inbox();
    await ch.consume(q, inbox.onMessage);
    await inbox.take(1);
    await ch.recover();
    const [again] = await inbox.take(1);
    expect(again?.fields.redelivered).toBe(true);
    ch.ack(again!);
  });

  it("routes through exchange-to-exchange bindings", async () => {
    const ch = await clients.channel(0);
    const up = unique("up");
    const down = unique("down");
    const q = unique("e2e");
    await ch.assertExchange(up, "direct");
    await ch.assertExchange(down, "fanout");
    await ch.bindExchange(down, up, "k");
    await ch.assertQueue(q);
    await ch.bindQueue(q, down, "");
    await clients.bindingsEverywhere(q, 2);
    await clients.bindingsEverywhere(down, 1, "exchange");
    const cc = await (await clients.connect(1)).createConfirmChannel();
    cc.publish(up, "k", Buffer.from("via-e2e"));
    cc.publish(up, "other", Buffer.from("dropped"));
    await cc.waitForConfirms();
    const m = await ch.get(q, { noAck: true });
    expect(m !== false && m.content.toString()).toBe("via-e2e");
    expect(await ch.get(q)).toBe(false);
  });

  it("direct reply-to with amqplib: reply_to is rewritten and the reply comes back across nodes", async () => {
    const q = unique("rpc");
    // The responder is on node 0, the requester on node 2: the reply crosses the transport.
    const server = await (await clients.connect(0)).createChannel();
    await server.assertQueue(q);
    await clients.queueEverywhere(q);
    await server.consume(q, (m) => {
      if (m === null) return;
      server.sendToQueue(m.properties.replyTo, Buffer.from(`re:${m.content.toString()}`), {
        correlationId: m.properties.correlationId,
      });
      server.ack(m);
    });
    const client = await (await clients.connect(2)).createChannel();
    const inbox = new Inbox();
    await client.consume("amq.rabbitmq.reply-to", inbox.onMessage, { noAck: true });
    for (const body of ["hi", "again"]) {
      client.sendToQueue(q, Buffer.from(body), { replyTo: "amq.rabbitmq.reply-to", correlationId: body });
    }
    const replies = await inbox.take(2);
    expect(replies.map((r) => [r.content.toString(), r.properties.correlationId]).sort()).toEqual([
      ["re:again", "again"],
      ["re:hi", "hi"],
    ]);
    expect(replies[0]?.fields.routingKey).toMatch(/^amq\.rabbitmq\.reply-to\./);
    // Without the reply consumer, asking for replies is RabbitMQ's 406.
    const bare = await (await clients.connect(1)).createChannel();
    const closed = new Promise<{ code: number; message: string }>((resolve) => bare.on("error", resolve));
    bare.sendToQueue(q, Buffer.from("x"), { replyTo: "amq.rabbitmq.reply-to" });
    const err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain("PRECONDITION_FAILED - fast reply consumer does not exist");
  });

  it("sends connection.blocked/unblocked as the broker blocks, and holds a publisher meanwhile", async () => {
    // The broker blocks on memory or backlog; here a test double of its signal drives it.
    const real = c.cluster.nodes[0]!.broker;
    let fire: ((blocked: boolean, reason: string) => void) | undefined;
    const server = await startServerOver(real, {
      onBlockedChange: (cb: (b: boolean, r: string) => void) => {
        fire = cb;
      },
    });
    try {
      const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${server.port}/`);
      const events: string[] = [];
      conn.on("blocked", (reason: string) => events.push(`blocked:${reason}`));
      conn.on("unblocked", () => events.push("unblocked"));
      const cc = await conn.createConfirmChannel();
      const q = unique("blocked");
      await cc.assertQueue(q);
      fire?.(true, "memory high watermark reached");
      await eventually("blocked", () => events.includes("blocked:memory high watermark reached"));
      cc.sendToQueue(q, Buffer.from("held"));
      fire?.(false, "");
      await cc.waitForConfirms();
      expect(events).toEqual(["blocked:memory high watermark reached", "unblocked"]);
      expect((await cc.checkQueue(q)).messageCount).toBe(1);
      await conn.close();
    } finally {
      await server.close();
    }
  });
});
