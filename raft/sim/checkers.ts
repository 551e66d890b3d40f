/**
 * Raft's safety properties, checked incrementally as a run goes (Raft paper Figure 3, plus
 * what a host must guarantee about durability). Every `observe*` / `check*` method throws a
 * {@link Violation} naming the invariant as soon as it breaks; the simulator catches it and
 * prints the seed and the recent trace.
 *
 * The checker sees the cluster as an omniscient observer: durable disks, persisted logs,
 * messages as they are sent, entries as they are applied. It keeps only what it needs to make
 * each check O(change), because it runs after every step of thousands of runs.
 */
import type { ConfState, Entry, HardState, NodeId } from "../core/types.js";
import type { AppendedEntry, LostEntry } from "./disk.js";
import { entryDigest, type MachineState } from "./machine.js";

/** The invariants, as printed in reports. */
export const Invariant = {
  ElectionSafety: "election safety (at most one leader per term)",
  VoteOnce: "a node grants at most one vote per term",
  DurableBeforeSend: "a vote or append acknowledgement is sent only after the state it promises is durable",
  LogMatching: "log matching (same index and term => same entry and same prefix)",
  LeaderCompleteness: "leader completeness (a committed entry is in every later leader's log)",
  StateMachineSafety: "state machine safety (every node applies the same entry at each index)",
  Durability: "durability (a committed entry is on enough fsynced disks and is never lost)",
  ReadIndex: "read index is not below a commit acknowledged before the read was issued",
  LiveEntries: "live entries named by a snapshot travel with it and stay readable",
  LogIntegrity: "the log the core asks to persist is contiguous",
  HardState: "a durable term never decreases and a durable vote never changes within a term",
  CoreError: "the core throws no unexpected error",
  Liveness: "liveness (after healing, a leader is elected and a proposal commits in bounded time)",
  SimulatorError: "the simulator itself runs without error",
} as const;
export type Invariant = (typeof Invariant)[keyof typeof Invariant];

