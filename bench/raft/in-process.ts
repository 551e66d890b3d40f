/**
 * A three-node cluster in ONE process (raft/host/test's TestCluster: real TCP on loopback,
 * real LevelDB) proposing N commands of ~1 KiB over G groups with W outstanding (default 256;
 * bench:raft keeps 1024), then exiting. Meant for `perf stat -e instructions:u`, whose counts the neighbours of a shared
 * machine barely move (unlike wall time or CPU time):
 *
 *   perf stat -e instructions:u npx tsx bench/raft/in-process.ts 20000 8   # N commits, G groups [W]
 *   perf stat -e instructions:u npx tsx bench/raft/in-process.ts 0 8       # start-up only
 *
 * (instructions(N) - instructions(0)) / N is the whole cluster's work per commit. BENCH_ROOT
 * runs another checkout's code (e.g. a `git worktree` of the baseline) for a same-run A/B.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = process.env.BENCH_ROOT ?? resolve(fileURLToPath(import.meta.url), "../../..");
const total = Number(process.argv[2] ?? 0);
const groupCount = Number(process.argv[3] ?? 1);
const WINDOW = Number(process.argv[4] ?? 256);

const { TestCluster } = (await import(
  `${root}/raft/host/test/cluster.ts`
)) as typeof import("../../raft/host/test/cluster.js");
const cluster = await TestCluster.start(["n1", "n2", "n3"]);
const groups = Array.from({ length: groupCount }, (_, i) => `g${i}`);
for (const g of groups) await cluster.createGroup(g);
const body = "x".repeat(1000);
let sent = 0;
async function worker(): Promise<void> {
  while (sent < total) {
    const i = sent++;
    await cluster.propose(groups[i % groupCount]!, { v: `${body}${i}` });
  }
}
await Promise.all(Array.from({ length: WINDOW }, () => worker()));
await cluster.close();
process.exit(0);
