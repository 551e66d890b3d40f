import { describe, expect, test } from "vitest";
import type { Entry, Snapshot } from "../core/types.js";
import { SimDisk } from "./disk.js";
import { EventQueue } from "./event-queue.js";
import { SimMachine } from "./machine.js";
import { SimNetwork } from "./network.js";
import { Prng } from "./prng.js";

const ent = (index: number, term: number, data = `c${index}`): Entry => ({
  index,
  term,
  type: 0,
  data: new TextEncoder().encode(data),
});

const snap = (index: number, term: number, live: number[] = []): Snapshot => ({
  meta: { index, term, conf: { voters: ["n1", "n2", "n3"], learners: [] } },
  data: new Uint8Array(0),
  live,
});

describe("Prng", () => {
  test("the same seed gives the same stream, different seeds different ones", () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 100 }, () => a.nextU32());
    expect(Array.from({ length: 100 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.nextU32())).not.toEqual(xs);
  });

  test("float, int, range and pick stay in bounds and cover them", () => {
    const r = new Prng(7);
    const seen = new Set<number>();
    let outOfBounds = 0;
    for (let i = 0; i < 10_000; i++) {
      const f = r.float();
      const v = r.range(3, 6);
      if (f < 0 || f >= 1 || v < 3 || v > 6) outOfBounds++;
      seen.add(v);
    }
    expect(outOfBounds).toBe(0);
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
    expect(() => r.pick([])).toThrow();
  });

  test("fork gives an independent but reproducible stream", () => {
    const a = new Prng(1).fork();
    const b = new Prng(1).fork();
    expect(a.nextU32()).toBe(b.nextU32());
  });
});

describe("EventQueue", () => {
  test("pops in time order, ties in scheduling order, and never goes back in time", () => {
    const q = new EventQueue<string>();
    q.schedule(5, "b");
    q.schedule(1, "a");
    q.schedule(5, "c");
    q.schedule(3, "x");
    const out: string[] = [];
    for (let e = q.pop(); e !== undefined; e = q.pop()) {
      out.push(`${e}@${q.now}`);
      if (e === "x") q.schedule(0, "late"); // in the past: runs now
    }
    expect(out).toEqual(["a@1", "x@3", "late@3", "b@5", "c@5"]);
  });
});

describe("SimNetwork", () => {
  test("a cut link drops one way only; heal restores it", () => {
    const net = new SimNetwork(new Prng(1));
    net.cut("n1", "n2");
    expect(net.route("n1", "n2", 0)).toEqual({ kind: "dropped", reason: "cut" });
    expect(net.route("n2", "n1", 0).kind).toBe("deliver");
    net.heal();
    expect(net.route("n1", "n2", 0).kind).toBe("deliver");
  });

  test("a partition cuts every link between groups and none inside them", () => {
    const net = new SimNetwork(new Prng(1));
    net.partition([["n1"], ["n2", "n3"]]);
    expect(net.isCut("n1", "n2") && net.isCut("n3", "n1")).toBe(true);
    expect(net.isCut("n2", "n3") || net.isCut("n3", "n2")).toBe(false);
  });

  test("FIFO links never reorder; with reorder on, later messages can overtake", () => {
    const fifo = new SimNetwork(new Prng(3), {
      drop: 0,
      duplicate: 0,
      reorder: 0,
      minDelay: 1,
      maxDelay: 50,
    });
    let last = 0;
    for (let t = 0; t < 200; t++) {
      const v = fifo.route("a", "b", t);
      if (v.kind !== "deliver") throw new Error("dropped");
      expect(v.times[0]).toBeGreaterThanOrEqual(last);
      last = v.times[0] as number;
    }
    const loose = new SimNetwork(new Prng(3), {
      drop: 0,
      duplicate: 0,
      reorder: 1,
      minDelay: 1,
      maxDelay: 50,
    });
    const times = Array.from({ length: 200 }, (_, t) => {
      const v = loose.route("a", "b", t);
      return v.kind === "deliver" ? (v.times[0] as number) : -1;
    });
    expect(times.some((x, i) => i > 0 && x < (times[i - 1] as number))).toBe(true);
  });

  test("loss and duplication happen at about the configured rates, delays stay in bounds", () => {
    const net = new SimNetwork(new Prng(9), {
      drop: 0.2,
      duplicate: 0.1,
      reorder: 1,
      minDelay: 2,
      maxDelay: 9,
    });
    let dropped = 0;
    let dups = 0;
    for (let i = 0; i < 10_000; i++) {
      const v = net.route("a", "b", 100);
      if (v.kind === "dropped") dropped++;
      else {
        if (v.times.length === 2) dups++;
        for (const t of v.times) expect(t >= 102 && t <= 109).toBe(true);
      }
    }
    expect(dropped / 10_000).toBeCloseTo(0.2, 1);
    expect(dups / 8_000).toBeCloseTo(0.1, 1);
  });
});

