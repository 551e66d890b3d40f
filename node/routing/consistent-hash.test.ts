import { describe, expect, it } from "vitest";
import { HashRing, parseWeight } from "./consistent-hash.js";
import { murmur3Bytes, murmur3String } from "./murmur3.js";
import { RoutingTable } from "./routing-table.js";
import { validateBinding, validateExchange } from "./validate.js";

const enc = new TextEncoder();

describe("murmur3 (x86, 32-bit)", () => {
  it("matches the reference vectors", () => {
    expect(murmur3Bytes(new Uint8Array(0), 0)).toBe(0);
    expect(murmur3Bytes(new Uint8Array(0), 1)).toBe(0x514e28b7);
    expect(murmur3Bytes(new Uint8Array(0), 0xffffffff)).toBe(0x81f16f39);
    expect(murmur3Bytes(enc.encode("Hello, world!"), 1234)).toBe(0xfaf6cdb3);
    expect(murmur3Bytes(enc.encode("The quick brown fox jumps over the lazy dog"), 0x9747b28c)).toBe(
      0x2fa826cd,
    );
    expect(murmur3Bytes(enc.encode("aaaa"), 0x9747b28c)).toBe(0x5a97808a);
    expect(murmur3Bytes(enc.encode("abc"), 0)).toBe(0xb3dd93fa);
  });

  it("hashes a string exactly as its UTF-8 bytes", () => {
    for (const s of [
      "",
      "a",
      "ab",
      "abc",
      "abcd",
      "abcde",
      "héllo wörld",
      "日本語キー",
      "emoji 🐇.",
      "\ud800x",
    ]) {
      expect(murmur3String(s), s).toBe(murmur3Bytes(enc.encode(s)));
    }
  });
});

function keys(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `order-${i}`);
}

function chashTable(weights: Record<string, number>, args: Record<string, unknown> = {}): RoutingTable {
  const t = new RoutingTable();
  t.declareExchange("ch", "x-consistent-hash", args);
  for (const [q, w] of Object.entries(weights)) {
    t.addQueue(q);
    t.bind("ch", { kind: "queue", name: q }, String(w));
  }
  return t;
}

function assignment(t: RoutingTable, ks: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const k of ks) {
    const r = t.route("ch", k);
    if (r.queues.length !== 1) throw new Error(`key ${k} routed to ${r.queues.length} queues`);
    m.set(k, r.queues[0]!);
  }
  return m;
}

