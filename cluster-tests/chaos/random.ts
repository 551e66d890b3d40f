/**
 * The chaos suite's only randomness: a seeded generator (mulberry32), and the seed itself, taken
 * from CHAOS_SEED when set (to replay a run) or drawn once per process and printed.
 */

/** A deterministic generator of numbers in [0, 1) from a 32-bit seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** CHAOS_SEED when it is an integer, else a fresh seed. */
export function chaosSeed(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const raw = env.CHAOS_SEED;
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`CHAOS_SEED must be a non-negative integer, got ${raw}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 31);
}

/** Long mode (npm run test:chaos): longer phases and a randomised schedule. */
export const LONG = process.env.CHAOS_LONG === "1";

/** Pick one element with `random`. */
export function pick<T>(random: () => number, xs: readonly T[]): T {
  const x = xs[Math.floor(random() * xs.length)];
  if (x === undefined) throw new Error("pick from an empty list");
  return x;
}
