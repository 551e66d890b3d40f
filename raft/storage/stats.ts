/**
 * Counters of the storage layer, read by the host's metrics and by the Raft benchmark
 * (fsyncs per second and their latency are what group commit trades against).
 */

/** Summary of the most recent batch write latencies (one fsync each), in milliseconds. */
export interface LatencySummary {
  /** Samples in the window (at most {@link LATENCY_WINDOW}). */
  readonly count: number;
  readonly last: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export interface StorageStats {
  /** Batches written with `sync: true`, i.e. fsyncs. Equal to the number of LevelDB batch calls. */
  readonly flushes: number;
  /** Entries put (appends, live entries of installed snapshots). */
  readonly entriesWritten: number;
  /** Key + value bytes put. */
  readonly bytesWritten: number;
  /** LevelDB operations written (puts and deletes). */
  readonly opsWritten: number;
  /** Latency of the last {@link LATENCY_WINDOW} batch writes. */
  readonly fsyncMs: LatencySummary;
}

/** Size of the latency window: recent enough to follow load changes, large enough for a p99. */
export const LATENCY_WINDOW = 1024;

/** A ring buffer of latency samples. */
export class LatencyWindow {
  private readonly samples = new Float64Array(LATENCY_WINDOW);
  private n = 0;
  private lastSample = 0;

  record(ms: number): void {
    this.samples[this.n % LATENCY_WINDOW] = ms;
    this.n++;
    this.lastSample = ms;
  }

  summary(): LatencySummary {
    const count = Math.min(this.n, LATENCY_WINDOW);
    if (count === 0) return { count: 0, last: 0, mean: 0, p50: 0, p99: 0, max: 0 };
    const sorted = this.samples.slice(0, count).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    const at = (q: number) => sorted[Math.min(count - 1, Math.floor(q * count))] ?? 0;
    return {
      count,
      last: this.lastSample,
      mean: sum / count,
      p50: at(0.5),
      p99: at(0.99),
      max: sorted[count - 1] ?? 0,
    };
  }
}
