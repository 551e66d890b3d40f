/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32).
 *
 * Every random choice of a simulation run comes from one `Prng` built from the run's integer
 * seed, or from a `fork()` of it, so the same seed replays the same run bit for bit. Nothing in
 * `raft/sim` may call `Math.random()`; the Raft cores get a forked generator's `float` as their
 * `RaftConfig.random`.
 */

/** splitmix32: spreads a possibly small seed over 32 bits so nearby seeds give unrelated streams. */
function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Seeded generator. Not cryptographic; chosen for speed and for a 2^128 - 1 period. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** @param seed any integer (negative and large values are folded into 32 bits). */
  constructor(seed: number) {
    const mix = splitmix32(seed | 0);
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    // The all-zero state is the one fixed point of xoshiro; splitmix never yields four zeros,
    // but guard anyway since a stuck generator would silently make runs non-random.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A float in [0, 1). Bound as an arrow so it can be handed out as `RaftConfig.random`. */
  readonly float = (): number => this.nextU32() / 4294967296;

  /** An integer in [0, n). `n` must be a positive integer below 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** An integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** A uniformly chosen element; throws on an empty array (a caller bug, never a run outcome). */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Prng.pick on an empty array");
    return items[this.int(items.length)] as T;
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  /** An independent generator derived from this one (consumes one draw of this stream). */
  fork(): Prng {
    return new Prng(this.nextU32() | 0);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