describe("x-consistent-hash exchange", () => {
  it("routes every message to exactly one queue, the same one for the same key", () => {
    const t = chashTable({ q1: 1, q2: 1, q3: 1 });
    for (const k of keys(200)) expect(t.route("ch", k).queues).toEqual(t.route("ch", k).queues);
    assignment(t, keys(200));
  });

  it("gives the same assignment whatever order the bindings were made in (every node agrees)", () => {
    const a = chashTable({ q1: 1, q2: 2, q3: 3 });
    const b = chashTable({ q3: 3, q1: 1, q2: 2 });
    expect(assignment(a, keys(2000))).toEqual(assignment(b, keys(2000)));
  });

  it("spreads keys roughly in proportion to the weights", () => {
    const t = chashTable({ q1: 1, q2: 2, q3: 3, q4: 4 });
    const counts = new Map<string, number>();
    const n = 40_000;
    for (const q of assignment(t, keys(n)).values()) counts.set(q, (counts.get(q) ?? 0) + 1);
    for (const [q, w] of [
      ["q1", 1],
      ["q2", 2],
      ["q3", 3],
      ["q4", 4],
    ] as const) {
      const expected = (n * w) / 10;
      expect(Math.abs(counts.get(q)! - expected) / expected, q).toBeLessThan(0.2);
    }
  });

  it("adding a queue moves only about its share of keys, all of them to the new queue", () => {
    const ks = keys(20_000);
    const t = chashTable({ q1: 1, q2: 1, q3: 1, q4: 1 });
    const before = assignment(t, ks);
    t.addQueue("q5");
    t.bind("ch", { kind: "queue", name: "q5" }, "1");
    const after = assignment(t, ks);
    const moved = ks.filter((k) => before.get(k) !== after.get(k));
    expect(new Set(moved.map((k) => after.get(k)))).toEqual(new Set(["q5"]));
    expect(moved.length / ks.length).toBeGreaterThan(0.12);
    expect(moved.length / ks.length).toBeLessThan(0.28);
  });

  it("removing a queue moves only the keys it owned", () => {
    const ks = keys(20_000);
    const t = chashTable({ q1: 1, q2: 1, q3: 1, q4: 1 });
    const before = assignment(t, ks);
    t.removeQueue("q2");
    const after = assignment(t, ks);
    const unexpected = ks.filter((k) => before.get(k) !== "q2" && after.get(k) !== before.get(k));
    expect(unexpected).toEqual([]);
    expect([...after.values()]).not.toContain("q2");
  });

  it("hashes the header named by hash-header instead of the routing key", () => {
    const t = chashTable({ q1: 1, q2: 1, q3: 1 }, { "hash-header": "customer" });
    const seen = new Set<string>();
    for (const rk of keys(50)) seen.add(t.route("ch", rk, { customer: "c-42" }).queues[0]!);
    expect(seen.size).toBe(1);
    const byRk = chashTable({ q1: 1, q2: 1, q3: 1 });
    expect(t.route("ch", "ignored", { customer: "c-7" }).queues).toEqual(byRk.route("ch", "c-7").queues);
    // A message without the header still routes, always to the same queue (the plugin hashes `undefined`).
    expect(t.route("ch", "a").queues).toEqual(t.route("ch", "b", { other: 1 }).queues);
  });

  it("hashes message_id, correlation_id or timestamp with hash-property", () => {
    const t = chashTable({ q1: 1, q2: 1, q3: 1 }, { "hash-property": "message_id" });
    const byRk = chashTable({ q1: 1, q2: 1, q3: 1 });
    for (const id of keys(20)) {
      expect(t.route("ch", "x", undefined, { messageId: id }).queues).toEqual(byRk.route("ch", id).queues);
    }
    const ts = chashTable({ q1: 1, q2: 1, q3: 1 }, { "hash-property": "timestamp" });
    expect(ts.route("ch", "x", undefined, { timestamp: 1700000000 }).queues).toEqual(
      byRk.route("ch", "1700000000").queues,
    );
    expect(ts.route("ch", "x", undefined, { timestamp: new Date(1700000000_500) }).queues).toEqual(
      byRk.route("ch", "1700000000").queues,
    );
  });

  it("validates binding keys as positive integer weights and the exchange arguments", () => {
    expect(parseWeight("3")).toBe(3);
    expect(typeof parseWeight("0")).toBe("string");
    expect(typeof parseWeight("abc")).toBe("string");
    expect(validateBinding("x-consistent-hash", "-1", {})?.code).toBe("precondition_failed");
    expect(
      validateExchange("x-consistent-hash", { "hash-header": "h", "hash-property": "message_id" })?.message,
    ).toBe("hash-header and hash-property are mutually exclusive");
    expect(validateExchange("x-consistent-hash", { "hash-property": "app_id" })?.code).toBe(
      "precondition_failed",
    );
    expect(validateExchange("x-unknown", {})?.code).toBe("command_invalid");
    const t = chashTable({ q1: 1 });
    expect(() => t.bind("ch", { kind: "queue", name: "q1" }, "many")).toThrow(/integer/);
  });

  it("a queue bound twice weighs the sum of its bindings; unbinding one keeps the other", () => {
    const t = chashTable({ q1: 1, q2: 1 });
    const q1 = { kind: "queue", name: "q1" } as const;
    t.bind("ch", q1, "2");
    const counts = new Map<string, number>();
    for (const q of assignment(t, keys(8000)).values()) counts.set(q, (counts.get(q) ?? 0) + 1);
    expect(counts.get("q1")! / 8000).toBeGreaterThan(0.65);
    t.unbind("ch", q1, "1");
    t.unbind("ch", q1, "2");
    expect(new Set(assignment(t, keys(100)).values())).toEqual(new Set(["q2"]));
  });

  it("accepts weights above the cap (RabbitMQ does) and counts them as the cap", () => {
    const t = chashTable({ q1: 5000, q2: 1000 });
    const counts = new Map<string, number>();
    for (const q of assignment(t, keys(4000)).values()) counts.set(q, (counts.get(q) ?? 0) + 1);
    expect(Math.abs(counts.get("q1")! / 4000 - 0.5)).toBeLessThan(0.1);
    expect(validateBinding("x-consistent-hash", "5000", {})).toBeUndefined();
  });

  it("takes hash-header as a long string given as bytes", () => {
    const t = chashTable({ q1: 1, q2: 1, q3: 1 }, { "hash-header": new TextEncoder().encode("customer") });
    const byRk = chashTable({ q1: 1, q2: 1, q3: 1 });
    for (const c of keys(20)) {
      expect(t.route("ch", "ignored", { customer: c }).queues).toEqual(byRk.route("ch", c).queues);
    }
  });

  it("an exchange with no bindings routes nowhere", () => {
    const t = chashTable({});
    expect(t.route("ch", "k")).toEqual({ queues: [], unroutable: true });
  });

  it("the ring with equal members is the same object-independent structure", () => {
    const r = new HashRing<string>();
    r.set("q:a", 1, "a");
    r.set("q:b", 1, "b");
    r.set("q:a", 0, "a");
    expect(r.size).toBe(1);
    expect(r.lookup("anything")).toBe("b");
  });
});
