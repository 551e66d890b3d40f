import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MessageLevel, State } from "../message-table.js";
import { CONN, deliveries, Harness } from "./harness.js";

describe("message records", () => {
  it("stay correct through growth, out-of-order settlement and compaction", () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 4000 }),
        (seeds, n) => {
          const level = new MessageLevel();
          const live = new Set<number>();
          for (let i = 1; i <= n; i++) {
            level.append(i * 3, Number.POSITIVE_INFINITY, i % 7);
            live.add(i * 3);
          }
          // Check out everything, then settle in a scrambled order.
          for (let p = level.peekReady(); p >= 0; p = level.peekReady()) level.checkOut(p, 1);
          const order = [...live];
          for (let i = 0; i < order.length; i++) {
            const j = (seeds[i % seeds.length]! + i * 7919) % order.length;
            [order[i], order[j]] = [order[j]!, order[i]!];
          }
          for (let k = 0; k < order.length; k++) {
            const id = order[k]!;
            const p = level.find(id);
            expect(p).toBeGreaterThanOrEqual(0);
            level.settle(p);
            live.delete(id);
            if (k % 701 === 0) {
              for (const other of live) expect(level.states[level.find(other)]).toBe(State.CheckedOut);
            }
            expect(level.size).toBe(live.size);
          }
          expect(level.checkedOutCount).toBe(0);
          expect(level.capacity).toBeLessThanOrEqual(1024);
        },
      ),
      { numRuns: 12 },
    );
  });

  it("keep memory bounded when one old message stays unacked while many pass", () => {
    const h = new Harness();
    h.publishMany(1);
    h.consume("a", { prefetch: 0 });
    for (let i = 0; i < 20_000; i++) {
      const d = deliveries(h.publish());
      h.ack([d[0]!.id]);
    }
    expect(h.machine.counts().messagesUnacknowledged).toBe(1);
    expect(h.machine.snapshot().live).toEqual([1]);
  });
});

describe("priority levels (x-max-priority, transient queues)", () => {
  it("delivers higher priorities first, FIFO within a level, priorities above max count as max", () => {
    const h = new Harness({ "x-max-priority": 5 });
    const low = h.publishMany(2, {});
    const mid = h.publishMany(2, { priority: 3 });
    const top = h.publishMany(1, { priority: 9 });
    const r = h.consume("a");
    expect(deliveries(r).map((d) => d.id)).toEqual([...top, ...mid, ...low]);
  });

  it("requeued messages go back to their level in original order", () => {
    const h = new Harness({ "x-max-priority": 2 });
    const low = h.publishMany(1, { priority: 0 });
    const high = h.publishMany(2, { priority: 2 });
    h.consume("a", { prefetch: 2 });
    h.apply({ type: "down", connection: CONN });
    const r = h.consume("b", { channel: 2 });
    expect(deliveries(r).map((d) => [d.id, d.redelivered])).toEqual([
      [high[0], true],
      [high[1], true],
      [low[0], false],
    ]);
  });

  it("without x-max-priority the priority property is ignored", () => {
    const h = new Harness();
    const ids = [...h.publishMany(1, { priority: 0 }), ...h.publishMany(1, { priority: 9 })];
    expect(deliveries(h.consume("a")).map((d) => d.id)).toEqual(ids);
  });
});
