/**
 * An in-process network of RawNodes for tests (etcd's `network` in raft_test.go): each node
 * has a MemoryStorage that plays the durable disk; `stabilize()` runs every node's Ready loop
 * (persist -> send -> apply -> advance) and delivers messages until nothing moves.
 *
 * Faults: `cut(a, b)` drops traffic between two nodes, `isolate(a)` cuts a node off,
 * `drop(type)` drops a message type, `filter` drops anything a predicate rejects, and
 * `hold(id)` stops a node's Ready loop (its disk "does not finish") until `release(id)`.
 */
import { decodeConfChange } from "../confchange/codec.js";
import { type RaftConfig, RawNode } from "../raw-node.js";
import { MemoryStorage } from "../storage.js";
import type { ConfState, Entry, Message, MessageType, NodeId, ReadState, Snapshot } from "../types.js";
import { EntryType, Role } from "../types.js";

/** A deterministic PRNG (mulberry32) so elections are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface TestNode {
  readonly id: NodeId;
  node: RawNode;
  readonly storage: MemoryStorage;
  /** Normal entries applied, in order (the state machine). */
  readonly applied: Entry[];
  readonly readStates: ReadState[];
  /** Messages this node sent, for inspection. */
  readonly sent: Message[];
  /** Snapshots received from a leader and installed. */
  readonly snapshots: Snapshot[];
}

export type NodeOptions = Partial<Omit<RaftConfig, "id">>;

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly cuts = new Set<string>();
  private readonly dropped = new Set<MessageType>();
  private readonly held = new Set<NodeId>();
  /** Return false to drop a message. */
  filter: ((m: Message) => boolean) | undefined;
  /** Messages in flight (delivered by deliver()/stabilize()). */
  queue: Message[] = [];

  constructor(
    voters: readonly NodeId[],
    private readonly opts: NodeOptions = {},
    learners: readonly NodeId[] = [],
  ) {
    let seed = 1;
    for (const id of [...voters, ...learners])
      this.add(id, { voters: [...voters], learners: [...learners] }, seed++);
  }

  /** Adds a node with the given initial configuration (empty for a node joining later). */
  add(
    id: NodeId,
    conf: ConfState,
    seed = this.nodes.size + 1,
    extra: NodeOptions = {},
    storage: MemoryStorage = new MemoryStorage(conf),
  ): TestNode {
    const node = new RawNode(config(id, { ...this.opts, ...extra }, seed), storage);
    const t: TestNode = { id, node, storage, applied: [], readStates: [], sent: [], snapshots: [] };
    this.nodes.set(id, t);
    return t;
  }

  /** Restarts `id` from its storage (a crash loses nothing: MemoryStorage is the disk). */
  restart(id: NodeId, extra: NodeOptions = {}): void {
    const t = this.get(id);
    const applied = t.node.status().applied;
    t.node = new RawNode(config(id, { ...this.opts, applied, ...extra }, 99), t.storage);
  }

  get(id: NodeId): TestNode {
    const t = this.nodes.get(id);
    if (!t) throw new Error(`no node ${id}`);
    return t;
  }

  raw(id: NodeId): RawNode {
    return this.get(id).node;
  }

  cut(a: NodeId, b: NodeId): void {
    this.cuts.add(`${a}>${b}`);
    this.cuts.add(`${b}>${a}`);
  }

  isolate(a: NodeId): void {
    for (const b of this.nodes.keys()) if (b !== a) this.cut(a, b);
  }

  drop(type: MessageType): void {
    this.dropped.add(type);
  }

  /** Heals every cut and drop. */
  recover(): void {
    this.cuts.clear();
    this.dropped.clear();
    this.filter = undefined;
  }

  hold(id: NodeId): void {
    this.held.add(id);
  }

  release(id: NodeId): void {
    this.held.delete(id);
  }

  /** Runs one node's Ready cycle, as a host must: persist, send, apply, advance. */
  process(id: NodeId): boolean {
    const t = this.get(id);
    if (this.held.has(id) || !t.node.hasReady()) return false;
    const rd = t.node.ready();
    if (rd.snapshot) {
      t.storage.applySnapshot(rd.snapshot);
      // The state machine is replaced by the snapshot's: the texts applied so far.
      t.applied.length = 0;
      const texts = String.fromCharCode(...rd.snapshot.data)
        .split("\u0000")
        .filter((x) => x !== "");
      for (const x of texts) t.applied.push({ index: 0, term: 0, type: EntryType.Normal, data: bytes(x) });
      t.snapshots.push(rd.snapshot);
    }
    t.storage.append(rd.entries);
    if (rd.hardState) t.storage.setHardState(rd.hardState);
    for (const m of rd.messages) {
      t.sent.push(m);
      this.queue.push(m);
    }
    for (const e of rd.committedEntries) {
      if (e.type === EntryType.ConfChange) {
        t.storage.setConfState(t.node.applyConfChange(decodeConfChange(e.data), e.index));
      } else if (e.data.length > 0) {
        t.applied.push(e);
      }
    }
    t.readStates.push(...rd.readStates);
    t.node.advance(rd);
    return true;
  }

  /** Delivers queued messages (dropping those the faults reject); returns how many arrived. */
  deliver(): number {
    const q = this.queue;
    this.queue = [];
    let n = 0;
    for (const m of q) {
      if (this.cuts.has(`${m.from}>${m.to}`) || this.dropped.has(m.type)) continue;
      if (this.filter && !this.filter(m)) continue;
      const t = this.nodes.get(m.to);
      if (!t) continue;
      t.node.step(m);
      n++;
    }
    return n;
  }

  /** Processes and delivers until quiescent. */
  stabilize(maxRounds = 1000): void {
    for (let i = 0; i < maxRounds; i++) {
      let moved = false;
      for (const id of this.nodes.keys()) moved = this.process(id) || moved;
      moved = this.deliver() > 0 || moved;
      if (!moved && this.queue.length === 0) return;
    }
    throw new Error("network did not stabilize");
  }

  /** Ticks every node `n` times, stabilizing after each tick. */
  tick(n = 1, ids: readonly NodeId[] = [...this.nodes.keys()]): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids) this.raw(id).tick();
      this.stabilize();
    }
  }

  /** Campaigns on `id` and lets the election finish. */
  elect(id: NodeId): void {
    this.raw(id).campaign();
    this.stabilize();
  }

  leaders(): NodeId[] {
    return [...this.nodes.values()].filter((t) => t.node.status().role === Role.Leader).map((t) => t.id);
  }

  /**
   * Snapshots `id`'s state machine at its applied index (data: the applied texts) naming
   * `live` entries, and compacts its log up to there.
   */
  compact(id: NodeId, live: readonly number[] = []): Snapshot {
    const t = this.get(id);
    const st = t.node.status();
    const data = bytes(t.applied.map(text).join("\u0000"));
    const snap = t.storage.createSnapshot(st.applied, st.conf, data, live);
    t.storage.compact(st.applied);
    return snap;
  }

  /** Proposes `text` on `id` and returns where it landed. */
  propose(id: NodeId, text: string): { index: number; term: number } {
    return this.raw(id).propose(bytes(text));
  }
}