describe("SimDisk", () => {
  test("writes are invisible until fsync, and a crash loses what was not synced", () => {
    const d = new SimDisk();
    d.write({ kind: "entries", entries: [ent(1, 1), ent(2, 1)] });
    d.write({ kind: "hardState", hardState: { term: 1, vote: "n1", commit: 0 } });
    expect(d.lastIndex()).toBe(0);
    d.fsync();
    expect(d.lastIndex()).toBe(2);
    expect(d.hardState.vote).toBe("n1");
    d.write({ kind: "entries", entries: [ent(3, 1)] });
    d.write({ kind: "hardState", hardState: { term: 2, vote: "n2", commit: 2 } });
    expect(d.crash()).toBe(2);
    d.fsync();
    expect(d.lastIndex()).toBe(2);
    expect(d.hardState).toEqual({ term: 1, vote: "n1", commit: 0 });
  });

  test("appending below the last index truncates the suffix and reports what was lost", () => {
    const d = new SimDisk();
    d.write({ kind: "entries", entries: [ent(1, 1), ent(2, 1), ent(3, 1)] });
    d.fsync();
    d.write({ kind: "entries", entries: [ent(2, 1), ent(3, 2, "other")] });
    const r = d.fsync();
    expect(r.lost).toEqual([{ index: 3, term: 1, byTerm: 2 }]);
    expect(r.appended.map((a) => [a.entry.index, a.entry.term, a.prevTerm])).toEqual([
      [2, 1, 1],
      [3, 2, 1],
    ]);
    expect(d.termAt(3)).toBe(2);
  });

  test("a hole in the log is reported as an anomaly", () => {
    const d = new SimDisk();
    d.write({ kind: "entries", entries: [ent(2, 1)] });
    expect(d.fsync().anomalies[0]).toMatch(/hole/);
  });

  test("a local snapshot compacts the log but keeps the entries it names live", () => {
    const d = new SimDisk();
    d.write({ kind: "entries", entries: [1, 2, 3, 4, 5].map((i) => ent(i, 1)) });
    d.write({ kind: "compact", snapshot: snap(4, 1, [2]) });
    expect(d.fsync().anomalies).toEqual([]);
    expect(d.entries().map((e) => e.index)).toEqual([5]);
    expect(d.readEntry(2)?.index).toBe(2);
    expect(d.readEntry(3)).toBeUndefined();
    expect(d.holds(3, 1)).toBe(true); // covered by the snapshot
  });

  test("installing a leader's snapshot replaces the log; a live entry not shipped is an anomaly", () => {
    const d = new SimDisk();
    d.write({ kind: "entries", entries: [ent(1, 1), ent(2, 1), ent(3, 1)] });
    d.fsync();
    d.write({ kind: "install", snapshot: snap(2, 1, [1, 2]), liveEntries: [ent(1, 1)] });
    const r = d.fsync();
    expect(r.lost).toEqual([{ index: 3, term: 1, byTerm: 1 }]);
    expect(r.anomalies[0]).toMatch(/names live 2/);
    expect(d.lastIndex()).toBe(2);
  });
});

describe("SimMachine", () => {
  test("same entries give the same hash; snapshot and restore round-trip the state", () => {
    const a = new SimMachine(2);
    const b = new SimMachine(2);
    for (let i = 1; i <= 10; i++) {
      expect(a.apply(ent(i, 1), true)).toBe(b.apply(ent(i, 1), true));
    }
    expect(a.state.live.every((i) => i % 2 === 0)).toBe(true);
    const c = new SimMachine(2);
    c.restore(a.snapshotData());
    expect(c.state).toEqual(a.state);
    expect(c.apply(ent(11, 2), true)).toBe(a.apply(ent(11, 2), true));
    expect(() => a.apply(ent(13, 2), true)).toThrow(/apply index 13/);
  });
});
