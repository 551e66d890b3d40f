/**
 * `npm run bench:raft`: three RaftHosts in three processes on loopback (real TCP, real
 * LevelDB with sync:true), 1 KiB proposals. Prints one JSON line per scenario:
 *   {"scenario":"throughput","groups":1|64,"commitsPerSec","p50Ms","p99Ms","fsyncsPerSec"}
 *       closed loop, many proposals outstanding per group;
 *   {"scenario":"latency","groups":1|64,...}   open loop at half the measured throughput;
 *   {"scenario":"failover","gapMs"}            kill -9 of g0's leader -> next commit elsewhere;
 *   {"scenario":"storage-ceiling","writers":1|3,"entriesPerSec","p50Ms","p99Ms",...}
 *       NodeStorage alone in 1 and 3 processes at once (storage-ceiling.ts): the bound the disk
 *       and LevelDB put on this machine, measured in the same run.
 * Each figure is the median of `--runs` runs. `fsyncsPerSec` is per node (each node fsyncs its
 * own WAL); `cpuUsPerCommit` is the CPU time of the three nodes together per commit, which
 * depends far less than wall throughput on how much CPU a shared machine leaves the nodes.
 * Options: --runs N (3) --duration MS (5000) --warmup MS (1500) --window N (total outstanding
 * proposals, 1024) --only throughput|latency|failover|storage --groups 1,64 --cpu-prof DIR
 * --election-tick N, --snapshot-every N (host defaults otherwise).
 *
 * `--baseline DIR` compares against another checkout (e.g. `git worktree add /tmp/base <commit>`
 * with a node_modules link): both clusters run side by side and their runs alternate, so both
 * see the same machine load; each line gets `"impl":"baseline"|"current"`, and a `ratio` line
 * (current / baseline of the medians) follows each scenario.
 */
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import * as hdr from "hdr-histogram-js";
import { BenchCluster, type LoadResult, NODE_SCRIPT } from "./cluster.js";
import { storageCeiling } from "./storage-ceiling.js";

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
  baseline: string | undefined;
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
    baseline: undefined,
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
      case "--baseline":
        a.baseline = v;
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
  /**
   * CPU microseconds of the three nodes together per commit, beyond what the same cluster burns
   * idle (ticks, heartbeats; measured before the runs): at low rates the idle cost would
   * otherwise dominate. Warm-up included.
   */
  cpuUsPerCommit: number;
  /**
   * p99 lateness of a 1 ms timer in this (otherwise idle) driver process during the run: how
   * long a runnable process waits for a core on this machine, a floor under any p99.
   */
  schedDelayP99Ms: number;
}

/**
 * Runs `phase` while sampling this process's event-loop delay. The driver does nothing while
 * the nodes work, so its delay is the machine's scheduling delay, not its own work.
 */
async function probed(phase: () => Promise<LoadResult[]>, idleCpu: number): Promise<Summary> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const results = await phase();
  h.disable();
  return { ...summarize(results, idleCpu), schedDelayP99Ms: round(h.percentile(99) / 1e6) };
}

/** CPU share of the three nodes together while the cluster is idle (one proposal a second). */
async function idleCpu(c: BenchCluster, ms: number): Promise<number> {
  const results = await c.openLoop(1, 0, ms);
  return results.reduce((n, r) => n + r.cpuShare, 0);
}

/** A node script to benchmark: this checkout's, or a baseline checkout's. */
interface Impl {
  readonly name: "current" | "baseline";
  readonly script: string;
}

