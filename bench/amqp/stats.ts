/**
 * Statistics of the AMQP benchmark: percentiles of latency samples and medians over runs. Pure.
 */

/** Nearest-rank percentile (p in [0, 100]) of samples sorted ascending; NaN for no samples. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  // The epsilon keeps 99.9% of 1,000 at rank 999 despite binary floating point.
  const rank = Math.ceil((p * sorted.length) / 100 - 1e-9);
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Sorts a copy (Float64Array sort is numeric) and reads the percentiles the benchmark reports. */
export function summarize(samples: ArrayLike<number>): LatencySummary {
  const s = Float64Array.from(samples as ArrayLike<number>).sort();
  return {
    count: s.length,
    p50: percentileSorted(s, 50),
    p99: percentileSorted(s, 99),
    p999: percentileSorted(s, 99.9),
    max: s.length > 0 ? s[s.length - 1]! : Number.NaN,
  };
}

/** Median; for an even count the mean of the two middle values. NaN for an empty list. */
export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Longest interval between consecutive timestamps (ascending), including from `from` and to `to`. */
export function longestGap(times: readonly number[], from: number, to: number): number {
  let prev = from;
  let gap = 0;
  for (const t of times) {
    if (t < from) continue;
    if (t > to) break;
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return Math.max(gap, to - prev);
}

/** Rounds for printing: 2 decimals below 100, integers above. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  return Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100;
}

/** Medians of every numeric field over runs that share a shape. */
export function medianFields<T extends Record<string, number>>(runs: readonly T[]): T {
  const out: Record<string, number> = {};
  const first = runs[0];
  if (first === undefined) return out as T;
  for (const k of Object.keys(first)) out[k] = round(median(runs.map((r) => r[k]!)));
  return out as T;
}
