/**
 * The ring behind `x-consistent-hash`. The binding key is a weight, as the plugin; a destination
 * of weight w owns w x POINTS_PER_WEIGHT points on a 32-bit ring and a message's hash picks the
 * first point at or after it, wrapping around. Many points per unit of weight keep each
 * destination's share within a few percent of weight/total (one point per unit would leave
 * shares to the luck of a handful of arcs). Because a destination's points depend only on its own identity,
 * adding or removing one moves only the keys that fall on its points (about weight/total of
 * them), and every node computes the same ring from the same bindings.
 *
 * The plugin uses jump consistent hashing over numbered buckets instead; removing a binding
 * there renumbers the buckets after it and moves more keys. Which queue a given key lands on
 * differs from RabbitMQ either way (it hashes with erlang:phash2); the guarantees are the same.
 */
import { murmur3Bytes, murmur3String } from "./murmur3.js";

/** Ring points per unit of binding weight. Changing it moves keys between queues. */
export const POINTS_PER_WEIGHT = 128;

/**
 * A binding's weight counts at most this much, so a typo cannot allocate billions of points.
 * Larger binding keys are accepted (RabbitMQ accepts any positive integer) and count as this.
 */
export const MAX_CONSISTENT_HASH_WEIGHT = 1_000;

/** Parse a binding key as the plugin does: a decimal integer >= 1. Returns an error text if not. */
export function parseWeight(key: string): number | string {
  if (!/^[+-]?\d+$/.test(key)) return `The binding key must be an integer: "${key}"`;
  const w = Number(key);
  if (w < 1) return "The binding key must be greater than 0";
  return w;
}

interface Point<T> {
  readonly hash: number;
  readonly id: string;
  readonly index: number;
  readonly value: T;
}

function comparePoints<T>(a: Point<T>, b: Point<T>): number {
  if (a.hash !== b.hash) return a.hash - b.hash;
  // Hash collisions are broken by identity so every node orders the ring the same way.
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return a.index - b.index;
}

export class HashRing<T> {
  private points: Point<T>[] = [];
  private readonly members = new Map<string, number>();

  get size(): number {
    return this.members.size;
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  weightOf(id: string): number {
    return this.members.get(id) ?? 0;
  }

  /**
   * Give `id` a total weight of `weight` (replacing any previous one). Its points depend only on
   * `id` and the point index, so the ring is a function of the current members, whatever the
   * order they were added in. O(points): the ring is one sorted array.
   */
  set(id: string, weight: number, value: T): void {
    if (this.members.has(id)) this.remove(id);
    if (weight <= 0) return;
    this.members.set(id, weight);
    const fresh: Point<T>[] = [];
    const count = weight * POINTS_PER_WEIGHT;
    for (let i = 0; i < count; i++)
      fresh.push({ hash: murmur3String(id + "\u0000" + i), id, index: i, value });
    fresh.sort(comparePoints);
    // Merge two sorted arrays.
    const merged: Point<T>[] = new Array(this.points.length + fresh.length);
    let a = 0;
    let b = 0;
    let o = 0;
    while (a < this.points.length && b < fresh.length) {
      merged[o++] = comparePoints(this.points[a]!, fresh[b]!) <= 0 ? this.points[a++]! : fresh[b++]!;
    }
    while (a < this.points.length) merged[o++] = this.points[a++]!;
    while (b < fresh.length) merged[o++] = fresh[b++]!;
    this.points = merged;
  }

  remove(id: string): boolean {
    if (!this.members.delete(id)) return false;
    this.points = this.points.filter((p) => p.id !== id);
    return true;
  }

  /** The owner of the first point at or after the hash of `key`; undefined on an empty ring. */
  lookup(key: string | Uint8Array): T | undefined {
    const n = this.points.length;
    if (n === 0) return undefined;
    const h = typeof key === "string" ? murmur3String(key) : murmur3Bytes(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]!.hash < h) lo = mid + 1;
      else hi = mid;
    }
    return this.points[lo === n ? 0 : lo]!.value;
  }
}
