/**
 * Model-based property test of the whole table: random declares, deletes, binds, unbinds
 * (queue and exchange destinations, alternate exchanges, cycles) against a reference router
 * that stores bindings in a flat list and routes with RabbitMQ's worklist algorithm
 * (rabbit_exchange:route/route1) and naive matching.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RoutingTable } from "./routing-table.js";
import { topicMatchesNaive } from "./topic-trie.js";
import type { ExchangeType } from "./types.js";

type MType = Extract<ExchangeType, "direct" | "fanout" | "topic">;
interface MBinding {
  src: string;
  kind: "queue" | "exchange";
  dest: string;
  key: string;
}

class Model {
  exchanges = new Map<string, { type: MType; ae: string | undefined }>();
  queues = new Set<string>();
  bindings: MBinding[] = [];

  route(xName: string, key: string): string[] {
    if (xName === "") return this.queues.has(key) ? [key] : [];
    const start = this.exchanges.get(xName);
    if (start === undefined) return [];
    const seen = new Set([xName]);
    const work = [xName];
    const out = new Set<string>();
    while (work.length > 0) {
      const name = work.shift()!;
      const x = this.exchanges.get(name)!;
      const dests = this.bindings.filter(
        (b) =>
          b.src === name &&
          (x.type === "fanout" || (x.type === "direct" ? b.key === key : topicMatchesNaive(b.key, key))),
      );
      const next: MBinding[] = [...dests];
      if (dests.length === 0 && x.ae !== undefined) {
        if (x.ae === "") {
          if (this.queues.has(key)) out.add(key);
        } else if (this.exchanges.has(x.ae)) {
          next.push({ src: name, kind: "exchange", dest: x.ae, key });
        }
      }
      for (const d of next) {
        if (d.kind === "queue") out.add(d.dest);
        else if (!seen.has(d.dest)) {
          seen.add(d.dest);
          work.push(d.dest);
        }
      }
    }
    return [...out].sort();
  }
}

const names = ["x0", "x1", "x2", "x3"];
const queueNames = ["q0", "q1", "q2"];
const keys = ["a", "b", "a.b", "", "b.a.b"];
const patterns = ["a", "b", "a.b", "", "#", "*", "a.#", "#.b", "*.a.*"];

type Op =
  | { op: "declare"; name: string; type: MType; ae: string | undefined }
  | { op: "deleteX"; name: string }
  | { op: "addQ"; name: string }
  | { op: "removeQ"; name: string }
  | { op: "bind" | "unbind"; src: string; kind: "queue" | "exchange"; dest: string; key: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant("declare" as const),
    name: fc.constantFrom(...names),
    type: fc.constantFrom<MType>("direct", "fanout", "topic"),
    ae: fc.option(fc.constantFrom("", ...names), { nil: undefined }),
  }),
  fc.record({ op: fc.constant("deleteX" as const), name: fc.constantFrom(...names) }),
  fc.record({ op: fc.constant("addQ" as const), name: fc.constantFrom(...queueNames) }),
  fc.record({ op: fc.constant("removeQ" as const), name: fc.constantFrom(...queueNames) }),
  ...(["bind", "bind", "unbind"] as const).map((op) =>
    fc.oneof(
      fc.record({
        op: fc.constant(op),
        src: fc.constantFrom(...names),
        kind: fc.constant("queue" as const),
        dest: fc.constantFrom(...queueNames),
        key: fc.constantFrom(...patterns),
      }),
      fc.record({
        op: fc.constant(op),
        src: fc.constantFrom(...names),
        kind: fc.constant("exchange" as const),
        dest: fc.constantFrom(...names),
        key: fc.constantFrom(...patterns),
      }),
    ),
  ),
);

function apply(t: RoutingTable, m: Model, o: Op): void {
  switch (o.op) {
    case "declare":
      if (m.exchanges.has(o.name)) return; // meta refuses or no-ops redeclares; not the table's job
      t.declareExchange(o.name, o.type, o.ae === undefined ? {} : { "alternate-exchange": o.ae });
      m.exchanges.set(o.name, { type: o.type, ae: o.ae });
      return;
    case "deleteX":
      t.deleteExchange(o.name);
      m.exchanges.delete(o.name);
      m.bindings = m.bindings.filter(
        (b) => b.src !== o.name && !(b.kind === "exchange" && b.dest === o.name),
      );
      return;
    case "addQ":
      t.addQueue(o.name);
      m.queues.add(o.name);
      return;
    case "removeQ":
      t.removeQueue(o.name);
      m.queues.delete(o.name);
      m.bindings = m.bindings.filter((b) => !(b.kind === "queue" && b.dest === o.name));
      return;
    case "bind":
    case "unbind": {
      const destExists = o.kind === "queue" ? m.queues.has(o.dest) : m.exchanges.has(o.dest);
      if (!m.exchanges.has(o.src) || !destExists) return; // meta answers 404 first
      const same = (b: MBinding) =>
        b.src === o.src && b.kind === o.kind && b.dest === o.dest && b.key === o.key;
      const exists = m.bindings.some(same);
      if (o.op === "bind") {
        expect(t.bind(o.src, { kind: o.kind, name: o.dest }, o.key)).toBe(!exists);
        if (!exists) m.bindings.push({ src: o.src, kind: o.kind, dest: o.dest, key: o.key });
      } else {
        expect(t.unbind(o.src, { kind: o.kind, name: o.dest }, o.key)).toBe(exists);
        m.bindings = m.bindings.filter((b) => !same(b));
      }
      return;
    }
  }
}

describe("routing table against a reference router (property)", () => {
  it("routes every key from every exchange as RabbitMQ's worklist algorithm would", () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 100, size: "max" }), (ops) => {
        const t = new RoutingTable();
        const m = new Model();
        for (const o of ops) apply(t, m, o);
        for (const x of ["", ...names]) {
          for (const k of keys) {
            const want = m.route(x, k);
            expect(t.route(x, k), `${x} ${k}`).toEqual({ queues: want, unroutable: want.length === 0 });
          }
        }
        expect(t.stats().bindings).toBe(m.bindings.length);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});
