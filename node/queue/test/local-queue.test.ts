import { describe, expect, it } from "vitest";
import { parseQueueArguments } from "../config.js";
import { LocalQueue } from "../local-queue.js";
import type { EnqueueCommand } from "../types.js";

function msg(body: string, priority?: number): EnqueueCommand {
  return {
    type: "enqueue",
    exchange: "",
    routingKeys: ["reply"],
    properties: priority === undefined ? {} : { priority },
    body: new TextEncoder().encode(body),
  };
}

describe("transient queues (LocalQueue, no Raft)", () => {
  it("assigns increasing ids, keeps bodies until settled, then frees them", () => {
    const q = new LocalQueue(parseQueueArguments("amq.gen-1", {}));
    q.apply(msg("one"), 1);
    q.apply(msg("two"), 2);
    const r = q.apply(
      {
        type: "checkout",
        consumer: { connection: "c", channel: 1, tag: "t" },
        prefetch: 0,
        noAck: false,
        exclusive: true,
      },
      3,
    );
    const ids = r.effects.flatMap((e) => (e.type === "deliver" ? [e.id] : []));
    expect(ids).toEqual([1, 2]);
    expect(new TextDecoder().decode(q.read(1)!.body)).toBe("one");
    q.apply({ type: "settle", op: "ack", connection: "c", channel: 1, ids: [1] }, 4);
    expect(q.heldBodies).toBe(1);
    q.apply({ type: "tick" }, 5);
    expect(q.read(1)).toBeUndefined();
  });

  it("no-ack deliveries stay readable until the next apply", () => {
    const q = new LocalQueue(parseQueueArguments("q", {}));
    q.apply(msg("x"), 1);
    const r = q.apply(
      {
        type: "checkout",
        consumer: { connection: "c", channel: 1, tag: "t" },
        prefetch: 0,
        noAck: true,
        exclusive: false,
      },
      2,
    );
    expect(r.effects[0]).toMatchObject({ type: "deliver", id: 1, settled: true });
    expect(q.heldBodies).toBe(0);
    expect(new TextDecoder().decode(q.read(1)!.body)).toBe("x");
  });

  it("supports x-max-priority, TTL and dead-lettering like replicated queues", () => {
    const q = new LocalQueue(
      parseQueueArguments("q", {
        "x-max-priority": 10,
        "x-message-ttl": 100,
        "x-dead-letter-exchange": "dlx",
      }),
    );
    q.apply(msg("low", 1), 0);
    q.apply(msg("high", 8), 0);
    const r = q.apply({ type: "get", connection: "c", channel: 1, noAck: true }, 50);
    expect(r.reply).toMatchObject({ type: "get", message: { id: 2 } });
    const t = q.apply({ type: "tick" }, 200);
    expect(t.effects).toContainEqual({
      type: "dead-letter",
      id: 1,
      reason: "expired",
      queue: "q",
      exchange: "dlx",
      time: 200,
    });
    expect(q.read(1)).toBeDefined();
  });

  it("reject-publish overflow stores nothing", () => {
    const q = new LocalQueue(parseQueueArguments("q", { "x-max-length": 0, "x-overflow": "reject-publish" }));
    expect(q.apply(msg("x"), 0).reply).toEqual({ type: "rejected" });
    expect(q.heldBodies).toBe(0);
  });
});
