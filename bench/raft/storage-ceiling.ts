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
 * With `rate` (entries/s per writer) a writer runs an open loop instead: entries arrive at that
 * fixed rate whatever the disk does (as proposals at "half load" do), are staged every
 * millisecond spread over the groups, and each entry's latency is measured from its arrival to
 * the flush that made it durable, so a stall counts for every entry that queued behind it.
 *
 * Run from run.ts (`--only storage`), or alone:
 * `tsx bench/raft/storage-ceiling.ts [--writers 1,3] [--duration ms] [--rate n]
 *  [--write-buffer-mib n] [--max-file-mib n] [--no-defer] [--keep dir]` (see `parseCli`).
 * With `--writer <json>` it is one writer process (internal).
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Entry } from "../../raft/core/types.js";
import { NodeStorage, type NodeStorageOptions } from "../../raft/storage/index.js";

/** What a caller can vary; everything has the default of the bench:raft scenario. */
export interface CeilingOptions {
  groups?: number;
  perGroup?: number;
  durationMs?: number;
  /** Entries per second per writer in an open loop; 0 or absent: closed loop (as fast as it goes). */
  rate?: number;
  /** LevelDB memtable size (NodeStorage `writeBufferBytes`), MiB. */
  writeBufferMiB?: number;
  /** LevelDB table file size (NodeStorage `maxFileBytes`), MiB. */
  maxFileMiB?: number;
  /** NodeStorage `deferFileDeletion` (default true); false leaves file deletion to LevelDB. */
  deferFileDeletion?: boolean;
  /** Keep the databases under this directory (to read LevelDB's LOG) instead of a temp dir. */
  keepDir?: string;
}

interface WriterConfig {
  readonly dir: string;
  readonly groups: number;
  readonly perGroup: number;
  readonly durationMs: number;
  readonly rate: number;
  readonly storage: NodeStorageOptions;
}

export interface CeilingResult {
  /** Entries made durable per second, per writer (median writer). */
  entriesPerSec: number;
  /** Batch write latency (LevelDB write with sync: true) over all writers. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Open loop only: arrival of an entry to the end of the flush that covers it. */
  entryP50Ms?: number;
  entryP99Ms?: number;
  entryMaxMs?: number;
  /** CPU of a writer process (all its threads) per entry, microseconds. */
  cpuUsPerEntry: number;
  /**
   * Bytes the writer processes sent to the block device per entry (`/proc/self/io`
   * write_bytes: LevelDB's log, its tables and their compactions). Over the ~1.1 KiB an entry
   * and its key take, this is LevelDB's write amplification; every byte of it is also
   * discarded again when its file is deleted. Absent where /proc is not readable.
   */
  diskBytesPerEntry?: number;
}

interface WriterResult {
  entries: number;
  seconds: number;
  cpuUs: number;
  latencies: number[];
  entryLatencies: number[];
  diskBytes: number | undefined;
}

const SNAPSHOT_EVERY = 4096;
const TRAILING = 512;
const MiB = 1024 * 1024;

