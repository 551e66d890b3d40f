import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { RoutingTable } from "./routing-table.js";
import { compileTopicPattern, splitTopicKey, TopicTrie, topicMatchesNaive } from "./topic-trie.js";

// rabbit's own topic test (unit_access_control / topic_matching): bindings t1..t27, including
// the "args-test" pair that differs only in arguments (two distinct bindings to the same queue).
const BINDINGS: [string, string, Record<string, unknown>][] = [
  ["a.b.c", "t1", {}],
  ["a.*.c", "t2", {}],
  ["a.#.b", "t3", {}],
  ["a.b.b.c", "t4", {}],
  ["#", "t5", {}],
  ["#.#", "t6", {}],
  ["#.b", "t7", {}],
  ["*.*", "t8", {}],
  ["a.*", "t9", {}],
  ["*.b.c", "t10", {}],
  ["a.#", "t11", {}],
  ["a.#.#", "t12", {}],
  ["b.b.c", "t13", {}],
  ["a.b.b", "t14", {}],
  ["a.b", "t15", {}],
  ["b.c", "t16", {}],
  ["", "t17", {}],
  ["*.*.*", "t18", {}],
  ["vodka.martini", "t19", {}],
  ["a.b.c", "t20", {}],
  ["*.#", "t21", {}],
  ["#.*.#", "t22", {}],
  ["*.#.#", "t23", {}],
  ["#.#.#", "t24", {}],
  ["*", "t25", {}],
  ["#.b.#", "t26", {}],
  ["args-test", "t27", { foo: "bar" }],
  ["args-test", "t27", { foo: "baz" }],
];

const EXPECTED_BEFORE: [string, string[]][] = [
  ["a.b.c", ["t1", "t2", "t5", "t6", "t10", "t11", "t12", "t18", "t20", "t21", "t22", "t23", "t24", "t26"]],
  ["a.b", ["t3", "t5", "t6", "t7", "t8", "t9", "t11", "t12", "t15", "t21", "t22", "t23", "t24", "t26"]],
  ["a.b.b", ["t3", "t5", "t6", "t7", "t11", "t12", "t14", "t18", "t21", "t22", "t23", "t24", "t26"]],
  ["", ["t5", "t6", "t17", "t24"]],
  ["b.c.c", ["t5", "t6", "t18", "t21", "t22", "t23", "t24", "t26"]],
  ["a.a.a.a.a", ["t5", "t6", "t11", "t12", "t21", "t22", "t23", "t24"]],
  ["vodka.gin", ["t5", "t6", "t8", "t21", "t22", "t23", "t24"]],
  ["vodka.martini", ["t5", "t6", "t8", "t19", "t21", "t22", "t23", "t24"]],
  ["b.b.c", ["t5", "t6", "t10", "t13", "t18", "t21", "t22", "t23", "t24", "t26"]],
  ["nothing.here.at.all", ["t5", "t6", "t21", "t22", "t23", "t24"]],
  ["oneword", ["t5", "t6", "t21", "t22", "t23", "t24", "t25"]],
  ["args-test", ["t5", "t6", "t21", "t22", "t23", "t24", "t25", "t27"]],
];

const EXPECTED_AFTER_REMOVING_1_5_11_19_21_28: [string, string[]][] = [
  ["a.b.c", ["t2", "t6", "t10", "t12", "t18", "t20", "t22", "t23", "t24", "t26"]],
  ["a.b", ["t3", "t6", "t7", "t8", "t9", "t12", "t15", "t22", "t23", "t24", "t26"]],
  ["a.b.b", ["t3", "t6", "t7", "t12", "t14", "t18", "t22", "t23", "t24", "t26"]],
  ["", ["t6", "t17", "t24"]],
  ["b.c.c", ["t6", "t18", "t22", "t23", "t24", "t26"]],
  ["a.a.a.a.a", ["t6", "t12", "t22", "t23", "t24"]],
  ["vodka.gin", ["t6", "t8", "t22", "t23", "t24"]],
  ["vodka.martini", ["t6", "t8", "t22", "t23", "t24"]],
  ["b.b.c", ["t6", "t10", "t13", "t18", "t22", "t23", "t24", "t26"]],
  ["nothing.here.at.all", ["t6", "t22", "t23", "t24"]],
  ["oneword", ["t6", "t22", "t23", "t24", "t25"]],
  ["args-test", ["t6", "t22", "t23", "t24", "t25", "t27"]],
];

