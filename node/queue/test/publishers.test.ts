/**
 * Per-publisher enqueue order (rabbit_fifo's enqueuers): a channel's publishes to one queue are
 * stored in publish order exactly once, whatever order and how often the enqueues arrive.
 */
import { describe, expect, it } from "vitest";
import { QueueMachine } from "../machine.js";
import { MAX_PUBLISHERS } from "../publishers.js";
import type { PublisherRef, QueueReply } from "../types.js";
import { Harness } from "./harness.js";

const P = "n1/b.1|1";

function enqueue(h: Harness, publisher: PublisherRef, body = `m${publisher.seq}`): QueueReply {
  return h.apply({
    type: "enqueue",
    exchange: "",
    routingKeys: ["q"],
    properties: {},
    body: new TextEncoder().encode(body),
    publisher,
  }).reply;
}

function ready(h: Harness): number {
  return h.machine.counts().messagesReady;
}

describe("per-publisher order", () => {
  it("stores a publisher's enqueues in seq order and refuses one that overtook an earlier one", () => {
    const h = new Harness();
    expect(enqueue(h, { id: P, seq: 1 }).type).toBe("enqueued");
    const early = enqueue(h, { id: P, seq: 3 });
    expect(early).toEqual({
      type: "out-of-order",
      publisher: { id: P, seq: 3 },
      expected: { epoch: 0, seq: 2 },
    });
    expect(ready(h)).toBe(1);
    expect(enqueue(h, { id: P, seq: 2 }).type).toBe("enqueued");
    expect(enqueue(h, { id: P, seq: 3 }).type).toBe("enqueued");
    expect(ready(h)).toBe(3);
    expect(h.machine.publisher(P)).toEqual({ epoch: 0, next: 4 });
  });

  it("a new publisher must start at seq 1", () => {
    const h = new Harness();
    expect(enqueue(h, { id: P, seq: 2 })).toMatchObject({
      type: "out-of-order",
      expected: { epoch: 0, seq: 1 },
    });
    expect(ready(h)).toBe(0);
  });

  it("answers a retried enqueue with the original outcome and stores nothing twice", () => {
    const h = new Harness({ "x-max-length": 1, "x-overflow": "reject-publish" });
    expect(enqueue(h, { id: P, seq: 1 }).type).toBe("enqueued");
    expect(enqueue(h, { id: P, seq: 2, floor: 1 }).type).toBe("rejected");
    expect(enqueue(h, { id: P, seq: 1, floor: 1 })).toMatchObject({ type: "duplicate", outcome: "enqueued" });
    expect(enqueue(h, { id: P, seq: 2, floor: 1 })).toMatchObject({ type: "duplicate", outcome: "rejected" });
    expect(ready(h)).toBe(1);
  });

  it("forgets refused seqs below the sender's floor", () => {
    const h = new Harness({ "x-max-length": 0, "x-overflow": "reject-publish" });
    expect(enqueue(h, { id: P, seq: 1 }).type).toBe("rejected");
    expect(enqueue(h, { id: P, seq: 2, floor: 1 }).type).toBe("rejected");
    const snapWithTwo = h.machine.snapshot().state.byteLength;
    expect(enqueue(h, { id: P, seq: 3, floor: 3 }).type).toBe("rejected");
    expect(h.machine.snapshot().state.byteLength).toBeLessThan(snapWithTwo);
  });

  it("a new epoch starts at seq 1 and makes every enqueue of an older epoch stale", () => {
    const h = new Harness();
    enqueue(h, { id: P, seq: 1 });
    enqueue(h, { id: P, seq: 2 });
    expect(enqueue(h, { id: P, seq: 2, epoch: 5 })).toMatchObject({ expected: { epoch: 5, seq: 1 } });
    expect(enqueue(h, { id: P, seq: 1, epoch: 5 }).type).toBe("enqueued");
    // An abandoned enqueue of epoch 0 that commits late never lands after epoch 5's messages.
    expect(enqueue(h, { id: P, seq: 3 })).toMatchObject({
      type: "out-of-order",
      expected: { epoch: 5, seq: 2 },
    });
    expect(ready(h)).toBe(3);
  });

  it("enqueues without a publisher are applied as they come", () => {
    const h = new Harness();
    h.apply({ type: "enqueue", exchange: "", routingKeys: ["q"], properties: {}, body: new Uint8Array(1) });
    h.apply({ type: "enqueue", exchange: "", routingKeys: ["q"], properties: {}, body: new Uint8Array(1) });
    expect(ready(h)).toBe(2);
  });

  it("a closed channel, connection or node forgets its publishers (a late down spares a reopened channel)", () => {
    const h = new Harness();
    enqueue(h, { id: "n1/b.1|1", seq: 1, epoch: 3 });
    enqueue(h, { id: "n1/b.1|2", seq: 1 });
    enqueue(h, { id: "n1/b.12|1", seq: 1 });
    enqueue(h, { id: "n2/b.1|1", seq: 1 });
    h.apply({ type: "down", connection: "n1/b.1", channel: 1, publishersUpToEpoch: 2 });
    expect(h.machine.publisher("n1/b.1|1")).toBeDefined();
    h.apply({ type: "down", connection: "n1/b.1", channel: 1, publishersUpToEpoch: 3 });
    expect(h.machine.publisher("n1/b.1|1")).toBeUndefined();
    h.apply({ type: "down", connection: "n1/b.1" });
    expect(h.machine.publisher("n1/b.1|2")).toBeUndefined();
    expect(h.machine.publisher("n1/b.12|1")).toBeDefined();
    h.apply({ type: "node-down", node: "n1" });
    expect(h.machine.publisher("n1/b.12|1")).toBeUndefined();
    expect(h.machine.publisher("n2/b.1|1")).toBeDefined();
  });

  it("past the bound the least recently used publishers are forgotten, the same on every replica", () => {
    const h = new Harness();
    for (let i = 0; i <= MAX_PUBLISHERS; i++) enqueue(h, { id: `n1/b.${i}|1`, seq: 1 });
    expect(h.machine.publisher("n1/b.0|1")).toBeUndefined();
    expect(h.machine.publisher(`n1/b.${MAX_PUBLISHERS}|1`)).toBeDefined();
    const restored = new QueueMachine(h.machine.queueConfig);
    restored.restore(h.machine.snapshot());
    expect(Buffer.compare(restored.snapshot().state, h.machine.snapshot().state)).toBe(0);
    expect(restored.publisher(`n1/b.${MAX_PUBLISHERS}|1`)).toEqual({ epoch: 0, next: 2 });
  });
});