/**
 * Storage holding a log whose entry i+1 has term `terms[i]` (data "t<term>"), and a hard
 * state at the last term: for scenarios like the paper's Figure 7 and 8.
 */
export function storageWithLog(conf: ConfState, terms: readonly number[], commit = 0): MemoryStorage {
  const s = new MemoryStorage(conf);
  s.append(terms.map((term, i) => ({ term, index: i + 1, type: EntryType.Normal, data: bytes(`t${term}`) })));
  s.setHardState({ term: terms.length > 0 ? Math.max(...terms) : 0, vote: "", commit });
  return s;
}

/** The terms of a node's whole log (storage plus what is not persisted yet is not included). */
export function logTerms(t: TestNode): number[] {
  const out: number[] = [];
  for (let i = t.storage.firstIndex(); i <= t.storage.lastIndex(); i++) out.push(t.storage.term(i));
  return out;
}

export function bytes(s: string): Uint8Array {
  return Uint8Array.from([...s].map((c) => c.charCodeAt(0)));
}

export function text(e: Entry): string {
  return String.fromCharCode(...e.data);
}

function config(id: NodeId, o: NodeOptions, seed: number): RaftConfig {
  return {
    id,
    group: "g",
    electionTick: 10,
    heartbeatTick: 1,
    preVote: false,
    checkQuorum: false,
    maxSizePerMsg: 1 << 20,
    maxInflightMsgs: 256,
    random: seeded(seed * 7919),
    ...o,
  };
}
