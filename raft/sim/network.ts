/**
 * The simulated network between nodes: cut links (partitions, one-way), random loss,
 * duplication, delay and reordering, all decided by the run's seeded PRNG.
 *
 * The network decides *when* (if ever) a message sent at time `now` arrives; the simulator
 * owns the clock and schedules the deliveries. Raft must be safe under any of these faults
 * (the paper assumes an asynchronous network that may lose, delay, duplicate and reorder), and
 * live once they stop.
 */
import type { NodeId } from "../core/types.js";
import type { Prng } from "./prng.js";

/** Probabilities (0..1) and delay bounds (in clock units) applied to every message. */
export interface NetworkConditions {
  /** Chance a message is lost. */
  readonly drop: number;
  /** Chance a delivered message arrives twice (the copy with its own delay). */
  readonly duplicate: number;
  /**
   * Chance a message may overtake earlier ones on its link. Otherwise links are FIFO,
   * as a TCP connection is: the message never arrives before the previous one on the link.
   */
  readonly reorder: number;
  /** Minimum and maximum one-way latency, inclusive. */
  readonly minDelay: number;
  readonly maxDelay: number;
}

/** No faults: what the network looks like once everything is healed. */
export const CALM: NetworkConditions = { drop: 0, duplicate: 0, reorder: 0, minDelay: 1, maxDelay: 4 };

/** What happens to one sent message. */
export type Verdict =
  | { readonly kind: "deliver"; readonly times: readonly number[] }
  | { readonly kind: "dropped"; readonly reason: "cut" | "loss" };

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}

export class SimNetwork {
  private conditions: NetworkConditions;
  /** Directed links that carry nothing (`from>to`). A partition is a set of cut links. */
  private readonly cutLinks = new Set<string>();
  /** Latest scheduled arrival per directed link, for FIFO delivery. */
  private readonly lastArrival = new Map<string, number>();

  constructor(
    private readonly rng: Prng,
    conditions: NetworkConditions = CALM,
  ) {
    this.conditions = conditions;
  }

  get current(): NetworkConditions {
    return this.conditions;
  }

  setConditions(conditions: NetworkConditions): void {
    if (conditions.minDelay < 0 || conditions.maxDelay < conditions.minDelay) {
      throw new RangeError(`bad delay bounds [${conditions.minDelay}, ${conditions.maxDelay}]`);
    }
    this.conditions = conditions;
  }

  /** Cuts the directed link from -> to (a one-way fault: to -> from still works). */
  cut(from: NodeId, to: NodeId): void {
    this.cutLinks.add(linkKey(from, to));
  }

  /** Restores the directed link from -> to. */
  restore(from: NodeId, to: NodeId): void {
    this.cutLinks.delete(linkKey(from, to));
  }

  /** Cuts every link between nodes of different groups. Nodes in no group are left as they are. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        for (const a of groups[i] ?? []) for (const b of groups[j] ?? []) this.cut(a, b);
      }
    }
  }

  /** Cuts a node off from every listed peer, both ways. */
  isolate(node: NodeId, peers: readonly NodeId[]): void {
    for (const p of peers) {
      if (p === node) continue;
      this.cut(node, p);
      this.cut(p, node);
    }
  }

  /** Restores every link. Conditions (loss, delay) are unchanged; see {@link setConditions}. */
  heal(): void {
    this.cutLinks.clear();
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.cutLinks.has(linkKey(from, to));
  }

  /** The cut links, sorted, for traces. */
  describeCuts(): string {
    return this.cutLinks.size === 0 ? "none" : [...this.cutLinks].sort().join(" ");
  }

  /** Decides the fate of one message sent from -> to at time `now`. Consumes PRNG draws. */
  route(from: NodeId, to: NodeId, now: number): Verdict {
    if (this.cutLinks.has(linkKey(from, to))) return { kind: "dropped", reason: "cut" };
    const c = this.conditions;
    if (c.drop > 0 && this.rng.chance(c.drop)) return { kind: "dropped", reason: "loss" };
    const first = this.arrival(from, to, now);
    if (c.duplicate > 0 && this.rng.chance(c.duplicate)) {
      return { kind: "deliver", times: [first, this.arrival(from, to, now)] };
    }
    return { kind: "deliver", times: [first] };
  }

  private arrival(from: NodeId, to: NodeId, now: number): number {
    const c = this.conditions;
    let t = now + this.rng.range(c.minDelay, c.maxDelay);
    const key = linkKey(from, to);
    const overtake = c.reorder > 0 && this.rng.chance(c.reorder);
    if (!overtake) {
      // FIFO: never arrive before what was sent earlier on this link.
      t = Math.max(t, this.lastArrival.get(key) ?? 0);
    }
    if (t > (this.lastArrival.get(key) ?? 0)) this.lastArrival.set(key, t);
    return t;
  }
}
