/**
 * The second real client, rabbitmq-client, against the three-node cluster: its publisher with
 * confirms and declarations, its consumer with qos and ack/requeue/drop statuses, and its RPC
 * client, which relies on direct reply-to (`amq.rabbitmq.reply-to`).
 */
import { Connection, ConsumerStatus } from "rabbitmq-client";
import { afterAll, describe, expect, it } from "vitest";
import { eventually, unique } from "./harness.js";
import { useAmqpCluster } from "./suite.js";

describe("rabbitmq-client against Warren", () => {
  const { c } = useAmqpCluster(3);
  const conns: Connection[] = [];
  afterAll(async () => {
    await Promise.all(conns.map((r) => r.close()));
  });

  function connect(node: number): Connection {
    const r = new Connection({ url: c.url(node), retryLow: 50, retryHigh: 200 });
    r.on("error", () => {});
    conns.push(r);
    return r;
  }

  it("publishes with confirms on one node and consumes with qos on another", async () => {
    const q = unique("rc");
    const ex = unique("rc-ex");
    const pubConn = connect(0);
    const subConn = connect(1);
    const got: string[] = [];
    const sub = subConn.createConsumer(
      {
        queue: q,
        queueOptions: { durable: true },
        qos: { prefetchCount: 5 },
        exchanges: [{ exchange: ex, type: "topic" }],
        queueBindings: [{ exchange: ex, routingKey: "orders.*" }],
      },
      async (msg) => {
        got.push(String(msg.body));
        return ConsumerStatus.ACK;
      },
    );
    await eventually("consumer ready", async () => {
      for (const n of c.cluster.nodes) {
        if (n.broker.listBindings({ vhost: "/", destination: q }).length < 2) return false;
        const info = await n.broker.getQueue("/", q);
        if (info === undefined || info.leader === undefined) return false;
      }
      return true;
    });
    const pub = pubConn.createPublisher({ confirm: true, exchanges: [{ exchange: ex, type: "topic" }] });
    for (let i = 0; i < 20; i++) await pub.send({ exchange: ex, routingKey: "orders.new" }, `o${i}`);
    await pub.send({ exchange: ex, routingKey: "invoices.new" }, "ignored");
    await eventually("20 orders consumed", () => got.length >= 20);
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `o${i}`));
    await pub.close();
    await sub.close();
  });

  it("requeues and drops by consumer status", async () => {
    const q = unique("rc-status");
    const dlq = unique("rc-dlq");
    const r = connect(2);
    await r.queueDeclare({ queue: dlq, durable: true });
    const args = { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq };
    await r.queueDeclare({ queue: q, durable: true, arguments: args });
    let attempts = 0;
    const sub = r.createConsumer(
      { queue: q, queueOptions: { durable: true, arguments: args } },
      async (msg) => {
        attempts++;
        return msg.redelivered ? ConsumerStatus.DROP : ConsumerStatus.REQUEUE;
      },
    );
    const pub = r.createPublisher({ confirm: true });
    await pub.send(q, "bounce");
    await eventually(
      "dead-lettered",
      async () => (await r.queueDeclare({ queue: dlq, passive: true })).messageCount === 1,
    );
    expect(attempts).toBe(2);
    await pub.close();
    await sub.close();
  });

  it("answers RPC calls through direct reply-to, the server on another node", async () => {
    const q = unique("rpc");
    const serverConn = connect(0);
    const server = serverConn.createConsumer(
      { queue: q, queueOptions: { durable: true } },
      async (msg, reply) => {
        await reply(`pong:${String(msg.body)}`);
      },
    );
    await eventually("rpc queue on every node", async () => {
      for (const n of c.cluster.nodes) if ((await n.broker.getQueue("/", q))?.consumers !== 1) return false;
      return true;
    });
    const rpc = connect(1).createRPCClient({ confirm: true, timeout: 5_000 });
    const res = await rpc.send(q, "ping");
    expect(String(res.body)).toBe("pong:ping");
    const res2 = await rpc.send(q, "again");
    expect(String(res2.body)).toBe("pong:again");
    await rpc.close();
    await server.close();
  });
});
