import { describe, expect, it } from "vitest";
import { deadLetterMessage, isDeadLetterCycle } from "../dead-letter.js";
import { QueueMachine } from "../machine.js";
import { CONN, deadLetters, deliveries, Harness, ref } from "./harness.js";

const DLX = { "x-dead-letter-exchange": "dlx" };

describe("quorum queue: dead-lettering, TTL, limits, x-expires", () => {
  it("nack without requeue dead-letters with reason rejected and keeps the message until dead-letter-settled", () => {
    const h = new Harness(DLX);
    const [id] = h.publishMany(1);
    h.consume("a");
    const r = h.reject([id!]);
    expect(deadLetters(r)).toEqual([
      { type: "dead-letter", id, reason: "rejected", queue: "q", exchange: "dlx", time: h.time },
    ]);
    expect(h.machine.counts()).toMatchObject({ messages: 0, messagesDeadLettering: 1 });
    expect(h.machine.snapshot().live).toEqual([id]);
    expect(h.machine.leaderEffects()).toEqual(deadLetters(r));
    h.apply({ type: "dead-letter-settled", ids: [id!] });
    expect(h.machine.snapshot().live).toEqual([]);
    expect(h.machine.counts().messagesDeadLettering).toBe(0);
  });

  it("a new leader (after restore) re-issues pending dead-letters, the timer and an x-expires deletion", () => {
    const h = new Harness({ ...DLX, "x-message-ttl": 500, "x-expires": 100 });
    const [a, b] = h.publishMany(2);
    h.tick(101);
    h.apply({ type: "get", connection: CONN, channel: 1, noAck: false });
    h.reject([a!]);
    const restored = new QueueMachine(h.machine.queueConfig);
    restored.restore(h.machine.snapshot(), { index: h.index, term: 1 });
    expect(restored.leaderEffects()).toEqual([
      { type: "dead-letter", id: a, reason: "rejected", queue: "q", exchange: "dlx", time: h.time },
      { type: "timer", at: h.time - 101 + 501 },
      { type: "delete-queue", reason: "expires" },
    ]);
    expect(restored.has(b!)).toBe(true);
  });

  it("without x-dead-letter-exchange, rejected messages are dropped", () => {
    const h = new Harness();
    const [id] = h.publishMany(1);
    h.consume("a");
    expect(deadLetters(h.reject([id!]))).toEqual([]);
    expect(h.machine.has(id!)).toBe(false);
  });

  it("x-dead-letter-routing-key is passed to the node", () => {
    const h = new Harness({ ...DLX, "x-dead-letter-routing-key": "dead" });
    const [id] = h.publishMany(1);
    h.consume("a");
    expect(deadLetters(h.reject([id!]))[0]).toMatchObject({ routingKey: "dead" });
  });

  it("x-delivery-limit: a message returned more times than the limit is dead-lettered with reason delivery_limit", () => {
    const h = new Harness({ ...DLX, "x-delivery-limit": 2 });
    const [id] = h.publishMany(1);
    h.consume("a", { prefetch: 1 });
    const counts: number[] = [];
    let dead = h.effects.filter((e) => e.type === "dead-letter");
    for (let i = 0; i < 3; i++) {
      const r = h.requeue([id!]);
      counts.push(...deliveries(r).map((d) => d.deliveryCount));
      dead = deadLetters(r);
    }
    expect(counts).toEqual([1, 2]);
    expect(dead).toMatchObject([{ id, reason: "delivery_limit" }]);
  });

  it("x-message-ttl: an expired message is dead-lettered with reason expired and never delivered", () => {
    const h = new Harness({ ...DLX, "x-message-ttl": 1000 });
    const [id] = h.publishMany(1);
    expect(h.effects).toContainEqual({ type: "timer", at: h.time + 1001 });
    h.time += 1001;
    const r = h.consume("a");
    expect(deliveries(r)).toEqual([]);
    expect(deadLetters(r)).toMatchObject([{ id, reason: "expired" }]);
  });

  it("per-message expiration (a string of ms) expires at the head on tick; the lower of the two TTLs wins", () => {
    const h = new Harness({ ...DLX, "x-message-ttl": 60_000 });
    const [a] = h.publishMany(1, { expiration: "100" });
    const [b] = h.publishMany(1, { expiration: "5000" });
    expect(deadLetters(h.tick(50))).toEqual([]);
    expect(deadLetters(h.tick(60)).map((d) => d.id)).toEqual([a]);
    expect(h.machine.counts().messagesReady).toBe(1);
    expect(deadLetters(h.tick(5000)).map((d) => d.id)).toEqual([b]);
  });

  it("x-message-ttl 0 delivers to a waiting consumer and expires otherwise", () => {
    const h = new Harness({ "x-message-ttl": 0 });
    h.consume("a", { prefetch: 1 });
    expect(deliveries(h.publish())).toHaveLength(1);
    h.publish();
    h.tick(1);
    expect(h.machine.counts()).toMatchObject({ messagesReady: 0, messagesUnacknowledged: 1 });
  });

  it("x-max-length with drop-head dead-letters the oldest messages with reason maxlen", () => {
    const h = new Harness({ ...DLX, "x-max-length": 2 });
    const ids = h.publishMany(4);
    expect(
      h.effects
        .filter((e) => e.type === "dead-letter")
        .map((e) => (e.type === "dead-letter" ? [e.id, e.reason] : [])),
    ).toEqual([
      [ids[0], "maxlen"],
      [ids[1], "maxlen"],
    ]);
    expect(h.machine.counts().messagesReady).toBe(2);
  });

  it("drop-head serves waiting consumers before applying the limit (as rabbit_fifo)", () => {
    const h = new Harness({ ...DLX, "x-max-length": 0 });
    h.consume("a", { prefetch: 1 });
    const [first] = h.publishMany(1);
    const r = h.publish();
    expect(
      h.effects.filter((e) => e.type === "deliver").map((e) => (e.type === "deliver" ? e.id : 0)),
    ).toEqual([first]);
    expect(deadLetters(r)).toMatchObject([{ reason: "maxlen" }]);
  });

  it("a requeue that takes the queue over x-max-length drops the head", () => {
    const h = new Harness({ ...DLX, "x-max-length": 1 });
    const [a] = h.publishMany(1);
    h.apply({ type: "get", connection: CONN, channel: 1, noAck: false });
    const [b] = h.publishMany(1);
    const r = h.requeue([a!]);
    expect(deadLetters(r)).toMatchObject([{ id: a, reason: "maxlen" }]);
    expect(h.machine.counts().messagesReady).toBe(1);
    expect(h.machine.has(b!)).toBe(true);
  });

  it("x-max-length-bytes with drop-head counts body bytes of ready messages", () => {
    const h = new Harness({ "x-max-length-bytes": 10 });
    h.publish("12345");
    h.publish("12345");
    h.publish("1");
    expect(h.machine.counts()).toMatchObject({ messagesReady: 2, messageBytesReady: 6 });
  });

  it("x-overflow reject-publish nacks the publisher and stores nothing", () => {
    const h = new Harness({ "x-max-length": 1, "x-overflow": "reject-publish" });
    expect(h.publish().reply.type).toBe("enqueued");
    const r = h.publish();
    expect(r.reply).toEqual({ type: "rejected", publisher: { id: "p", seq: 2 } });
    expect(h.machine.counts().messagesReady).toBe(1);
    expect(h.machine.snapshot().live).toEqual([1]);
    // Unacked messages do not count against the limit.
    h.consume("a", { prefetch: 1 });
    expect(h.publish().reply.type).toBe("enqueued");
  });

  it("x-expires deletes the queue after it was unused for that long", () => {
    const h = new Harness({ "x-expires": 1000 });
    h.publish();
    expect(h.effects).toContainEqual({ type: "timer", at: h.time + 1000 });
    h.consume("a");
    expect(h.tick(5000).effects).toEqual([]);
    h.apply({ type: "cancel", consumer: ref("a") });
    expect(h.tick(999).effects).toEqual([]);
    expect(h.tick(1).effects).toEqual([{ type: "delete-queue", reason: "expires" }]);
  });

  it("basic.get and redeclare reset x-expires", () => {
    const h = new Harness({ "x-expires": 1000 });
    h.tick(900);
    h.apply({ type: "get", connection: CONN, channel: 1, noAck: true });
    h.tick(900);
    h.apply({ type: "touch" });
    expect(h.tick(900).effects).not.toContainEqual({ type: "delete-queue", reason: "expires" });
  });
});

