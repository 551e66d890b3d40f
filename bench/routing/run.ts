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
import { RoutingTable, topicMatchesNaive } from "../../node/routing/index.js";

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
function measure(
  route: (i: number) => number,
  warmup = 20_000,
  batch = 1024,
): { routesPerSec: number; runs: number[]; queuesPerRoute: number } {
  // Warm-up so the JIT has compiled the hot path before we time it.
  let queues = 0;
  for (let i = 0; i < warmup; i++) queues += route(i);
  const runs: number[] = [];
  let routed = 0;
  queues = 0;
  for (let r = 0; r < RUNS; r++) {
    const run = timedRun(route, batch);
    routed += run.routed;
    queues += run.queues;
    runs.push(run.perSec);
  }
  return { routesPerSec: median(runs), runs, queuesPerRoute: Number((queues / routed).toFixed(2)) };
}

function topicTable(
  bindings: number,
  seed: number,
): { table: RoutingTable; keys: string[]; patterns: string[]; buildMs: number } {
  const r = rng(seed);
  const table = new RoutingTable();
  table.declareExchange("topic", "topic");
  const queues = Math.min(1000, bindings);
  for (let i = 0; i < queues; i++) table.addQueue(`q${i}`);
  const tenants = Math.max(1, Math.floor(bindings / 20));
  const patterns: string[] = [];
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
    const pattern = words.join(".");
    patterns.push(pattern);
    table.bind("topic", { kind: "queue", name: `q${i % queues}` }, pattern);
  }
  const buildMs = performance.now() - t0;
  const keys: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const words = [`t${Math.floor(r() * tenants)}`];
    const len = 2 + Math.floor(r() * 4);
    for (let w = 1; w < len; w++) words.push(pick(r, VOCAB));
    keys.push(words.join("."));
  }
  return { table, keys, patterns, buildMs };
}

/** One timed run of RUN_MS: routes/s. */
function timedRun(
  route: (i: number) => number,
  batch = 1024,
): { perSec: number; routed: number; queues: number } {
  let n = 0;
  let queues = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < RUN_MS) {
    for (let j = 0; j < batch; j++) queues += route(n++);
    elapsed = performance.now() - t0;
  }
  return { perSec: Math.round((n / elapsed) * 1000), routed: n, queues };
}

function benchTopic(): void {
  const small = topicTable(1_000, 1);
  const large = topicTable(100_000, 1);
  emit({ figure: "topicBindMs", bindings: 1_000, value: Number(small.buildMs.toFixed(1)), unit: "ms" });
  emit({ figure: "topicBindMs", bindings: 100_000, value: Number(large.buildMs.toFixed(1)), unit: "ms" });
  const routeSmall = (i: number) => small.table.route("topic", small.keys[i & (KEYS - 1)]!).queues.length;
  const routeLarge = (i: number) => large.table.route("topic", large.keys[i & (KEYS - 1)]!).queues.length;
  for (let i = 0; i < 20_000; i++) routeSmall(i) + routeLarge(i);
  // Interleave the two tables run by run so both see the same machine load (this box is shared).
  const runsSmall: number[] = [];
  const runsLarge: number[] = [];
  const ratios: number[] = [];
  const totals = { small: [0, 0], large: [0, 0] };
  for (let r = 0; r < RUNS; r++) {
    const a = timedRun(routeSmall);
    const b = timedRun(routeLarge);
    runsSmall.push(a.perSec);
    runsLarge.push(b.perSec);
    ratios.push(b.perSec / a.perSec);
    totals.small[0]! += a.routed;
    totals.small[1]! += a.queues;
    totals.large[0]! += b.routed;
    totals.large[1]! += b.queues;
  }
  for (const [bindings, runs, [routed, queues]] of [
    [1_000, runsSmall, totals.small],
    [100_000, runsLarge, totals.large],
  ] as const) {
    emit({
      figure: "topicRoutesPerSec",
      bindings,
      value: median(runs),
      unit: "routes/s",
      runs,
      queuesPerRoute: Number((queues! / routed!).toFixed(2)),
    });
  }
  emit({
    figure: "topicThroughputRatio100kVs1k",
    value: Number(median(ratios).toFixed(3)),
    unit: "ratio",
    runs: ratios.map((x) => Number(x.toFixed(3))),
  });

  // What a router that tests every binding would do, on the same 100,000 bindings and keys.
  const naive = measure(
    (i) => {
      const key = large.keys[i & (KEYS - 1)]!;
      let n = 0;
      for (const p of large.patterns) if (topicMatchesNaive(p, key)) n++;
      return n;
    },
    2,
    1,
  );
  emit({
    figure: "topicNaiveScanRoutesPerSec",
    bindings: 100_000,
    value: naive.routesPerSec,
    unit: "routes/s",
    runs: naive.runs,
  });

  const t0 = performance.now();
  for (const b of large.table.bindings("topic"))
    large.table.unbind("topic", b.destination, b.routingKey, b.args);
  emit({
    figure: "topicUnbindAllMs",
    bindings: 100_000,
    value: Number((performance.now() - t0).toFixed(1)),
    unit: "ms",
  });
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