/** A broken invariant. `detail` says what was seen, in terms of nodes, terms and indexes. */
export class Violation extends Error {
  override name = "Violation";
  constructor(
    readonly invariant: Invariant,
    readonly detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

/** Read access to one node's durable disk, as the durability checks need it. */
export interface DurableView {
  holds(index: number, term: number): boolean;
  readonly hardState: { readonly term: number; readonly vote: NodeId };
  lastIndex(): number;
  snapshotIndex(): number;
}

interface EntryFact {
  readonly digest: number;
  readonly prevTerm: number;
  readonly node: NodeId;
}

export class SafetyChecker {
  /**
   * @param disabled invariants not to enforce: only for the self-tests that show a deliberately
   *   broken host is still caught by the remaining, higher-level checks.
   */
  constructor(private readonly disabled: ReadonlySet<Invariant> = new Set()) {}

  private fail(invariant: Invariant, detail: string): void {
    if (!this.disabled.has(invariant)) throw new Violation(invariant, detail);
  }

  /** term -> the node that led it. */
  private readonly leaders = new Map<number, NodeId>();
  /** `voter@term` -> candidate it granted. */
  private readonly votes = new Map<string, NodeId>();
  /** `index:term` -> the first durable copy seen (digest, term of its predecessor). */
  private readonly entries = new Map<string, EntryFact>();
  /** index -> term of the entry known committed there (applied somewhere). */
  private readonly committedTerm: number[] = [];
  /**
   * index -> the lowest term any node was in when it applied the entry: an upper bound of the
   * term in which the entry committed (a node learns a commit from a leader of its term or an
   * earlier one), exact when the committing leader applies it.
   */
  private readonly commitTermBound: number[] = [];
  /** index -> (digest, machine hash after it, first node that applied it). */
  private readonly applied: { digest: number; hash: number; node: NodeId }[] = [];
  private maxCommitted = 0;
  /** Highest index of a client command acknowledged (applied by the leader that proposed it). */
  private ackedMax = 0;
  /** Outstanding ReadIndex requests: context -> acknowledged max when issued. */
  private readonly reads = new Map<string, { readonly floor: number; readonly node: NodeId }>();

  /** Highest committed index observed so far. */
  get committedIndex(): number {
    return this.maxCommitted;
  }

  /** Highest client command index acknowledged so far. */
  get acknowledged(): number {
    return this.ackedMax;
  }

  /** Raft §5.2: a node is leader of `term`; no other node may ever be. */
  observeLeader(term: number, node: NodeId): void {
    const prior = this.leaders.get(term);
    if (prior !== undefined && prior !== node) {
      this.fail(Invariant.ElectionSafety, `${prior} and ${node} both led term ${term}`);
      return;
    }
    this.leaders.set(term, node);
  }

  /**
   * A granted MsgVoteResp is on the wire. Figure 2: votedFor is persistent, so even a node
   * that crashed and restarted must never grant a second candidate in the same term; and the
   * grant may leave only once (term, vote) is on disk.
   *
   * A message of an older term than the node's durable term is stale but harmless: the core
   * produced it before it stepped a newer term, and the durable newer term already forbids
   * voting in the older one again (and an entry a stale append acknowledgement vouches for
   * was in the log when the node last voted; see docs/raft/sim.md).
   */
  observeVoteGranted(voter: NodeId, term: number, candidate: NodeId, disk: DurableView): void {
    const key = `${voter}@${term}`;
    const prior = this.votes.get(key);
    if (prior !== undefined && prior !== candidate) {
      this.fail(Invariant.VoteOnce, `${voter} granted ${prior} and ${candidate} in term ${term}`);
      return;
    }
    this.votes.set(key, candidate);
    const hs = disk.hardState;
    if (hs.term < term || (hs.term === term && hs.vote !== candidate)) {
      this.fail(
        Invariant.DurableBeforeSend,
        `${voter} granted ${candidate} in term ${term} while its durable hard state is term ${hs.term} vote ${hs.vote || "none"}`,
      );
      return;
    }
  }

  /**
   * `node`'s durable hard state went from `prev` to `next` at an fsync. Figure 2: currentTerm
   * only grows, and votedFor, once set, stays for the rest of the term (a restart included).
   */
  observeHardState(node: NodeId, prev: HardState, next: HardState): void {
    if (next.term < prev.term) {
      this.fail(Invariant.HardState, `${node}'s durable term went back from ${prev.term} to ${next.term}`);
      return;
    }
    if (next.term === prev.term && prev.vote !== "" && next.vote !== prev.vote) {
      this.fail(
        Invariant.HardState,
        `${node}'s durable vote in term ${prev.term} changed from ${prev.vote} to ${next.vote || "none"}`,
      );
    }
  }

  /** A successful MsgAppResp of `term` for `index` is on the wire: the sender's disk must hold the log up to it. */
  observeAppendAck(node: NodeId, term: number, index: number, disk: DurableView): void {
    const durableTerm = disk.hardState.term;
    if (durableTerm > term) return; // stale: see observeVoteGranted
    if (durableTerm < term || disk.lastIndex() < index) {
      this.fail(
        Invariant.DurableBeforeSend,
        `${node} acknowledged index ${index} in term ${term} but its disk holds term ${durableTerm} and a log ending at ${disk.lastIndex()}`,
      );
      return;
    }
  }

  /**
   * Entries became durable on `node`. Log matching is checked inductively: if every
   * (index, term) pair ever written anywhere names one payload and one predecessor term, then
   * two logs sharing (index, term) share the entry and, step by step, the whole prefix.
   */
  observeDurableAppend(node: NodeId, appended: readonly AppendedEntry[]): void {
    for (const { entry, prevTerm } of appended) {
      const key = `${entry.index}:${entry.term}`;
      const digest = entryDigest(entry);
      const fact = this.entries.get(key);
      if (fact === undefined) {
        this.entries.set(key, { digest, prevTerm, node });
      } else if (fact.digest !== digest || fact.prevTerm !== prevTerm) {
        this.fail(
          Invariant.LogMatching,
          `entry ${key} on ${node} (prev term ${prevTerm}) differs from the one on ${fact.node} (prev term ${fact.prevTerm})` +
            (fact.digest !== digest ? ", payloads differ" : ""),
        );
        return;
      }
    }
  }

  /**
   * Durable entries were removed from `node`'s log without a snapshot covering them. A node
   * outside the quorum that committed an entry may still drop it on a late message from an
   * older leader (one of a term before the commit, which never had it); but replacing a
   * committed entry with entries of its commit term or later means a leader of that term
   * lacked it, which Raft forbids.
   */
  observeLost(node: NodeId, lost: readonly LostEntry[]): void {
    for (const { index, term, byTerm } of lost) {
      const committedIn = this.commitTermBound[index];
      if (this.committedTerm[index] === term && committedIn !== undefined && byTerm >= committedIn) {
        this.fail(
          Invariant.Durability,
          `committed entry ${index}:${term} (committed by term ${committedIn}) was replaced on ${node}'s disk by entries of term ${byTerm}`,
        );
        return;
      }
    }
  }

  /** Logs an anomaly the disk model found in what the host was asked to persist. */
  observeAnomalies(node: NodeId, anomalies: readonly string[]): void {
    const first = anomalies[0];
    if (first !== undefined) {
      const invariant = first.includes("live") ? Invariant.LiveEntries : Invariant.LogIntegrity;
      this.fail(invariant, `${node}: ${first}`);
      return;
    }
  }

  /**
   * `node`, in term `nodeTerm`, applied `e` and its machine hash is now `hash`. Figure 3: if a server has applied
   * an entry at an index, no other server ever applies a different one there.
   */
  observeApplied(node: NodeId, e: Entry, hash: number, nodeTerm: number): void {
    const digest = entryDigest(e);
    const prior = this.applied[e.index];
    if (prior === undefined) {
      this.applied[e.index] = { digest, hash, node };
    } else if (prior.digest !== digest || prior.hash !== hash) {
      this.fail(
        Invariant.StateMachineSafety,
        `${node} applied ${e.index}:${e.term} ${prior.digest !== digest ? "with a different entry than" : "after a different history than"} ${prior.node}`,
      );
      return;
    }
    const known = this.committedTerm[e.index];
    if (known !== undefined && known !== e.term) {
      this.fail(
        Invariant.StateMachineSafety,
        `${node} applied ${e.index} with term ${e.term}, committed term is ${known}`,
      );
      return;
    }
    this.committedTerm[e.index] = e.term;
    const bound = this.commitTermBound[e.index];
    if (bound === undefined || nodeTerm < bound) this.commitTermBound[e.index] = nodeTerm;
    if (e.index > this.maxCommitted) this.maxCommitted = e.index;
  }

  /** `node` restored its machine from a snapshot: its state must be the history everyone applied. */
  observeRestore(node: NodeId, state: MachineState, live: readonly number[]): void {
    const prior = this.applied[state.index];
    if (state.index > 0 && prior !== undefined && prior.hash !== state.hash) {
      this.fail(
        Invariant.StateMachineSafety,
        `${node} restored a snapshot at ${state.index} whose state differs from what ${prior.node} applied`,
      );
      return;
    }
    if (live.length !== state.live.length || live.some((v, i) => state.live[i] !== v)) {
      this.fail(
        Invariant.LiveEntries,
        `${node} installed a snapshot at ${state.index} naming live [${live.join(",")}] but its machine needs [${state.live.join(",")}]`,
      );
      return;
    }
  }

  /**
   * `node` just became leader of `term`. Raft §5.4.1: its log must hold every entry committed
   * in an earlier term. `termAt` reads its log (undefined below its snapshot or past its end).
   *
   * "Committed in an earlier term" uses {@link commitTermBound}: an upper bound of the term in
   * which each entry committed, so an entry is only required when it certainly committed before
   * `term` (a leader whose Ready is observed late, after a stall, may legitimately lack entries
   * a newer leader committed meanwhile).
   */
  checkLeaderCompleteness(
    node: NodeId,
    term: number,
    firstIndex: number,
    termAt: (i: number) => number | undefined,
  ): void {
    for (let i = Math.max(1, firstIndex); i <= this.maxCommitted; i++) {
      const want = this.committedTerm[i];
      const committedIn = this.commitTermBound[i];
      if (want === undefined || committedIn === undefined || committedIn >= term) continue;
      const have = termAt(i);
      if (have !== want) {
        this.fail(
          Invariant.LeaderCompleteness,
          `${node} leads term ${term} but its log has ${have === undefined ? "nothing" : `term ${have}`} at committed index ${i} (term ${want})`,
        );
        return;
      }
    }
  }

  /**
   * The leader is about to apply `entries`, which it committed. Each must be on the fsynced
   * disks of enough voters of its configuration that every quorum includes one: then no
   * crash of a minority and no later election can lose it.
   */
  checkCommitDurable(
    leader: NodeId,
    entries: readonly Entry[],
    conf: ConfState,
    disk: (id: NodeId) => DurableView | undefined,
  ): void {
    const voters = conf.voters;
    const quorum = Math.floor(voters.length / 2) + 1;
    const needed = voters.length - quorum + 1;
    for (const e of entries) {
      let holders = 0;
      for (const v of voters) if (disk(v)?.holds(e.index, e.term)) holders++;
      if (holders < needed) {
        this.fail(
          Invariant.Durability,
          `${leader} applies committed ${e.index}:${e.term} durable on only ${holders} of voters [${voters.join(",")}] (needs ${needed})`,
        );
        return;
      }
    }
  }

  /** A client learned that its command at `index` committed. */
  observeAck(index: number): void {
    if (index > this.ackedMax) this.ackedMax = index;
  }

  /** A ReadIndex request with `context` was issued at `node`. */
  observeReadIssued(context: string, node: NodeId): void {
    this.reads.set(context, { floor: this.ackedMax, node });
  }

  /** `node` got a ReadState: the read is linearizable only if it sees every acknowledged write. */
  observeReadState(node: NodeId, context: string, index: number): void {
    const read = this.reads.get(context);
    if (read === undefined) return;
    if (index < read.floor) {
      this.fail(
        Invariant.ReadIndex,
        `read ${context} issued at ${read.node} got index ${index} on ${node}, but ${read.floor} was acknowledged before it was issued`,
      );
      return;
    }
  }
}