describe("dead-lettered message headers (x-death)", () => {
  const time = Date.UTC(2024, 0, 1, 12, 0, 0, 750);

  it("adds x-death, x-first-death-* and x-last-death-*, removes expiration", () => {
    const out = deadLetterMessage({
      exchange: "orders",
      routingKeys: ["new", "cc-key"],
      properties: { expiration: "5000", contentType: "text/plain", headers: { app: 1 } },
      effect: { reason: "expired", queue: "q1", exchange: "dlx", time },
    });
    expect(out.exchange).toBe("dlx");
    expect(out.routingKeys).toEqual(["new", "cc-key"]);
    expect(out.properties.expiration).toBeUndefined();
    expect(out.properties.contentType).toBe("text/plain");
    expect(out.properties.headers).toEqual({
      app: 1,
      "x-death": [
        {
          "original-expiration": "5000",
          count: 1,
          reason: "expired",
          queue: "q1",
          time: new Date(Date.UTC(2024, 0, 1, 12, 0, 0)),
          exchange: "orders",
          "routing-keys": ["new", "cc-key"],
        },
      ],
      "x-first-death-reason": "expired",
      "x-first-death-queue": "q1",
      "x-first-death-exchange": "orders",
      "x-last-death-reason": "expired",
      "x-last-death-queue": "q1",
      "x-last-death-exchange": "orders",
    });
  });

  it("increments count of the same {queue, reason} and moves it first; first-death headers never change", () => {
    const first = deadLetterMessage({
      exchange: "orders",
      routingKeys: ["k"],
      properties: {},
      effect: { reason: "rejected", queue: "work", exchange: "retry", time },
    });
    const second = deadLetterMessage({
      exchange: "retry",
      routingKeys: ["k"],
      properties: first.properties,
      effect: { reason: "expired", queue: "wait", exchange: "work-x", time: time + 5000 },
    });
    const third = deadLetterMessage({
      exchange: "work-x",
      routingKeys: ["k"],
      properties: second.properties,
      effect: { reason: "rejected", queue: "work", exchange: "retry", time: time + 9000 },
    });
    const h = third.properties.headers!;
    const deaths = h["x-death"] as Record<string, unknown>[];
    expect(deaths.map((d) => [d.queue, d.reason, d.count])).toEqual([
      ["work", "rejected", 2],
      ["wait", "expired", 1],
    ]);
    expect(deaths[0]!.exchange).toBe("orders");
    expect(h["x-first-death-queue"]).toBe("work");
    expect(h["x-first-death-exchange"]).toBe("orders");
    expect(h["x-last-death-reason"]).toBe("rejected");
    expect(h["x-last-death-exchange"]).toBe("work-x");
  });

  it("x-dead-letter-routing-key replaces the routing keys and drops CC; BCC always goes", () => {
    const out = deadLetterMessage({
      exchange: "e",
      routingKeys: ["a", "b"],
      properties: { headers: { CC: ["b"], BCC: ["z"] } },
      effect: { reason: "maxlen", queue: "q", exchange: "dlx", routingKey: "dead", time },
    });
    expect(out.routingKeys).toEqual(["dead"]);
    expect(out.properties.headers).not.toHaveProperty("CC");
    expect(out.properties.headers).not.toHaveProperty("BCC");
  });

  it("detects a dead-letter cycle without rejections (the message would loop forever)", () => {
    const expired = deadLetterMessage({
      exchange: "",
      routingKeys: ["q"],
      properties: {},
      effect: { reason: "expired", queue: "q", exchange: "", time },
    });
    expect(isDeadLetterCycle(expired.properties.headers, "q")).toBe(true);
    expect(isDeadLetterCycle(expired.properties.headers, "other")).toBe(false);
    const rejected = deadLetterMessage({
      exchange: "",
      routingKeys: ["q"],
      properties: {},
      effect: { reason: "rejected", queue: "q", exchange: "", time },
    });
    expect(isDeadLetterCycle(rejected.properties.headers, "q")).toBe(false);
  });
});