/** Bytes this process caused to be written to storage so far, or undefined off Linux. */
function diskWriteBytes(): number | undefined {
  try {
    const m = /^write_bytes: (\d+)$/m.exec(readFileSync("/proc/self/io", "utf8"));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The writes of one batch for groups `g`: `n` entries, and a compaction every 4096 of them. */
class Workload {
  private readonly data = randomBytes(1024 + 16); // a 1 KiB command plus the host's [time, command]
  private readonly last: number[];
  entries = 0;

  constructor(
    private readonly storage: NodeStorage,
    groups: number,
  ) {
    this.last = new Array<number>(groups).fill(0);
  }

  stage(g: number, n: number): void {
    const from = this.last[g]! + 1;
    const batch: Entry[] = [];
    for (let i = 0; i < n; i++) batch.push({ index: from + i, term: 1, type: 0, data: this.data });
    this.storage.stage(`g${g}`, { entries: batch, hardState: { term: 1, vote: "n1", commit: from - 1 } });
    const last = from + n - 1;
    this.last[g] = last;
    const snapAt = Math.floor(last / SNAPSHOT_EVERY) * SNAPSHOT_EVERY - TRAILING;
    if (snapAt > 0 && Math.floor(from / SNAPSHOT_EVERY) !== Math.floor(last / SNAPSHOT_EVERY)) {
      this.storage.stageCompact(`g${g}`, {
        meta: { index: snapAt, term: 1, conf: { voters: ["n1", "n2", "n3"], learners: [] } },
        data: new Uint8Array(8),
        live: [],
      });
    }
    this.entries += n;
  }
}

/** Closed loop: one batch of groups x perGroup, await its flush, repeat. */
async function closedLoop(storage: NodeStorage, w: Workload, cfg: WriterConfig, latencies: number[]) {
  const t0 = performance.now();
  while (performance.now() - t0 < cfg.durationMs) {
    for (let g = 0; g < cfg.groups; g++) w.stage(g, cfg.perGroup);
    const s = performance.now();
    await storage.flush();
    latencies.push(performance.now() - s);
  }
}

/**
 * Open loop: every millisecond, stage the entries that arrived since the last tick (entry k
 * arrives at t0 + k / rate, round-robin over the groups) and flush; a flush while a batch is
 * in flight coalesces into the next one, as the host's loop does.
 */
async function openLoop(
  storage: NodeStorage,
  w: Workload,
  cfg: WriterConfig,
  latencies: number[],
  entryLatencies: number[],
): Promise<void> {
  const t0 = performance.now();
  const perMs = cfg.rate / 1000;
  let issued = 0;
  let flushes = 0;
  const pending: Promise<void>[] = [];
  const counts = new Array<number>(cfg.groups).fill(0);
  while (performance.now() - t0 < cfg.durationMs) {
    const due = Math.floor((performance.now() - t0) * perMs);
    if (due > issued) {
      counts.fill(0);
      for (let k = issued; k < due; k++) counts[k % cfg.groups]!++;
      for (let g = 0; g < cfg.groups; g++) if (counts[g]! > 0) w.stage(g, counts[g]!);
      const first = issued;
      issued = due;
      pending.push(
        storage.flush().then(() => {
          const done = performance.now();
          for (let k = first; k < due; k++) entryLatencies.push(done - (t0 + k / perMs));
          // The batch that just became durable is the last one LevelDB finished.
          const s = storage.stats();
          if (s.flushes > flushes) latencies.push(s.fsyncMs.last);
          flushes = s.flushes;
        }),
      );
      if (pending.length > 4096) await Promise.all(pending.splice(0));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
}

async function writer(cfg: WriterConfig): Promise<WriterResult> {
  const storage = await NodeStorage.open(cfg.dir, cfg.storage);
  const w = new Workload(storage, cfg.groups);
  const latencies: number[] = [];
  const entryLatencies: number[] = [];
  const disk0 = diskWriteBytes();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  if (cfg.rate > 0) await openLoop(storage, w, cfg, latencies, entryLatencies);
  else await closedLoop(storage, w, cfg, latencies);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const disk1 = diskWriteBytes();
  await storage.close();
  return {
    entries: w.entries,
    seconds,
    cpuUs: cpu.user + cpu.system,
    latencies,
    entryLatencies,
    diskBytes: disk0 !== undefined && disk1 !== undefined ? disk1 - disk0 : undefined,
  };
}

function quantiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

const round = (x: number) => Math.round(x * 100) / 100;

/** Runs `writers` writer processes at once and merges their results. */
export async function storageCeiling(writers: number, opts: CeilingOptions = {}): Promise<CeilingResult> {
  const root = opts.keepDir ?? (await mkdtemp(join(tmpdir(), "warren-bench-storage-")));
  const script = fileURLToPath(import.meta.url);
  const storage: NodeStorageOptions = {
    ...(opts.writeBufferMiB !== undefined ? { writeBufferBytes: opts.writeBufferMiB * MiB } : {}),
    ...(opts.maxFileMiB !== undefined ? { maxFileBytes: opts.maxFileMiB * MiB } : {}),
    ...(opts.deferFileDeletion !== undefined ? { deferFileDeletion: opts.deferFileDeletion } : {}),
  };
  try {
    const results = await Promise.all(
      Array.from({ length: writers }, (_, k) => {
        const cfg: WriterConfig = {
          dir: join(root, `w${k}`),
          groups: opts.groups ?? 64,
          perGroup: opts.perGroup ?? 6,
          durationMs: opts.durationMs ?? 5000,
          rate: opts.rate ?? 0,
          storage,
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
    const batch = quantiles(results.flatMap((r) => r.latencies));
    const rates = results.map((r) => r.entries / r.seconds).sort((a, b) => a - b);
    const entries = results.reduce((n, r) => n + r.entries, 0);
    const out: CeilingResult = {
      entriesPerSec: Math.round(rates[Math.floor((rates.length - 1) / 2)] ?? 0),
      p50Ms: round(batch.p50),
      p99Ms: round(batch.p99),
      maxMs: round(batch.max),
      cpuUsPerEntry: round(results.reduce((n, r) => n + r.cpuUs, 0) / Math.max(1, entries)),
    };
    if ((opts.rate ?? 0) > 0) {
      const e = quantiles(results.flatMap((r) => r.entryLatencies));
      out.entryP50Ms = round(e.p50);
      out.entryP99Ms = round(e.p99);
      out.entryMaxMs = round(e.max);
    }
    if (results.every((r) => r.diskBytes !== undefined)) {
      out.diskBytesPerEntry = Math.round(
        results.reduce((n, r) => n + (r.diskBytes ?? 0), 0) / Math.max(1, entries),
      );
    }
    return out;
  } finally {
    if (opts.keepDir === undefined) await rm(root, { recursive: true, force: true });
  }
}

/** The standalone command line: which writer counts to run and the CeilingOptions. */
function parseCli(argv: string[]): { writers: number[]; opts: CeilingOptions } {
  const { values } = parseArgs({
    args: argv,
    options: {
      writers: { type: "string", default: "1,3" },
      duration: { type: "string" },
      rate: { type: "string" },
      groups: { type: "string" },
      "per-group": { type: "string" },
      "write-buffer-mib": { type: "string" },
      "max-file-mib": { type: "string" },
      keep: { type: "string" },
      "no-defer": { type: "boolean" },
    },
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const opts: CeilingOptions = {};
  const set = <K extends keyof CeilingOptions>(k: K, v: CeilingOptions[K] | undefined) => {
    if (v !== undefined) opts[k] = v;
  };
  set("durationMs", num(values.duration));
  set("rate", num(values.rate));
  set("groups", num(values.groups));
  set("perGroup", num(values["per-group"]));
  set("writeBufferMiB", num(values["write-buffer-mib"]));
  set("maxFileMiB", num(values["max-file-mib"]));
  set("keepDir", values.keep);
  if (values["no-defer"]) opts.deferFileDeletion = false;
  return { writers: values.writers.split(",").map(Number), opts };
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
  const { writers, opts } = parseCli(process.argv.slice(2));
  for (const n of writers) {
    const r = await storageCeiling(
      n,
      opts.keepDir ? { ...opts, keepDir: join(opts.keepDir, `x${n}`) } : opts,
    );
    const mode = (opts.rate ?? 0) > 0 ? { mode: "open", rate: opts.rate } : { mode: "closed" };
    console.log(JSON.stringify({ scenario: "storage-ceiling", writers: n, ...mode, ...r }));
  }
}
