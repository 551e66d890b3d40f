/**
 * The storage ceiling of a bench:raft run: what `NodeStorage` alone (no Raft, no network)
 * sustains when 1 and then 3 processes write at once, as the three bench nodes do on one
 * machine and one disk. Each writer stages `groups` groups x `perGroup` entries of 1 KiB per
 * batch (about what group commit builds under the throughput scenario), awaits the synced
 * flush, and repeats; every 4096 entries a group is compacted (a snapshot plus deletes), as
 * the host does. A Raft commit costs one such entry on each of the three nodes, so the
 * per-writer rate with 3 writers bounds commits/s, and the batch-write p99 bounds the commit
 * latency p99.
 *
 * Run from run.ts (`--only storage`), or alone: `tsx bench/raft/storage-ceiling.ts`.
 * With `--writer <json>` it is one writer process (internal).
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Entry } from "../../raft/core/types.js";
import { NodeStorage } from "../../raft/storage/index.js";

interface WriterConfig {
  readonly dir: string;
  readonly groups: number;
  readonly perGroup: number;
  readonly durationMs: number;
}

export interface CeilingResult {
  /** Entries made durable per second, per writer (median writer). */
  entriesPerSec: number;
  /** Batch write latency (LevelDB write with sync: true) over all writers. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU of a writer process (all its threads) per entry, microseconds. */
  cpuUsPerEntry: number;
}

interface WriterResult {
  entries: number;
  seconds: number;
  cpuUs: number;
  latencies: number[];
}

const SNAPSHOT_EVERY = 4096;
const TRAILING = 512;

async function writer(cfg: WriterConfig): Promise<WriterResult> {
  const storage = await NodeStorage.open(cfg.dir);
  const data = randomBytes(1024 + 16); // a 1 KiB command plus the host's [time, command] framing
  const last = new Array<number>(cfg.groups).fill(0);
  const latencies: number[] = [];
  let entries = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() - t0 < cfg.durationMs) {
    for (let g = 0; g < cfg.groups; g++) {
      const from = last[g]! + 1;
      const batch: Entry[] = [];
      for (let i = 0; i < cfg.perGroup; i++) batch.push({ index: from + i, term: 1, type: 0, data });
      storage.stage(`g${g}`, { entries: batch, hardState: { term: 1, vote: "n1", commit: from - 1 } });
      last[g] = from + cfg.perGroup - 1;
      const snapAt = Math.floor(last[g]! / SNAPSHOT_EVERY) * SNAPSHOT_EVERY - TRAILING;
      if (snapAt > 0 && Math.floor(from / SNAPSHOT_EVERY) !== Math.floor(last[g]! / SNAPSHOT_EVERY)) {
        storage.stageCompact(`g${g}`, {
          meta: { index: snapAt, term: 1, conf: { voters: ["n1", "n2", "n3"], learners: [] } },
          data: new Uint8Array(8),
          live: [],
        });
      }
      entries += cfg.perGroup;
    }
    const s = performance.now();
    await storage.flush();
    latencies.push(performance.now() - s);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await storage.close();
  return { entries, seconds, cpuUs: cpu.user + cpu.system, latencies };
}

/** Runs `writers` writer processes at once and merges their results. */
export async function storageCeiling(
  writers: number,
  opts: { groups?: number; perGroup?: number; durationMs?: number } = {},
): Promise<CeilingResult> {
  const root = await mkdtemp(join(tmpdir(), "warren-bench-storage-"));
  const script = fileURLToPath(import.meta.url);
  try {
    const results = await Promise.all(
      Array.from({ length: writers }, (_, k) => {
        const cfg: WriterConfig = {
          dir: join(root, `w${k}`),
          groups: opts.groups ?? 64,
          perGroup: opts.perGroup ?? 6,
          durationMs: opts.durationMs ?? 5000,
        };
        return new Promise<WriterResult>((resolve, reject) => {
          const child = fork(script, ["--writer", JSON.stringify(cfg)], {
            execArgv: ["--import", "tsx"],
            stdio: ["ignore", "inherit", "inherit", "ipc"],
          });
          child.once("message", (m) => resolve(m as WriterResult));
          child.once("exit", (code) => {
            if (code !== 0) reject(new Error(`storage writer exited with ${code}`));
          });
        });
      }),
    );
    const lat = results.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const at = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? 0;
    const rates = results.map((r) => r.entries / r.seconds).sort((a, b) => a - b);
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      entriesPerSec: Math.round(rates[Math.floor((rates.length - 1) / 2)] ?? 0),
      p50Ms: round(at(0.5)),
      p99Ms: round(at(0.99)),
      maxMs: round(lat[lat.length - 1] ?? 0),
      cpuUsPerEntry: round(
        results.reduce((n, r) => n + r.cpuUs, 0) /
          Math.max(
            1,
            results.reduce((n, r) => n + r.entries, 0),
          ),
      ),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

const writerArg = process.argv.indexOf("--writer");
if (writerArg >= 0) {
  writer(JSON.parse(process.argv[writerArg + 1] ?? "{}") as WriterConfig).then(
    (r) => process.send?.(r, () => process.exit(0)),
    (err: Error) => {
      process.stderr.write(`storage writer failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const writers of [1, 3]) {
    const r = await storageCeiling(writers);
    console.log(JSON.stringify({ scenario: "storage-ceiling", writers, ...r }));
  }
}