/** Merges the three nodes' results of one run. */
function summarize(results: LoadResult[], idleCpu: number): Omit<Summary, "schedDelayP99Ms"> {
  const errors = results.reduce((n, r) => n + r.errors, 0);
  const changes = results.reduce((n, r) => n + r.leaderChanges, 0);
  const fs = results.map(
    (r) =>
      `${r.fsyncMs.p50.toFixed(1)}/${r.fsyncMs.p99.toFixed(1)}/${r.fsyncMs.max.toFixed(0)} (${r.fsyncMs.mean.toFixed(1)})`,
  );
  const elu = results.map((r) => (r.elu === undefined ? "?" : `${Math.round(r.elu * 100)}%`));
  const handoff = results.map((r) => (r.handoffMs === undefined ? "?" : r.handoffMs.toFixed(1)));
  process.stderr.write(
    `  failed proposals ${errors}, leader changes seen ${changes}, connections lost ${results.reduce((n, r) => n + r.peerDowns, 0)}, cpu per node ${results.map((r) => `${Math.round(r.cpuShare * 100)}%`).join(" ")}, event loop busy ${elu.join(" ")}, write-to-write handoff ms ${handoff.join(" ")}, batch write ms p50/p99/max (mean) per node ${fs.join(" ")}\n`,
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
  const commitsPerSec = commits / seconds;
  // cpuShare is CPU-seconds per second of each node over the phase; per commit at the phase's
  // rate, after taking off what the idle cluster burns anyway.
  const cpuShares = Math.max(0, results.reduce((n, r) => n + r.cpuShare, 0) - idleCpu);
  return {
    commitsPerSec: Math.round(commitsPerSec),
    p50Ms: round(hist.getValueAtPercentile(50) / 1000),
    p99Ms: round(hist.getValueAtPercentile(99) / 1000),
    fsyncsPerSec: Math.round(flushes / seconds / results.length),
    cpuUsPerCommit: commitsPerSec > 0 ? round((cpuShares / commitsPerSec) * 1e6, 1) : 0,
  };
}

function medianSummary(runs: Summary[]): Summary {
  return {
    commitsPerSec: median(runs.map((r) => r.commitsPerSec)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    fsyncsPerSec: median(runs.map((r) => r.fsyncsPerSec)),
    cpuUsPerCommit: median(runs.map((r) => r.cpuUsPerCommit)),
    schedDelayP99Ms: median(runs.map((r) => r.schedDelayP99Ms)),
  };
}

/** Prints a scenario's medians: one line per implementation, then current / baseline. */
function report(scenario: string, groups: number, impls: readonly Impl[], medians: Summary[]): void {
  if (impls.length === 1) {
    console.log(JSON.stringify({ scenario, groups, ...medians[0] }));
    return;
  }
  for (const [k, impl] of impls.entries()) {
    console.log(JSON.stringify({ scenario, groups, impl: impl.name, ...medians[k] }));
  }
  const [base, cur] = [medians[0]!, medians[1]!];
  const ratio: Record<string, number> = {};
  for (const key of Object.keys(cur) as Array<keyof Summary>) {
    if (base[key] > 0) ratio[key] = round(cur[key] / base[key]);
  }
  console.log(JSON.stringify({ scenario, groups, ratio }));
}

async function loadScenarios(args: Args, impls: readonly Impl[], groups: number): Promise<void> {
  const clusters: BenchCluster[] = [];
  try {
    for (const impl of impls) {
      const c = await BenchCluster.start(groups, args.cpuProf, tuning(args), impl.script);
      clusters.push(c);
      await c.balanceLeaders();
    }
    const idle: number[] = [];
    for (const c of clusters) idle.push(await idleCpu(c, 2000));
    process.stderr.write(
      `idle cpu (3 nodes, ${groups} groups): ${idle.map((x) => `${Math.round(x * 100)}%`).join(" / ")}\n`,
    );
    const perGroup = Math.max(1, Math.ceil(args.window / groups));
    // Runs alternate between the implementations so both see the same machine load.
    const tput: Summary[][] = impls.map(() => []);
    for (let i = 0; i < args.runs; i++) {
      for (let k = 0; k < impls.length; k++) {
        const s = await probed(() => clusters[k]!.closedLoop(perGroup, args.warmup, args.duration), idle[k]!);
        process.stderr.write(
          `throughput ${impls[k]!.name} groups=${groups} run ${i + 1}: ${JSON.stringify(s)}\n`,
        );
        tput[k]!.push(s);
      }
    }
    const t = tput.map(medianSummary);
    if (args.only === undefined || args.only === "throughput") report("throughput", groups, impls, t);
    if (args.only === undefined || args.only === "latency") {
      // Half of each implementation's own measured throughput (the target's "half load").
      const rates = t.map((m) => Math.max(1, Math.round(m.commitsPerSec / 2)));
      const lat: Summary[][] = impls.map(() => []);
      for (let i = 0; i < args.runs; i++) {
        for (let k = 0; k < impls.length; k++) {
          const s = await probed(
            () => clusters[k]!.openLoop(rates[k]!, args.warmup, args.duration),
            idle[k]!,
          );
          process.stderr.write(
            `latency ${impls[k]!.name} groups=${groups} rate=${rates[k]} run ${i + 1}: ${JSON.stringify(s)}\n`,
          );
          lat[k]!.push(s);
        }
      }
      report("latency", groups, impls, lat.map(medianSummary));
    }
  } finally {
    for (const c of clusters) await c.close();
  }
}

async function failoverScenario(args: Args, impls: readonly Impl[]): Promise<void> {
  for (const impl of impls) {
    const c = await BenchCluster.start(1, args.cpuProf, tuning(args), impl.script);
    try {
      const gaps: number[] = [];
      for (let i = 0; i < args.runs; i++) {
        const gap = await c.failoverOnce();
        process.stderr.write(`failover ${impl.name} run ${i + 1}: ${gap} ms\n`);
        gaps.push(gap);
      }
      const line = { scenario: "failover", gapMs: median(gaps) };
      console.log(JSON.stringify(impls.length > 1 ? { ...line, impl: impl.name } : line));
    } finally {
      await c.close();
    }
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const impls: Impl[] = [{ name: "current", script: NODE_SCRIPT }];
  if (args.baseline !== undefined) {
    impls.unshift({ name: "baseline", script: join(args.baseline, "bench/raft/node.ts") });
  }
  if (args.only === undefined || args.only === "storage") {
    for (const writers of [1, 3]) {
      const r = await storageCeiling(writers, { durationMs: args.duration });
      console.log(JSON.stringify({ scenario: "storage-ceiling", writers, ...r }));
    }
  }
  if (args.only === undefined || args.only === "throughput" || args.only === "latency") {
    for (const g of args.groups) await loadScenarios(args, impls, g);
  }
  if (args.only === undefined || args.only === "failover") await failoverScenario(args, impls);
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
