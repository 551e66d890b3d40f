/**
 * The deterministic state machine every simulated node runs: a hash chain over the applied
 * entries plus a set of "live" indexes, the simulator's stand-in for a queue that keeps the
 * bodies of unsettled messages in the log.
 *
 * Equal hashes at an index mean equal applied histories up to it, so comparing one number per
 * index checks state machine safety, and a snapshot restore can be checked the same way.
 * Every `liveEvery`-th index holding a client command becomes live; later commands settle live
 * indexes out of order (decided by a hash of both indexes), so snapshots name a changing,
 * sparse set of live entries below their index, as Ra v3's live indexes do.
 */
import type { Entry } from "../core/types.js";

/** The machine's whole state; small, so snapshots carry it as JSON. */
export interface MachineState {
  readonly index: number;
  readonly term: number;
  readonly hash: number;
  /** Client commands applied so far. */
  readonly count: number;
  /** Live indexes, ascending. */
  readonly live: readonly number[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** FNV-1a style mixing of one 32-bit value into a hash. */
export function mix(h: number, v: number): number {
  let x = (h ^ (v >>> 0)) >>> 0;
  x = Math.imul(x, 0x01000193) >>> 0;
  x ^= x >>> 15;
  return Math.imul(x, 0x2c1b3c6d) >>> 0;
}

/** Hash of an entry's identity and payload (what state machine safety compares). */
export function entryDigest(e: Entry): number {
  let h = mix(mix(mix(0x811c9dc5, e.index), e.term), e.type);
  for (let i = 0; i < e.data.length; i++) h = mix(h, e.data[i] as number);
  return mix(h, e.data.length);
}

export class SimMachine {
  private index = 0;
  private term = 0;
  private hash = 0x811c9dc5;
  private count = 0;
  private live = new Set<number>();

  /** @param liveEvery every this-many-th index holding a client command becomes live (0 = never). */
  constructor(private readonly liveEvery: number) {}

  get appliedIndex(): number {
    return this.index;
  }

  get state(): MachineState {
    return {
      index: this.index,
      term: this.term,
      hash: this.hash,
      count: this.count,
      live: [...this.live].sort((a, b) => a - b),
    };
  }

  /**
   * Applies one committed entry (client command, no-op or configuration change) and returns
   * the hash after it. Entries must come in index order with no gap: a gap is a core bug.
   */
  apply(e: Entry, isCommand: boolean): number {
    if (e.index !== this.index + 1) {
      throw new Error(`machine at ${this.index} asked to apply index ${e.index}`);
    }
    this.index = e.index;
    this.term = e.term;
    this.hash = mix(this.hash, entryDigest(e));
    if (isCommand) {
      this.count++;
      for (const j of [...this.live]) if (mix(j, e.index) % 5 === 0) this.live.delete(j);
      if (this.liveEvery > 0 && e.index % this.liveEvery === 0) this.live.add(e.index);
    }
    return this.hash;
  }

  /** Serialized state for a snapshot at the current index. */
  snapshotData(): Uint8Array {
    return encoder.encode(JSON.stringify(this.state));
  }

  /** Replaces the state with a snapshot's. Returns the decoded state for the caller's checks. */
  restore(data: Uint8Array): MachineState {
    const s = decodeMachineState(data);
    this.index = s.index;
    this.term = s.term;
    this.hash = s.hash;
    this.count = s.count;
    this.live = new Set(s.live);
    return s;
  }

  /** Back to the empty state (a node restarting without a snapshot). */
  reset(): void {
    this.index = 0;
    this.term = 0;
    this.hash = 0x811c9dc5;
    this.count = 0;
    this.live = new Set();
  }
}

/** Decodes snapshot data written by {@link SimMachine.snapshotData}; the bootstrap snapshot's empty data is the empty state. */
export function decodeMachineState(data: Uint8Array): MachineState {
  if (data.length === 0) return { index: 0, term: 0, hash: 0x811c9dc5, count: 0, live: [] };
  return JSON.parse(decoder.decode(data)) as MachineState;
}

/**
 * The payload of client command number `seq` (unique per run, so duplicates are visible),
 * optionally padded so entries of different sizes meet `maxSizePerMsg` limits.
 */
export function commandData(seq: number, padding = 0): Uint8Array {
  return encoder.encode(padding > 0 ? `c${seq}:${"x".repeat(padding)}` : `c${seq}`);
}

/** Human-readable payload for traces. */
export function describeData(data: Uint8Array): string {
  if (data.length === 0) return "noop";
  const s = decoder.decode(data);
  return /^[\x20-\x7e]*$/.test(s) ? s : `${data.length}B`;
}