function topicTable(): RoutingTable {
  const t = new RoutingTable();
  t.declareExchange("x", "topic");
  for (const [key, q, args] of BINDINGS) {
    t.addQueue(q);
    t.bind("x", { kind: "queue", name: q }, key, args);
  }
  return t;
}

describe("topic exchange (RabbitMQ's topic matching test)", () => {
  it("routes every key to exactly the queues RabbitMQ's test expects", () => {
    const t = topicTable();
    for (const [key, expected] of EXPECTED_BEFORE) {
      expect(t.route("x", key).queues, key).toEqual([...expected].sort());
    }
  });

  it("after removing bindings 1, 5, 11, 19, 21 and 28, the aliased args-test binding still routes", () => {
    const t = topicTable();
    for (const n of [1, 5, 11, 19, 21, 28]) {
      const [key, q, args] = BINDINGS[n - 1]!;
      expect(t.unbind("x", { kind: "queue", name: q }, key, args)).toBe(true);
    }
    for (const [key, expected] of EXPECTED_AFTER_REMOVING_1_5_11_19_21_28) {
      expect(t.route("x", key).queues, key).toEqual([...expected].sort());
    }
  });

  it("deleting the exchange leaves nothing to match", () => {
    const t = topicTable();
    t.deleteExchange("x");
    for (const key of ["a.b.c", "b.b.c", ""])
      expect(t.route("x", key)).toEqual({ queues: [], unroutable: true });
  });
});

describe("topic words", () => {
  it("splits like RabbitMQ: the empty key has no words, dots delimit empty words", () => {
    expect(splitTopicKey("")).toEqual([]);
    expect(splitTopicKey(".")).toEqual(["", ""]);
    expect(splitTopicKey("a..b")).toEqual(["a", "", "b"]);
    expect(splitTopicKey(".a.")).toEqual(["", "a", ""]);
  });

  it("collapses runs of # in binding keys", () => {
    expect(compileTopicPattern("#.#.a.#.#.#")).toEqual(["#", "a", "#"]);
    expect(compileTopicPattern("#.*.#")).toEqual(["#", "*", "#"]);
  });

  // [pattern, key, matches]
  const TABLE: [string, string, boolean][] = [
    ["#", "", true],
    ["#", ".", true],
    ["#", "a.b.c", true],
    ["*", "", false],
    ["*", "a", true],
    ["*", ".", false],
    ["*.*", ".", true],
    ["", "", true],
    ["", "a", false],
    ["a.*", "a.", true],
    ["a.*", "a", false],
    ["*.a", ".a", true],
    ["a..b", "a..b", true],
    ["a.*.b", "a..b", true],
    ["a.#.b", "a.b", true],
    ["a.#.b", "a.x.y.b", true],
    ["a.#.b", "a.x.y.c", false],
    ["a.#", "a", true],
    ["#.a", "a", true],
    ["#.b.#", "b", true],
    ["#.*", "", false],
    ["*.#", "a", true],
    ["a.#.#.b", "a.b", true],
    ["a*", "ab", false],
    ["a*", "a*", true],
    ["#a", "a", false],
    ["a.b", "a.b.c", false],
    ["a.b.c", "a.b", false],
    ["*.*.*", "a..", true],
    ["#.#", "", true],
  ];

  it.each(TABLE)("binding key %j vs routing key %j -> %s", (pattern, key, matches) => {
    expect(topicMatchesNaive(pattern, key)).toBe(matches);
    const trie = new TopicTrie<string>();
    trie.add(compileTopicPattern(pattern), "q");
    const hits: string[] = [];
    trie.match(splitTopicKey(key), (v) => hits.push(v));
    expect(hits).toEqual(matches ? ["q"] : []);
  });

  it("a value reachable along many splits of #-heavy patterns is emitted once", () => {
    const trie = new TopicTrie<string>();
    trie.add(compileTopicPattern("#.a.#.a.#"), "q");
    trie.add(compileTopicPattern("#.*.#.*.#"), "r");
    const hits: string[] = [];
    trie.match(splitTopicKey("a.a.a.a.a.a.a.a"), (v) => hits.push(v));
    expect(hits.sort()).toEqual(["q", "r"]);
  });

  it("routing cost depends on the key's words, not on the number of bindings", () => {
    const build = (n: number) => {
      const trie = new TopicTrie<number>();
      for (let i = 0; i < n; i++) {
        const tenant = `t${i % (n / 10)}`;
        trie.add(compileTopicPattern(`${tenant}.${["a", "*", "#"][i % 3]}.${["x", "y", "*"][i % 3]}`), i);
      }
      return trie;
    };
    const small = build(300);
    const large = build(30_000);
    for (const key of ["t7.a.x", "t7.b.y.z", "t7", "nobody.a.x"]) {
      const hits: number[][] = [[], []];
      small.match(splitTopicKey(key), (v) => hits[0]!.push(v));
      const smallVisits = small.lastMatchVisits;
      large.match(splitTopicKey(key), (v) => hits[1]!.push(v));
      expect(large.lastMatchVisits, key).toBe(smallVisits);
      expect(smallVisits).toBeLessThan(20);
    }
  });

  it("removing the last binding under a path prunes its nodes", () => {
    const trie = new TopicTrie<string>();
    trie.add(compileTopicPattern("a.b.c"), "q1");
    trie.add(compileTopicPattern("a.*.#"), "q2");
    expect(trie.nodeCount).toBe(6);
    trie.remove(compileTopicPattern("a.b.c"), "q1");
    expect(trie.nodeCount).toBe(4);
    trie.remove(compileTopicPattern("a.*.#"), "q2");
    expect(trie.nodeCount).toBe(1);
    expect(trie.size).toBe(0);
    expect(trie.remove(compileTopicPattern("a.*.#"), "q2")).toBe(false);
  });
});

