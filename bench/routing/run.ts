/**
 * Routing micro-benchmark: routes per second through the routing table.
 *
 * Topic: 100,000 bindings vs 1,000 in the same run. Binding keys are `<tenant>.<w>.<w>[.<w>]`
 * with `*` and `#` mixed in; the tenant space grows with the binding count so a key matches a
 * similar handful of bindings in both tables. If routing scanned bindings, the 100k figure would
 * be ~100x lower; with the trie the ratio stays near 1. Direct and headers too (headers
 * matching is per binding by nature, as in RabbitMQ). Each figure is the median of RUNS runs.
 * Prints one JSON line per figure.
 */
import { cpus } from "node:os";
import { RoutingTable } from "../../node/routing/index.js";

const RUNS = Number(process.env.RUNS ?? 7);
const RUN_MS = Number(process.env.RUN_MS ?? 400);
const KEYS = 4096;

/** Deterministic PRNG (mulberry32) so every run benchmarks the same bindings and keys. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCAB = Array.from({ length: 16 }, (_, i) => `w${i}`);

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function emit(fig: Record<string, unknown>): void {
  console.log(JSON.stringify(fig));
}

/** Route `keys` round-robin for RUN_MS, RUNS times; returns the median routes/s and queues per route. */
function measure(route: (i: number) => number): {
  routesPerSec: number;
  runs: number[];
  queuesPerRoute: number;
} {
  // Warm-up so the JIT has compiled the hot path before we time it.
  let queues = 0;
  for (let i = 0; i < 20_000; i++) queues += route(i);
  const runs: number[] = [];
  let routed = 0;
  queues = 0;
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < RUN_MS) {
      for (let j = 0; j < 1024; j++) queues += route(n++);
      elapsed = performance.now() - t0;
    }
    routed += n;
    runs.push(Math.round((n / elapsed) * 1000));
  }
  return { routesPerSec: median(runs), runs, queuesPerRoute: Number((queues / routed).toFixed(2)) };
}

function topicTable(
  bindings: number,
  seed: number,
): { table: RoutingTable; keys: string[]; buildMs: number } {
  const r = rng(seed);
  const table = new RoutingTable();
  table.declareExchange("topic", "topic");
  const queues = Math.min(1000, bindings);
  for (let i = 0; i < queues; i++) table.addQueue(`q${i}`);
  const tenants = Math.max(1, Math.floor(bindings / 20));
  const t0 = performance.now();
  for (let i = 0; i < bindings; i++) {
    const words = [`t${Math.floor(r() * tenants)}`];
    const len = 2 + Math.floor(r() * 3);
    for (let w = 1; w < len; w++) {
      const x = r();
      words.push(x < 0.2 ? "*" : pick(r, VOCAB));
    }
    if (r() < 0.15) words.push("#");
    else if (r() < 0.05) words.splice(1, 0, "#");
    table.bind("topic", { kind: "queue", name: `q${i % queues}` }, words.join("."));
  }
  const buildMs = performance.now() - t0;
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const words = [`t${Math.floor(r() * tenants)}`];
    const len = 2 + Math.floor(r() * 4);
    for (let w = 1; w < len; w++) words.push(pick(r, VOCAB));
    keys.push(words.join("."));
  }
  return { table, keys, buildMs };
}

function benchTopic(): void {
  const results = new Map<number, number>();
  for (const bindings of [1_000, 100_000]) {
    const { table, keys, buildMs } = topicTable(bindings, 1);
    const m = measure((i) => table.route("topic", keys[i & (KEYS - 1)]!).queues.length);
    results.set(bindings, m.routesPerSec);
    emit({ figure: "topicRoutesPerSec", bindings, value: m.routesPerSec, unit: "routes/s", ...m });
    emit({ figure: "topicBindMs", bindings, value: Number(buildMs.toFixed(1)), unit: "ms" });
    if (bindings === 100_000) {
      const t0 = performance.now();
      for (const b of table.bindings("topic")) table.unbind("topic", b.destination, b.routingKey, b.args);
      emit({
        figure: "topicUnbindAllMs",
        bindings,
        value: Number((performance.now() - t0).toFixed(1)),
        unit: "ms",
      });
    }
  }
  const ratio = results.get(100_000)! / results.get(1_000)!;
  emit({ figure: "topicThroughputRatio100kVs1k", value: Number(ratio.toFixed(3)), unit: "ratio" });
}

function benchDirect(): void {
  for (const bindings of [1_000, 100_000]) {
    const table = new RoutingTable();
    table.declareExchange("direct", "direct");
    for (let i = 0; i < 1000; i++) table.addQueue(`q${i}`);
    for (let i = 0; i < bindings; i++)
      table.bind("direct", { kind: "queue", name: `q${i % 1000}` }, `key-${i}`);
    const r = rng(2);
    // Three in four keys exist.
    const keys = Array.from({ length: KEYS }, () => `key-${Math.floor(r() * bindings * 1.33)}`);
    const m = measure((i) => table.route("direct", keys[i & (KEYS - 1)]!).queues.length);
    emit({ figure: "directRoutesPerSec", bindings, value: m.routesPerSec, unit: "routes/s", ...m });
  }
}

function benchHeaders(): void {
  for (const bindings of [100, 1_000]) {
    const table = new RoutingTable();
    table.declareExchange("headers", "headers");
    const r = rng(3);
    for (let i = 0; i < 100; i++) table.addQueue(`q${i}`);
    for (let i = 0; i < bindings; i++) {
      const any = r() < 0.3;
      table.bind("headers", { kind: "queue", name: `q${i % 100}` }, "", {
        "x-match": any ? "any" : "all",
        region: pick(r, ["eu", "us", "ap", "sa"]),
        kind: pick(r, VOCAB),
        ...(r() < 0.3 ? { priority: Math.floor(r() * 4) } : {}),
      });
    }
    const headers = Array.from({ length: KEYS }, () => ({
      region: pick(r, ["eu", "us", "ap", "sa"]),
      kind: pick(r, VOCAB),
      priority: Math.floor(r() * 4),
      "x-trace": "abc",
    }));
    const m = measure((i) => table.route("headers", "", headers[i & (KEYS - 1)]!).queues.length);
    emit({ figure: "headersRoutesPerSec", bindings, value: m.routesPerSec, unit: "routes/s", ...m });
  }
}

function benchConsistentHash(): void {
  const table = new RoutingTable();
  table.declareExchange("ch", "x-consistent-hash");
  for (let i = 0; i < 16; i++) {
    table.addQueue(`q${i}`);
    table.bind("ch", { kind: "queue", name: `q${i}` }, String(1 + (i % 3)));
  }
  const keys = Array.from({ length: KEYS }, (_, i) => `order-${i * 7919}`);
  const m = measure((i) => table.route("ch", keys[i & (KEYS - 1)]!).queues.length);
  emit({ figure: "consistentHashRoutesPerSec", bindings: 16, value: m.routesPerSec, unit: "routes/s", ...m });
}

emit({
  figure: "machine",
  nproc: cpus().length,
  cpu: cpus()[0]?.model ?? "unknown",
  node: process.version,
  runs: RUNS,
  runMs: RUN_MS,
});
benchTopic();
benchDirect();
benchHeaders();
benchConsistentHash();
