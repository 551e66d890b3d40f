/**
 * Errors where RabbitMQ raises them, with its codes and texts: channel errors (404, 403, 405,
 * 406) close the channel and the connection carries on; connection errors (501-505, 530, 540)
 * close the connection. Checked with amqplib where a client can provoke them, with raw frames
 * where only a broken client can.
 */
import amqp from "amqplib";
import { afterAll, describe, expect, it } from "vitest";
import { PROTOCOL_HEADER } from "../codec/index.js";
import { startAmqpServer } from "../server.js";
import { failure } from "./clients.js";
import { eventually, unique } from "./harness.js";
import { RawClient } from "./raw-client.js";
import { useAmqpCluster } from "./suite.js";

describe("AMQP errors", () => {
  // The listeners propose RabbitMQ's 60 s heartbeat: amqplib takes any proposal, and at 1 s a
  // 2 s pause of this loaded process (brokers and clients share it) would drop its connections.
  // The heartbeat tests ask for 1 s in their own tune-ok, which wins.
  const { c, clients } = useAmqpCluster(3, { maxMessageSize: 64 * 1024 });
  const raws: RawClient[] = [];
  afterAll(() => {
    for (const r of raws) r.destroy();
  });

  async function raw(node = 0): Promise<RawClient> {
    const r = await RawClient.open(c.port(node));
    raws.push(r);
    return r;
  }

  describe("channel errors close the channel only", () => {
    it("404 on a passive declare of a missing queue, then the connection still works", async () => {
      const conn = await clients.connect(1);
      const ch = await conn.createChannel();
      ch.on("error", () => {});
      const q = unique("missing");
      const err = await failure(ch.checkQueue(q));
      expect(err.code).toBe(404);
      expect(err.message).toContain(`NOT_FOUND - no queue '${q}' in vhost '/'`);
      // The channel number is reused at once, and the new channel works normally.
      const again = await conn.createChannel();
      const q2 = unique("after-404");
      await again.assertQueue(q2);
      const got = new Promise<string>((resolve) => {
        void again.consume(q2, (m) => m && resolve(m.content.toString()), { noAck: true });
      });
      again.sendToQueue(q2, Buffer.from("still works"));
      expect(await got).toBe("still works");
    });

    it("404 when publishing to a missing exchange", async () => {
      const conn = await clients.connect(2);
      const ch = await conn.createChannel();
      const closed = new Promise<{ code: number; message: string }>((resolve) => ch.on("error", resolve));
      const x = unique("nox");
      ch.publish(x, "k", Buffer.from("m"));
      const err = await closed;
      expect(err.code).toBe(404);
      expect(err.message).toContain(`NOT_FOUND - no exchange '${x}' in vhost '/'`);
    });

    it("406 on an inequivalent redeclare and on an unknown delivery tag", async () => {
      const conn = await clients.connect(0);
      const ch = await conn.createChannel();
      ch.on("error", () => {});
      const q = unique("ineq");
      await ch.assertQueue(q, { arguments: { "x-max-length": 5 } });
      const err = await failure(ch.assertQueue(q, { arguments: { "x-max-length": 6 } }));
      expect(err.code).toBe(406);
      expect(err.message).toContain("PRECONDITION_FAILED - inequivalent arg 'x-max-length'");
      const ch2 = await conn.createChannel();
      const closed = new Promise<{ code: number; message: string }>((resolve) => ch2.on("error", resolve));
      ch2.ack({ fields: { deliveryTag: 99 } } as never);
      const e2 = await closed;
      expect(e2.code).toBe(406);
      expect(e2.message).toContain("PRECONDITION_FAILED - unknown delivery tag 99");
    });

    it("403 on a reserved exchange name", async () => {
      const ch = await (await clients.connect(1)).createChannel();
      ch.on("error", () => {});
      const err = await failure(ch.assertExchange("amq.custom", "direct"));
      expect(err.code).toBe(403);
      expect(err.message).toContain("ACCESS_REFUSED");
    });

    it("406 for a message over max_message_size, and the connection carries on", async () => {
      const conn = await clients.connect(0);
      const ch = await conn.createChannel();
      const q = unique("big");
      await ch.assertQueue(q);
      const closed = new Promise<{ code: number; message: string }>((resolve) => ch.on("error", resolve));
      ch.sendToQueue(q, Buffer.alloc(64 * 1024 + 1));
      const err = await closed;
      expect(err.code).toBe(406);
      expect(err.message).toContain(
        `PRECONDITION_FAILED - message size ${64 * 1024 + 1} is larger than configured max size ${64 * 1024}`,
      );
      const cc = await conn.createConfirmChannel();
      cc.sendToQueue(q, Buffer.alloc(64 * 1024));
      await cc.waitForConfirms();
      expect((await cc.checkQueue(q)).messageCount).toBe(1);
    });
  });

  describe("connection errors close the connection", () => {
    it("403 ACCESS_REFUSED for a bad password (authentication_failure_close)", async () => {
      const err = await failure(amqp.connect(`amqp://guest:wrong@127.0.0.1:${c.port(0)}/`));
      expect(err.message).toContain(
        "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.",
      );
    });

    it("accepts AMQPLAIN logins", async () => {
      const r = await RawClient.open(c.port(2), { mechanism: "AMQPLAIN" });
      raws.push(r);
      await r.openChannel(1);
    });

    it("530 NOT_ALLOWED for an unknown virtual host", async () => {
      // amqplib reports only "Expected ConnectionOpenOk", as it does against RabbitMQ.
      await failure(amqp.connect(`amqp://guest:guest@127.0.0.1:${c.port(1)}/nope`));
      const r = await RawClient.open(c.port(1), { vhost: "nope", noWaitOpen: true });
      raws.push(r);
      expect(await r.closedWith()).toEqual({
        replyCode: 530,
        replyText: "NOT_ALLOWED - vhost nope not found",
      });
    });

    it("answers a wrong protocol header with the right one and closes", async () => {
      const r = await RawClient.connect(c.port(0));
      raws.push(r);
      r.write(Buffer.from("AMQP\u0001\u0001\u0008\u0000"));
      await eventually("socket closed", () => r.ended);
      expect(r.raw.subarray(0, 8).equals(PROTOCOL_HEADER)).toBe(true);
    });

    it("504 CHANNEL_ERROR for a method on a channel that is not open", async () => {
      const r = await raw(1);
      r.send(5, {
        name: "queue.declare",
        queue: "x",
        passive: false,
        durable: false,
        exclusive: false,
        autoDelete: false,
        noWait: false,
        arguments: {},
      });
      expect(await r.closedWith()).toEqual({
        replyCode: 504,
        replyText: "CHANNEL_ERROR - expected 'channel.open'",
      });
    });

    it("504 CHANNEL_ERROR for a second channel.open", async () => {
      const r = await raw(0);
      await r.openChannel(3);
      r.send(3, { name: "channel.open" });
      expect(await r.closedWith()).toEqual({
        replyCode: 504,
        replyText: "CHANNEL_ERROR - second 'channel.open' seen",
      });
    });

    it("505 UNEXPECTED_FRAME for content without a method", async () => {
      const r = await raw(2);
      await r.openChannel(1);
      r.content(1, Buffer.from("orphan"));
      expect((await r.closedWith())?.replyCode).toBe(505);
    });

    it("540 NOT_IMPLEMENTED for tx.select and for basic.qos with a prefetch size", async () => {
      const r = await raw(0);
      await r.openChannel(1);
      r.send(1, { name: "tx.select" });
      expect((await r.closedWith())?.replyCode).toBe(540);
      const r2 = await raw(0);
      await r2.openChannel(1);
      r2.send(1, { name: "basic.qos", prefetchSize: 10, prefetchCount: 1, global: false });
      expect(await r2.closedWith()).toEqual({
        replyCode: 540,
        replyText: "NOT_IMPLEMENTED - prefetch_size!=0 (10)",
      });
    });

    it("530 NOT_ALLOWED when tune-ok asks for more than the server offered", async () => {
      const r = await RawClient.connect(c.port(1));
      raws.push(r);
      r.write(PROTOCOL_HEADER);
      await r.method(0, "connection.start");
      r.send(0, {
        name: "connection.start-ok",
        clientProperties: {},
        mechanism: "PLAIN",
        response: Buffer.from("\u0000guest\u0000guest"),
        locale: "en_US",
      });
      const tune = await r.method(0, "connection.tune");
      r.send(0, {
        name: "connection.tune-ok",
        channelMax: tune.channelMax,
        frameMax: tune.frameMax + 1,
        heartbeat: 0,
      });
      expect(await r.closedWith()).toEqual({
        replyCode: 530,
        replyText: `NOT_ALLOWED - negotiated frame_max = ${tune.frameMax + 1} is higher than the maximum allowed value (${tune.frameMax})`,
      });
    });

    it("501 FRAME_ERROR for a frame over frame_max", async () => {
      const r = await raw(2);
      const head = Buffer.alloc(7);
      head[0] = 3;
      head.writeUInt16BE(1, 1);
      head.writeUInt32BE(10_000_000, 3);
      r.write(head);
      const close = await r.closedWith();
      if (close !== undefined) expect(close.replyCode).toBe(501);
      await eventually("socket closed", () => r.ended);
    });
  });

  it("honours no-wait: no reply to a no-wait declare, bind and consume, yet they took effect", async () => {
    const r = await raw(1);
    await r.openChannel(1);
    const q = unique("nowait");
    r.send(1, {
      name: "queue.declare",
      queue: q,
      passive: false,
      durable: true,
      exclusive: false,
      autoDelete: false,
      noWait: true,
      arguments: {},
    });
    r.send(1, {
      name: "queue.bind",
      queue: q,
      exchange: "amq.fanout",
      routingKey: "",
      noWait: true,
      arguments: {},
    });
    r.send(1, {
      name: "basic.consume",
      queue: q,
      consumerTag: "nw",
      noLocal: false,
      noAck: true,
      exclusive: false,
      noWait: true,
      arguments: {},
    });
    r.send(1, {
      name: "basic.publish",
      exchange: "amq.fanout",
      routingKey: "",
      mandatory: false,
      immediate: false,
    });
    r.content(1, Buffer.from("via fanout"));
    const d = await r.method(1, "basic.deliver");
    expect(d.consumerTag).toBe("nw");
    expect(d.exchange).toBe("amq.fanout");
    const names = r.frames
      .filter((f) => f.type === "method")
      .map((f) => (f as { method: { name: string } }).method.name);
    expect(names).not.toContain("queue.declare-ok");
    expect(names).not.toContain("queue.bind-ok");
    expect(names).not.toContain("basic.consume-ok");
  });

  it("320 CONNECTION_FORCED to connected clients when a node's listener shuts down", async () => {
    const server = await startAmqpServer({
      broker: c.cluster.nodes[1]!.broker,
      config: {
        host: "127.0.0.1",
        port: 0,
        heartbeat: 0,
        frameMax: 131_072,
        channelMax: 16,
        maxMessageSize: 1 << 20,
      },
    });
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${server.port}/`);
    const closed = new Promise<{ code?: number; message: string }>((resolve) => {
      conn.on("error", resolve);
      conn.on("close", (e?: { code?: number; message: string }) =>
        resolve(e ?? { message: "closed without error" }),
      );
    });
    await server.close();
    const err = await closed;
    expect(err.code).toBe(320);
    expect(err.message).toContain(
      "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'",
    );
    expect(server.connections()).toBe(0);
  });

  it("320 CONNECTION_FORCED for the connections of a deleted vhost", async () => {
    const b = c.cluster.nodes[0]!.broker;
    const vhost = unique("vh");
    await b.createVhost("guest", vhost, {});
    await b.setPermission("guest", vhost, "guest", { configure: ".*", write: ".*", read: ".*" });
    await eventually("vhost on node 2", () =>
      c.cluster.nodes[2]!.broker.listVhosts().some((v) => v.name === vhost),
    );
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${c.port(2)}/${encodeURIComponent(vhost)}`);
    const closed = new Promise<{ code?: number; message: string }>((resolve) => {
      conn.on("error", resolve);
      conn.on("close", (e?: { code?: number; message: string }) =>
        resolve(e ?? { message: "closed without error" }),
      );
    });
    await b.deleteVhost("guest", vhost);
    const err = await closed;
    expect(err.code).toBe(320);
    expect(err.message).toContain("CONNECTION_FORCED");
  });

  it("sends heartbeats and drops a client silent for two intervals", async () => {
    const r = await RawClient.open(c.port(0), { heartbeat: 1 });
    raws.push(r);
    await eventually(
      "a heartbeat from the server",
      () => r.frames.some((f) => f.type === "heartbeat"),
      5_000,
    );
    await eventually("the silent client dropped", () => r.ended, 6_000);
  });

  it("keeps a client that sends heartbeats", async () => {
    const r = await RawClient.open(c.port(1), { heartbeat: 1 });
    raws.push(r);
    const beat = setInterval(() => r.write(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce])), 300);
    try {
      const start = Date.now();
      await eventually("3.5 s alive", () => Date.now() - start > 3_500 || r.ended, 6_000);
      expect(r.ended).toBe(false);
    } finally {
      clearInterval(beat);
    }
  });
});