// Small alphabets so random patterns and keys actually collide, including empty words.
const word = fc.constantFrom("a", "b", "c", "");
const patternWord = fc.oneof(word, fc.constant("*"), fc.constant("#"), fc.constant("#"));
const key = fc.array(word, { maxLength: 6, size: "max" }).map((ws) => ws.join("."));
const pattern = fc.array(patternWord, { maxLength: 6, size: "max" }).map((ws) => ws.join("."));

describe("trie routing equals the naive matcher (property)", () => {
  it("for any set of patterns and any key", () => {
    fc.assert(
      fc.property(
        fc.array(pattern, { maxLength: 20, size: "max" }),
        fc.array(key, { minLength: 1, maxLength: 10 }),
        (ps, ks) => {
          const trie = new TopicTrie<number>();
          ps.forEach((p, i) => {
            trie.add(compileTopicPattern(p), i);
          });
          for (const k of ks) {
            const got: number[] = [];
            trie.match(splitTopicKey(k), (v) => got.push(v));
            const want = ps.flatMap((p, i) => (topicMatchesNaive(p, k) ? [i] : []));
            expect(got.sort((a, b) => a - b)).toEqual(want);
          }
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it("after any sequence of binds and unbinds through the routing table", () => {
    type Op = { add: boolean; pattern: string; queue: number };
    const op = fc.record({ add: fc.boolean(), pattern, queue: fc.integer({ min: 0, max: 4 }) });
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 60, size: "max" }),
        fc.array(key, { minLength: 1, maxLength: 8 }),
        (ops: Op[], ks) => {
          const t = new RoutingTable();
          t.declareExchange("x", "topic");
          for (let q = 0; q < 5; q++) t.addQueue(`q${q}`);
          const model = new Set<string>(); // "queue|pattern"
          for (const o of ops) {
            const dest = { kind: "queue", name: `q${o.queue}` } as const;
            const id = `${dest.name}|${o.pattern}`;
            if (o.add) {
              expect(t.bind("x", dest, o.pattern)).toBe(!model.has(id));
              model.add(id);
            } else {
              expect(t.unbind("x", dest, o.pattern)).toBe(model.has(id));
              model.delete(id);
            }
          }
          for (const k of ks) {
            const want = new Set<string>();
            for (const id of model) {
              const [q, p] = id.split("|") as [string, string];
              if (topicMatchesNaive(p, k)) want.add(q);
            }
            const r = t.route("x", k);
            expect(r.queues).toEqual([...want].sort());
            expect(r.unroutable).toBe(want.size === 0);
          }
          // Removing everything leaves an empty trie behind the exchange.
          for (const id of model) {
            const [q, p] = id.split("|") as [string, string];
            t.unbind("x", { kind: "queue", name: q }, p);
          }
          for (const k of ks) expect(t.route("x", k).unroutable).toBe(true);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });
});
