/**
 * Three nodes on loopback: metadata through any node, publishes forwarded to the queue's leader,
 * consumers on a third node, RabbitMQ's routing, acknowledgement and dead-lettering rules.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WarrenError } from "../../errors.js";
import type { BrokerService } from "../broker-service.js";
import type { ClientContext } from "../types.js";
import {
  BrokerCluster,
  client,
  declareLed,
  durableExchange,
  eventually,
  quorumQueue,
  recorder,
  str,
  text,
} from "./harness.js";

describe("a three-node broker", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3);
  });
  afterAll(async () => {
    await c.close();
  });

  /** Declares a quorum queue and returns [leader, other, other] brokers and contexts. */
  async function queueOn(name: string, args: Record<string, unknown> = {}) {
    const n1 = c.node("n1");
    // The other nodes learn of the queue and its leader within a heartbeat (read-your-writes holds on n1).
    const leader = (await declareLed(c, n1.broker, name, args)).leader!;
    const others = c.nodes.filter((n) => n.id !== leader);
    const nodes = [c.node(leader), others[0]!, others[1]!];
    return nodes.map((n) => ({
      broker: n.broker as BrokerService,
      ctx: client(n) as ClientContext,
      id: n.id,
    }));
  }

  it("applies metadata through any node with read-your-writes on the proposing node", async () => {
    for (const n of c.nodes) {
      const ctx = client(n);
      await n.broker.declareExchange(ctx, durableExchange(`x-${n.id}`, "topic"));
      // Read-your-writes: the very next read on the same node sees it.
      expect(n.broker.getExchange("/", `x-${n.id}`)?.type).toBe("topic");
    }
    const n2 = c.node("n2");
    const err = await n2.broker
      .declareExchange(client(n2), durableExchange("x-n1", "direct"))
      .catch((e: unknown) => e);
    expect(WarrenError.is(err, "PRECONDITION_FAILED")).toBe(true);
    expect((err as Error).message).toMatch(/inequivalent arg 'type'/);

    await n2.broker.createVhost("guest", "v2", { description: "second" });
    await n2.broker.putUser("guest", "alice", { password: "s3cret", tags: ["management"] });
    await n2.broker.setPermission("guest", "v2", "alice", { configure: "^a\\.", write: ".*", read: ".*" });
    const n3 = c.node("n3");
    await eventually("the user on n3", () => n3.broker.getUser("alice") !== undefined);
    expect((await n3.broker.authenticate("alice", "s3cret", "10.1.2.3")).name).toBe("alice");
    const alice = { ...client(n3, "alice", "v2") };
    await eventually("permissions on n3", () => n3.broker.listPermissions({ user: "alice" }).length === 1);
    n3.broker.checkVhostAccess("alice", "v2");
    expect(() => n3.broker.checkVhostAccess("alice", "/")).toThrow(/refused for user 'alice'/);
    const denied = await n3.broker.declareQueue(alice, quorumQueue("b.q")).catch((e: unknown) => e);
    expect(WarrenError.is(denied, "ACCESS_REFUSED")).toBe(true);
    expect((denied as Error).message).toBe("access to queue 'b.q' in vhost 'v2' refused for user 'alice'");
    await n3.broker.declareQueue(alice, quorumQueue("a.q"));
    expect((await n3.broker.listQueues("v2")).map((q) => q.record.name)).toEqual(["a.q"]);
  });

  it("confirms a publish via one node to a queue led by another only after commit", async () => {
    const [leader, a] = await queueOn("confirmed");
    const out = await a!.broker.publish(a!.ctx, {
      exchange: "",
      routingKey: "confirmed",
      properties: { messageId: "m1" },
      body: text("payload"),
      mandatory: false,
    });
    expect(out).toEqual({ kind: "routed", queues: 1 });
    const info = await leader!.broker.getQueue("/", "confirmed");
    expect(info?.messagesReady).toBe(1);
  });

  it("routes through every exchange type, exchange-to-exchange and alternate exchanges", async () => {
    const n1 = c.node("n1");
    const n2 = c.node("n2");
    const ctx1 = client(n1);
    const b = n1.broker;
    for (const q of ["r-direct", "r-fanout", "r-topic", "r-headers", "r-hash", "r-ae"])
      await b.declareQueue(ctx1, quorumQueue(q));
    const decl = (name: string, type: string, args: Record<string, unknown> = {}) =>
      b.declareExchange(ctx1, durableExchange(name, type, args));
    await decl("e-fanout", "fanout");
    await decl("e-topic", "topic");
    await decl("e-headers", "headers");
    await decl("e-hash", "x-consistent-hash");
    await decl("e-ae", "fanout");
    await decl("e-direct", "direct", { "alternate-exchange": "e-ae" });
    const bind = (
      source: string,
      destination: string,
      routingKey: string,
      args: Record<string, unknown> = {},
      kind: "queue" | "exchange" = "queue",
    ) => b.bind(ctx1, { source, destinationKind: kind, destination, routingKey, arguments: args });
    await bind("e-direct", "r-direct", "k");
    await bind("e-fanout", "r-fanout", "ignored");
    await bind("e-topic", "r-topic", "a.*.c");
    await bind("e-headers", "r-headers", "", { "x-match": "all", kind: "x" });
    await bind("e-hash", "r-hash", "1");
    await bind("e-ae", "r-ae", "");
    await bind("e-topic", "e-fanout", "#", {}, "exchange");

    // Publish via another node: its routing mirror has every binding already (read-your-writes
    // holds on n1; n2 catches up within a heartbeat).
    const ctx2 = client(n2);
    const pub = (exchange: string, routingKey: string, headers: Record<string, unknown> = {}) =>
      n2.broker.publish(ctx2, {
        exchange,
        routingKey,
        properties: { headers },
        body: text(`${exchange}:${routingKey}`),
        mandatory: true,
      });
    await eventually(
      "bindings on n2",
      () => n2.broker.listBindings({ vhost: "/", source: "e-topic" }).length === 2,
    );
    expect(await pub("e-direct", "k")).toEqual({ kind: "routed", queues: 1 });
    expect(await pub("e-direct", "other")).toEqual({ kind: "routed", queues: 1 }); // via the alternate exchange
    expect(await pub("e-topic", "a.b.c")).toEqual({ kind: "routed", queues: 2 }); // topic + e2e fanout
    expect(await pub("e-headers", "", { kind: "x" })).toEqual({ kind: "routed", queues: 1 });
    expect(await pub("e-headers", "", { kind: "y" })).toEqual({ kind: "unroutable" });
    expect(await pub("e-hash", "anything")).toEqual({ kind: "routed", queues: 1 });
    const ready = async (q: string) => (await b.getQueue("/", q))?.messagesReady;
    expect(await ready("r-direct")).toBe(1);
    expect(await ready("r-ae")).toBe(1);
    expect(await ready("r-topic")).toBe(1);
    expect(await ready("r-fanout")).toBe(1);
    expect(await ready("r-headers")).toBe(1);
    expect(await ready("r-hash")).toBe(1);

    await b.declareExchange(ctx1, {
      name: "e-int",
      type: "fanout",
      passive: false,
      durable: true,
      autoDelete: false,
      internal: true,
      arguments: {},
    });
    // On the declaring node (read-your-writes): a direct publish to an internal exchange is refused.
    const internal = await b
      .publish(ctx1, { exchange: "e-int", routingKey: "", properties: {}, body: text("x"), mandatory: false })
      .catch((e: unknown) => e);
    expect(WarrenError.is(internal, "ACCESS_REFUSED")).toBe(true);
  });

  it("answers reject-publish overflow with `rejected`", async () => {
    const [, a] = await queueOn("bounded", { "x-max-length": 1, "x-overflow": "reject-publish" });
    const pub = () =>
      a!.broker.publish(a!.ctx, {
        exchange: "",
        routingKey: "bounded",
        properties: {},
        body: text("x"),
        mandatory: false,
      });
    expect(await pub()).toEqual({ kind: "routed", queues: 1 });
    expect(await pub()).toEqual({ kind: "rejected", queues: 0 });
  });

  it("delivers to a consumer on a third node in order, with prefetch, requeue and basic.get", async () => {
    const [, a, cons] = await queueOn("stream");
    for (let i = 0; i < 6; i++) {
      await a!.broker.publish(a!.ctx, {
        exchange: "",
        routingKey: "stream",
        properties: {},
        body: text(`m${i}`),
        mandatory: false,
      });
    }
    const sink = recorder();
    const tag = await cons!.broker.consume(
      cons!.ctx,
      {
        queue: "stream",
        channel: 1,
        consumerTag: "",
        prefetch: 3,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      sink,
    );
    expect(tag).toMatch(/^amq\.ctag-/);
    await eventually("three deliveries", () => sink.deliveries.length === 3);
    expect(sink.deliveries.map((d) => str(d.body))).toEqual(["m0", "m1", "m2"]);
    // Prefetch 3: nothing more until an ack.
    const info = await cons!.broker.getQueue("/", "stream");
    expect(info?.messagesUnacknowledged).toBe(3);
    await cons!.broker.settle(cons!.ctx, 1, "stream", "ack", [sink.deliveries[0]!.id]);
    await eventually("the fourth delivery", () => sink.deliveries.length === 4);
    expect(str(sink.deliveries[3]!.body)).toBe("m3");
    // Requeue m1: it comes back (before m4), redelivered, with x-delivery-count.
    await cons!.broker.settle(cons!.ctx, 1, "stream", "requeue", [sink.deliveries[1]!.id]);
    await eventually("the redelivery", () => sink.deliveries.length === 5);
    const again = sink.deliveries[4]!;
    expect(str(again.body)).toBe("m1");
    expect(again.redelivered).toBe(true);
    expect(again.properties.headers?.["x-delivery-count"]).toBe(1);

    // basic.get from another node while the consumer holds its window.
    await cons!.broker.cancel(cons!.ctx, 1, tag);
    const got = await a!.broker.get(a!.ctx, 7, "stream", true);
    expect(got && str(got.body)).toBe("m4");
    // Closing the channel returns its unacked messages, redelivered to the next consumer.
    await cons!.broker.channelClosed(cons!.ctx, 1);
    const next = recorder();
    await a!.broker.consume(
      a!.ctx,
      {
        queue: "stream",
        channel: 2,
        consumerTag: "c2",
        prefetch: 0,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      next,
    );
    await eventually("the returned messages", () => next.deliveries.length === 4);
    expect(next.deliveries.map((d) => [str(d.body), d.redelivered])).toEqual([
      ["m1", true],
      ["m2", true],
      ["m3", true],
      ["m5", false],
    ]);
  });

  it("dead-letters rejected messages through a DLX with x-death (at-least-once)", async () => {
    const n1 = c.node("n1");
    const ctx = client(n1);
    await n1.broker.declareExchange(ctx, durableExchange("dlx", "fanout"));
    await n1.broker.declareQueue(ctx, quorumQueue("dead"));
    await n1.broker.bind(ctx, {
      source: "dlx",
      destinationKind: "queue",
      destination: "dead",
      routingKey: "",
      arguments: {},
    });
    const [, a, cons] = await queueOn("live", { "x-dead-letter-exchange": "dlx" });
    await a!.broker.publish(a!.ctx, {
      exchange: "",
      routingKey: "live",
      properties: {},
      body: text("bad"),
      mandatory: false,
    });
    const got = await cons!.broker.get(cons!.ctx, 1, "live", false);
    expect(got && str(got.body)).toBe("bad");
    await cons!.broker.settle(cons!.ctx, 1, "live", "reject", [got!.id]);
    const dead = await eventually("the dead-lettered message", () => a!.broker.get(a!.ctx, 2, "dead", true));
    expect(str(dead.body)).toBe("bad");
    const death = (dead.properties.headers?.["x-death"] as Record<string, unknown>[] | undefined)?.[0];
    expect(death).toMatchObject({ reason: "rejected", queue: "live", exchange: "", count: 1 });
    expect(dead.properties.headers?.["x-first-death-reason"]).toBe("rejected");
    await eventually(
      "the source settled",
      async () => (await a!.broker.getQueue("/", "live"))?.messages === 0,
    );
  });
  it("deletes through any node with RabbitMQ's if-unused / if-empty rules", async () => {
    const [, a, b] = await queueOn("busy");
    await a!.broker.publish(a!.ctx, {
      exchange: "",
      routingKey: "busy",
      properties: {},
      body: text("x"),
      mandatory: false,
    });
    const notEmpty = await b!.broker
      .deleteQueue(b!.ctx, "busy", { ifUnused: false, ifEmpty: true })
      .catch((e: unknown) => e);
    expect((notEmpty as Error).message).toBe("queue 'busy' in vhost '/' not empty");
    await b!.broker.consume(
      b!.ctx,
      {
        queue: "busy",
        channel: 4,
        consumerTag: "u",
        prefetch: 0,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      recorder(),
    );
    const inUse = await a!.broker
      .deleteQueue(a!.ctx, "busy", { ifUnused: true, ifEmpty: false })
      .catch((e: unknown) => e);
    expect((inUse as Error).message).toBe("queue 'busy' in vhost '/' in use");
    await b!.broker.channelClosed(b!.ctx, 4);
    expect(await a!.broker.deleteQueue(a!.ctx, "busy", { ifUnused: false, ifEmpty: false })).toBe(1);
    expect(await a!.broker.getQueue("/", "busy")).toBeUndefined();

    const n3 = c.node("n3");
    const ctx3 = client(n3);
    await n3.broker.declareExchange(ctx3, durableExchange("gone", "fanout"));
    await n3.broker.deleteExchange(ctx3, "gone", { ifUnused: false });
    expect(n3.broker.getExchange("/", "gone")).toBeUndefined();
    const revoked: string[] = [];
    c.node("n1").broker.onConnectionsRevoked((which, reason) =>
      revoked.push(`${JSON.stringify(which)} ${reason}`),
    );
    await n3.broker.createVhost("guest", "tmp", {});
    await n3.broker.deleteVhost("guest", "tmp");
    expect(n3.broker.listVhosts().map((v) => v.name)).not.toContain("tmp");
    await eventually("n1 told to close connections to tmp", () =>
      revoked.includes(`{"vhost":"tmp"} vhost 'tmp' is deleted`),
    );
    await n3.broker.putUser("guest", "carol", { password: "x", tags: [] });
    await n3.broker.deleteUser("guest", "carol");
    expect(n3.broker.getUser("carol")).toBeUndefined();
    // Every node closes the deleted user's connections, as RabbitMQ does.
    await eventually("n1 told to close carol's connections", () =>
      revoked.includes(`{"user":"carol"} user 'carol' deleted`),
    );
  });
  it("serves a queue with fewer replicas than nodes from a node that holds none", async () => {
    const n1 = c.node("n1");
    const declared = await n1.broker.declareQueue(
      client(n1),
      quorumQueue("single", { "x-quorum-initial-group-size": 1 }),
    );
    expect(declared.queue.members).toHaveLength(1);
    const home = declared.queue.members[0]!;
    const outsider = c.nodes.find((n) => n.id !== home)!;
    await eventually(
      "the queue known to the outsider",
      async () => (await outsider.broker.getQueue("/", "single"))?.leader,
    );
    const ctx = client(outsider);
    expect(
      await outsider.broker.publish(ctx, {
        exchange: "",
        routingKey: "single",
        properties: {},
        body: text("s"),
        mandatory: false,
      }),
    ).toEqual({ kind: "routed", queues: 1 });
    const info = await outsider.broker.getQueue("/", "single");
    expect(info).toMatchObject({ leader: home, messages: 1, state: "running" });
    const got = await outsider.broker.get(ctx, 1, "single", true);
    expect(got && str(got.body)).toBe("s");
  });
});
