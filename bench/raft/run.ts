/**
 * `npm run bench:raft`: three RaftHosts in three processes on loopback (real TCP, real
 * LevelDB with sync:true), 1 KiB proposals. Prints one JSON line per scenario:
 *   {"scenario":"throughput","groups":1|64,"commitsPerSec","p50Ms","p99Ms","fsyncsPerSec"}
 *       closed loop, many proposals outstanding per group;
 *   {"scenario":"latency","groups":1|64,...}   open loop at half the measured throughput;
 *   {"scenario":"failover","gapMs"}            kill -9 of g0's leader -> next commit elsewhere.
 * Each figure is the median of `--runs` runs. `fsyncsPerSec` is per node (each node fsyncs its
 * own WAL). Options: --runs N (3) --duration MS (5000) --warmup MS (1500) --window N (total
 * outstanding proposals, 1024) --only throughput|latency|failover --groups 1,64 --cpu-prof DIR
 * --election-tick N, --snapshot-every N (host defaults otherwise).
 */
import * as hdr from "hdr-histogram-js";
import { BenchCluster, type LoadResult } from "./cluster.js";

interface Args {
  runs: number;
  duration: number;
  warmup: number;
  window: number;
  only: string | undefined;
  groups: number[];
  cpuProf: string | undefined;
  electionTick: number | undefined;
  snapshotEvery: number | undefined;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    runs: 3,
    duration: 5000,
    warmup: 1500,
    window: 1024,
    only: undefined,
    groups: [1, 64],
    cpuProf: undefined,
    electionTick: undefined,
    snapshotEvery: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case "--runs":
        a.runs = Number(v);
        i++;
        break;
      case "--duration":
        a.duration = Number(v);
        i++;
        break;
      case "--warmup":
        a.warmup = Number(v);
        i++;
        break;
      case "--window":
        a.window = Number(v);
        i++;
        break;
      case "--only":
        a.only = v;
        i++;
        break;
      case "--groups":
        a.groups = (v ?? "").split(",").map(Number);
        i++;
        break;
      case "--snapshot-every":
        a.snapshotEvery = Number(v);
        i++;
        break;
      case "--election-tick":
        a.electionTick = Number(v);
        i++;
        break;
      case "--cpu-prof":
        a.cpuProf = v;
        i++;
        break;
    }
  }
  return a;
}

const tuning = (a: Args) => ({
  ...(a.electionTick !== undefined ? { electionTick: a.electionTick } : {}),
  ...(a.snapshotEvery !== undefined ? { snapshotEvery: a.snapshotEvery } : {}),
});

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

interface Summary {
  commitsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  fsyncsPerSec: number;
}

/** Merges the three nodes' results of one run. */
function summarize(results: LoadResult[]): Summary {
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const changes = results.reduce((n, r) => n + r.leaderChanges, 0);
  const fs = results.map(
    (r) => `${r.fsyncMs.p50.toFixed(1)}/${r.fsyncMs.p99.toFixed(1)}/${r.fsyncMs.max.toFixed(0)}`,
  );
  process.stderr.write(
    `  failed proposals ${errors}, leader changes seen ${changes}, connections lost ${results.reduce((n, r) => n + r.peerDowns, 0)}, cpu per node ${results.map((r) => `${Math.round(r.cpuShare * 100)}%`).join(" ")}, batch write ms p50/p99/max per node ${fs.join(" ")}\n`,
  );
  const hist = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let commits = 0;
  let flushes = 0;
  const seconds = results[0]?.seconds ?? 1;
  for (const r of results) {
    commits += r.commits;
    flushes += r.flushes;
    hist.add(hdr.decodeFromCompressedBase64(r.hist));
  }
  return {
    commitsPerSec: Math.round(commits / seconds),
    p50Ms: round(hist.getValueAtPercentile(50) / 1000),
    p99Ms: round(hist.getValueAtPercentile(99) / 1000),
    fsyncsPerSec: Math.round(flushes / seconds / results.length),
  };
}

function medianSummary(runs: Summary[]): Summary {
  return {
    commitsPerSec: median(runs.map((r) => r.commitsPerSec)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    fsyncsPerSec: median(runs.map((r) => r.fsyncsPerSec)),
  };
}

async function loadScenarios(args: Args, groups: number): Promise<void> {
  const c = await BenchCluster.start(groups, args.cpuProf, tuning(args));
  try {
    await c.balanceLeaders();
    const perGroup = Math.max(1, Math.ceil(args.window / groups));
    const tput: Summary[] = [];
    for (let i = 0; i < args.runs; i++) {
      const s = summarize(await c.closedLoop(perGroup, args.warmup, args.duration));
      process.stderr.write(`throughput groups=${groups} run ${i + 1}: ${JSON.stringify(s)}\n`);
      tput.push(s);
    }
    const t = medianSummary(tput);
    if (args.only === undefined || args.only === "throughput") {
      console.log(JSON.stringify({ scenario: "throughput", groups, ...t }));
    }
    if (args.only === undefined || args.only === "latency") {
      const rate = Math.max(1, Math.round(t.commitsPerSec / 2));
      const lat: Summary[] = [];
      for (let i = 0; i < args.runs; i++) {
        const s = summarize(await c.openLoop(rate, args.warmup, args.duration));
        process.stderr.write(`latency groups=${groups} rate=${rate} run ${i + 1}: ${JSON.stringify(s)}\n`);
        lat.push(s);
      }
      console.log(JSON.stringify({ scenario: "latency", groups, ...medianSummary(lat) }));
    }
  } finally {
    await c.close();
  }
}

async function failoverScenario(args: Args): Promise<void> {
  const c = await BenchCluster.start(1, args.cpuProf, tuning(args));
  try {
    const gaps: number[] = [];
    for (let i = 0; i < args.runs; i++) {
      const gap = await c.failoverOnce();
      process.stderr.write(`failover run ${i + 1}: ${gap} ms\n`);
      gaps.push(gap);
    }
    console.log(JSON.stringify({ scenario: "failover", gapMs: median(gaps) }));
  } finally {
    await c.close();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.only !== "failover") {
    for (const g of args.groups) await loadScenarios(args, g);
  }
  if (args.only === undefined || args.only === "failover") await failoverScenario(args);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
