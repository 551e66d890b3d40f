import { describe, expect, it } from "vitest";
import { CONN, deliveries, Harness, ref } from "./harness.js";

describe("quorum queue: delivery", () => {
  it("delivers messages in publish order (FIFO)", () => {
    const h = new Harness();
    const ids = h.publishMany(5);
    const r = h.consume("a");
    expect(deliveries(r).map((d) => d.id)).toEqual(ids);
    expect(deliveries(r).every((d) => !d.redelivered && d.deliveryCount === 0)).toBe(true);
  });

  it("a publisher confirm carries the publisher id and sequence number", () => {
    const h = new Harness();
    const r = h.publish("x");
    expect(r.reply).toEqual({ type: "enqueued", id: 1, publisher: { id: "p", seq: 1 } });
  });

  it("respects the consumer's prefetch: no more than prefetch unacked messages", () => {
    const h = new Harness();
    const ids = h.publishMany(5);
    expect(deliveries(h.consume("a", { prefetch: 2 })).map((d) => d.id)).toEqual(ids.slice(0, 2));
    expect(deliveries(h.ack([ids[0]!])).map((d) => d.id)).toEqual([ids[2]]);
    expect(h.machine.counts()).toMatchObject({ messagesReady: 2, messagesUnacknowledged: 2 });
  });

  it("round-robins between consumers with credit", () => {
    const h = new Harness();
    h.consume("a", { prefetch: 10 });
    h.consume("b", { prefetch: 10 });
    const tags = [1, 2, 3, 4].map(() => deliveries(h.publish())[0]!.consumer.tag);
    expect(tags).toEqual(["a", "b", "a", "b"]);
  });

  it("serves higher x-priority consumers first while they have credit", () => {
    const h = new Harness();
    h.consume("low", { prefetch: 10 });
    h.consume("high", { prefetch: 1, priority: 5 });
    const tags = [1, 2, 3].map(() => deliveries(h.publish())[0]!.consumer.tag);
    expect(tags).toEqual(["high", "low", "low"]);
  });

  it("nack with requeue redelivers before newer messages with redelivered=true and x-delivery-count 1", () => {
    const h = new Harness();
    const ids = h.publishMany(3);
    h.consume("a", { prefetch: 1 });
    const r = h.requeue([ids[0]!]);
    expect(deliveries(r)).toEqual([
      {
        type: "deliver",
        consumer: ref("a"),
        id: ids[0],
        redelivered: true,
        deliveryCount: 1,
        settled: false,
      },
    ]);
  });

  it("requeued messages keep their original order", () => {
    const h = new Harness();
    const ids = h.publishMany(4);
    h.consume("a", { prefetch: 3 });
    h.apply({ type: "cancel", consumer: ref("a") });
    h.requeue([ids[2]!, ids[0]!]);
    const r = h.consume("b", { channel: 2 });
    expect(deliveries(r).map((d) => d.id)).toEqual([ids[0], ids[2], ids[3]]);
  });

  it("when a channel closes, its unacked messages return in order, redelivered", () => {
    const h = new Harness();
    const ids = h.publishMany(3);
    h.consume("a", { prefetch: 2 });
    h.consume("b", { prefetch: 0, channel: 2 });
    const r = h.apply({ type: "down", connection: CONN, channel: 1 });
    const ds = deliveries(r);
    expect(ds.map((d) => [d.id, d.redelivered, d.consumer.tag])).toEqual([
      [ids[0], true, "b"],
      [ids[1], true, "b"],
    ]);
    expect(h.machine.counts().consumers).toBe(1);
  });

  it("a cancelled consumer gets nothing more but can still ack what it holds", () => {
    const h = new Harness();
    const ids = h.publishMany(2);
    h.consume("a", { prefetch: 1 });
    h.apply({ type: "cancel", consumer: ref("a") });
    expect(h.machine.counts().consumers).toBe(0);
    const r = h.ack([ids[0]!]);
    expect(r.reply).toEqual({ type: "settled", settled: 1, unknown: [] });
    expect(deliveries(r)).toEqual([]);
    expect(h.machine.counts()).toMatchObject({ messagesReady: 1, messagesUnacknowledged: 0 });
  });

  it("ignores settlements from another channel (a stale delivery tag)", () => {
    const h = new Harness();
    const [id] = h.publishMany(1);
    h.consume("a");
    const r = h.ack([id!], 9);
    expect(r.reply).toEqual({ type: "settled", settled: 0, unknown: [id] });
    expect(h.machine.counts().messagesUnacknowledged).toBe(1);
  });

  it("no-ack consumers get messages settled at once", () => {
    const h = new Harness();
    const ids = h.publishMany(2);
    const r = h.consume("a", { noAck: true });
    expect(deliveries(r).map((d) => [d.id, d.settled])).toEqual([
      [ids[0], true],
      [ids[1], true],
    ]);
    expect(h.machine.has(ids[0]!)).toBe(false);
    expect(h.machine.counts().messages).toBe(0);
  });

  it("no-ack consumers get at most their credit window until the node grants more", () => {
    const h = new Harness();
    const ids = h.publishMany(5);
    expect(deliveries(h.consume("a", { noAck: true, prefetch: 2 })).map((d) => d.id)).toEqual(
      ids.slice(0, 2),
    );
    const r = h.apply({ type: "credit", consumer: ref("a"), credit: 1 });
    expect(deliveries(r).map((d) => d.id)).toEqual([ids[2]]);
    // Credit never exceeds the window.
    expect(deliveries(h.apply({ type: "credit", consumer: ref("a"), credit: 50 })).map((d) => d.id)).toEqual(
      ids.slice(3),
    );
  });

  it("when a node goes away, the consumers of all its connections go and their messages return", () => {
    const h = new Harness();
    const ids = h.publishMany(2);
    h.apply({ type: "checkout", consumer: ref("a", 1, "n1/x"), prefetch: 1, noAck: false, exclusive: false });
    h.apply({ type: "checkout", consumer: ref("b", 1, "n2/y"), prefetch: 1, noAck: false, exclusive: false });
    h.apply({ type: "node-down", node: "n3" });
    expect(h.machine.counts().consumers).toBe(2);
    h.apply({ type: "node-down", node: "n1" });
    expect(h.machine.counts()).toMatchObject({ consumers: 1, messagesReady: 1, messagesUnacknowledged: 1 });
    expect(h.machine.has(ids[0]!)).toBe(true);
  });

  it("single active consumer: only the first consumer receives, the next takes over when it goes", () => {
    const h = new Harness({ "x-single-active-consumer": true });
    h.consume("a", { prefetch: 10 });
    h.consume("b", { prefetch: 10, channel: 2 });
    const ids = h.publishMany(2);
    expect(
      h.effects.filter((e) => e.type === "deliver").map((e) => (e.type === "deliver" ? e.consumer.tag : "")),
    ).toEqual(["a", "a"]);
    const r = h.apply({ type: "down", connection: CONN, channel: 1 });
    expect(deliveries(r).map((d) => [d.consumer.tag, d.id, d.redelivered])).toEqual([
      ["b", ids[0], true],
      ["b", ids[1], true],
    ]);
    expect(h.machine.counts().consumers).toBe(1);
  });

  it("an exclusive consumer locks the queue (403 ACCESS_REFUSED), and cannot join a used queue", () => {
    const h = new Harness();
    expect(h.consume("a", { exclusive: true }).reply).toEqual({ type: "ok" });
    expect(h.consume("b", { channel: 2 }).reply).toMatchObject({ type: "error", code: "ACCESS_REFUSED" });
    const h2 = new Harness();
    h2.consume("a");
    expect(h2.consume("b", { exclusive: true, channel: 2 }).reply).toMatchObject({
      type: "error",
      code: "ACCESS_REFUSED",
    });
  });

  it("refuses a consumer tag reused on the same channel", () => {
    const h = new Harness();
    h.consume("a");
    expect(h.consume("a").reply).toMatchObject({ type: "error", code: "NOT_ALLOWED" });
  });

  it("basic.get returns the head with the remaining message count, or empty", () => {
    const h = new Harness();
    const ids = h.publishMany(2);
    const r = h.apply({ type: "get", connection: CONN, channel: 1, noAck: false });
    expect(r.reply).toEqual({
      type: "get",
      message: { id: ids[0], redelivered: false, deliveryCount: 0, messageCount: 1 },
    });
    h.apply({ type: "get", connection: CONN, channel: 1, noAck: true });
    expect(h.apply({ type: "get", connection: CONN, channel: 1, noAck: true }).reply).toEqual({
      type: "get",
    });
    expect(h.machine.counts()).toMatchObject({ messagesReady: 0, messagesUnacknowledged: 1 });
    // An unacked basic.get message returns when its channel closes.
    h.apply({ type: "down", connection: CONN });
    expect(h.machine.counts()).toMatchObject({ messagesReady: 1, messagesUnacknowledged: 0 });
  });

  it("purge removes ready messages only and reports how many", () => {
    const h = new Harness();
    const ids = h.publishMany(4);
    h.consume("a", { prefetch: 1 });
    expect(h.apply({ type: "purge" }).reply).toEqual({ type: "purged", count: 3 });
    expect(h.machine.counts()).toMatchObject({ messagesReady: 0, messagesUnacknowledged: 1, messages: 1 });
    expect(h.machine.has(ids[0]!)).toBe(true);
    expect(h.machine.has(ids[1]!)).toBe(false);
  });

  it("counts messages, bytes and consumers", () => {
    const h = new Harness();
    h.publish("abc");
    h.publish("de");
    h.consume("a", { prefetch: 1 });
    expect(h.machine.counts()).toEqual({
      messagesReady: 1,
      messagesUnacknowledged: 1,
      messagesDeadLettering: 0,
      messages: 2,
      messageBytesReady: 2,
      messageBytesUnacknowledged: 3,
      messageBytes: 5,
      consumers: 1,
    });
  });

  it("a new leader re-issues deliveries of unacked messages", () => {
    const h = new Harness();
    const ids = h.publishMany(2);
    h.consume("a", { prefetch: 1 });
    h.requeue([ids[0]!]);
    expect(h.machine.leaderEffects()).toEqual([
      {
        type: "deliver",
        consumer: ref("a"),
        id: ids[0],
        redelivered: true,
        deliveryCount: 1,
        settled: false,
      },
    ]);
  });
});
