/**
 * One Raft group as the host runs it: the core's RawNode, the in-memory log it reads
 * (MemoryStorage, a cache of what NodeStorage made durable), the state machine, and the
 * proposals and reads waiting on it.
 *
 * The host's loop calls, for each Ready of this group and in this order:
 * `stage()` (before the batch's fsync) -> `apply()` (after it) -> `RawNode.advance()`.
 */
import { decodeConfChange } from "../core/confchange/codec.js";
import { RawNode } from "../core/raw-node.js";
import type { MemoryStorage } from "../core/storage.js";
import type { ConfState, Entry, GroupId, NodeId, Ready, Snapshot } from "../core/types.js";
import { EntryType, NONE, Role } from "../core/types.js";
import { NotLeaderError, RaftInvariantError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { NodeStorage } from "../storage/index.js";
import { decodeCommand } from "./entry-codec.js";
import type { ResolvedHostOptions } from "./options.js";
import { ProposalTracker, ReadTracker } from "./proposals.js";
import type { ApplyMeta, StateMachine } from "./state-machine.js";

/** What a group reports to the host while applying (the host fans it out to subscribers). */
export interface GroupEvents {
  applied(group: GroupId, meta: ApplyMeta, result: unknown, isLeader: boolean): void;
  leaderChanged(group: GroupId, leader: NodeId | undefined): void;
}

export class Group {
  /** The pure core. Only the host's loop calls ready()/advance(); anything may step/tick it. */
  readonly node: RawNode;
  readonly proposals: ProposalTracker;
  readonly reads: ReadTracker;
  /** The leader as of the last Ready's soft state (NONE when unknown). */
  lead: NodeId = NONE;
  /** This node's role as of the last Ready's soft state. */
  role: Role = Role.Follower;
  /** Highest index applied to the machine (or covered by the snapshot it was restored from). */
  applied: number;
  /** The configuration as of `applied` (what a snapshot taken now must record). */
  conf: ConfState;
  /** Set by removeGroup: the loop skips the group and drops its Ready. */
  removed = false;
  /**
   * Live entries that arrived with a chunked InstallSnapshot, waiting for the core to hand the
   * snapshot back in a Ready so both are staged in the same batch.
   */
  readonly pendingLive = new Map<number, Entry[]>();
  /** Entries applied since the last snapshot (taken or restored): triggers the next one. */
  private appliedSinceSnapshot = 0;
  /** A leader change noted by `stage` and not yet told to subscribers (see `announceLeader`). */
  private unannounced = false;
  /** Applied entries between two snapshots (see `nextSnapshotInterval`). */
  private snapshotInterval: number;

  constructor(
    readonly id: GroupId,
    readonly log: MemoryStorage,
    readonly machine: StateMachine,
    applied: number,
    private readonly opts: ResolvedHostOptions,
    private readonly events: GroupEvents,
    private readonly logger: Logger,
  ) {
    this.applied = applied;
    this.conf = log.initialState().confState;
    this.snapshotInterval = nextSnapshotInterval(opts.snapshotEvery, log.snapshot().live.length);
    this.proposals = new ProposalTracker(id, opts.proposalTimeoutMs);
    this.reads = new ReadTracker(id, opts.proposalTimeoutMs);
    this.node = new RawNode(
      {
        id: opts.nodeId,
        group: id,
        electionTick: opts.electionTick,
        heartbeatTick: opts.heartbeatTick,
        preVote: true,
        checkQuorum: true,
        maxSizePerMsg: opts.maxSizePerMsg,
        maxInflightMsgs: opts.maxInflightMsgs,
        applied,
        random: opts.random,
        logger,
      },
      log,
    );
  }

  /** Whether this node led the group as of the last Ready (what proposals are accepted on). */
  isLeader(): boolean {
    return this.role === Role.Leader;
  }

  /**
   * Step 1 of the loop, before the fsync: puts the Ready's snapshot, entries and hard state
   * into the batch NodeStorage will flush, and into the in-memory log the core reads.
   * Putting them in memory before the fsync is safe: the core only treats them as stable
   * after `advance()`, which runs after the flush.
   */
  stage(rd: Ready, storage: NodeStorage): void {
    if (rd.softState !== undefined) this.noteSoftState(rd.softState.lead, rd.softState.role);
    const snapshot = rd.snapshot;
    let liveEntries: Entry[] | undefined;
    if (snapshot !== undefined) {
      liveEntries = this.takeLiveEntries(snapshot);
      this.log.applySnapshot(snapshot);
    }
    if (rd.entries.length > 0) {
      this.log.append(rd.entries);
      this.proposals.dropOverwritten(rd.entries);
    }
    if (rd.hardState !== undefined) this.log.setHardState(rd.hardState);
    if (snapshot !== undefined || rd.entries.length > 0 || rd.hardState !== undefined) {
      storage.stage(this.id, {
        ...(snapshot !== undefined ? { snapshot } : {}),
        ...(liveEntries !== undefined && liveEntries.length > 0 ? { liveEntries } : {}),
        ...(rd.entries.length > 0 ? { entries: rd.entries } : {}),
        ...(rd.hardState !== undefined ? { hardState: rd.hardState } : {}),
      });
    }
  }

  /**
   * Step 3, after the fsync and the sends: installs a received snapshot into the machine,
   * applies committed entries in order, settles proposals and reads.
   */
  apply(rd: Ready): void {
    if (rd.snapshot !== undefined && rd.snapshot.meta.index > this.applied) {
      const s = rd.snapshot;
      this.machine.restore({ state: s.data, live: s.live }, { index: s.meta.index, term: s.meta.term });
      this.applied = s.meta.index;
      this.conf = s.meta.conf;
      this.appliedSinceSnapshot = 0;
      this.snapshotInterval = nextSnapshotInterval(this.opts.snapshotEvery, s.live.length);
    }
    this.applyCommitted(rd.committedEntries, Number.POSITIVE_INFINITY);
    for (const rs of rd.readStates) this.reads.confirm(rs.context, rs.index);
    this.reads.settle(this.applied);
  }

  /**
   * Applies, before this Ready's write completes, the committed entries that are already
   * durable here: those below the first entry the Ready appends (they were persisted by an
   * earlier batch, whose write finished before this Ready was taken, and being committed they
   * can no longer be overwritten). The leader's commits are all of this kind, so its proposals
   * resolve one batch write earlier. `apply()` later applies the rest, in order. Nothing is
   * applied early when the Ready installs a snapshot (the machine is restored first).
   */
  applyDurable(rd: Ready): void {
    if (rd.snapshot !== undefined || rd.committedEntries.length === 0) return;
    const firstNew = rd.entries[0]?.index ?? Number.POSITIVE_INFINITY;
    this.applyCommitted(rd.committedEntries, firstNew);
    this.reads.settle(this.applied);
  }

  /**
   * Leader only, between Readies: applies the entries the core already reports committed,
   * reading them from the in-memory log, instead of waiting for the Ready that will hand them
   * out (the core hands out the next Ready only after this node's write in flight completes,
   * so a commit learned from followers' acks would wait for it). Safe because a committed entry
   * is durable on a majority, and the entries read here are exactly the committed ones: only
   * entries of the leader's current term are applied (this leader created them and never
   * overwrites them, and it staged them into the in-memory log before sending them, hence
   * before anyone could ack them); the first entry of another term, a conf change, or a
   * pending snapshot stops it. That Ready later skips what was applied here.
   */
  applyCommittedAhead(): void {
    if (!this.isLeader() || this.log.snapshot().meta.index > this.applied) return;
    // Not status(): it copies the configuration and every peer's progress, on every turn.
    const commit = this.node.leaderCommit();
    if (commit < 0) return;
    const hi = Math.min(commit, this.log.lastIndex());
    if (hi <= this.applied || this.applied + 1 < this.log.firstIndex()) return;
    const term = this.node.term();
    const isLeader = true;
    for (const e of this.log.entries(this.applied + 1, hi + 1, Number.POSITIVE_INFINITY)) {
      if (e.term !== term || e.type === EntryType.ConfChange || e.index !== this.applied + 1) break;
      this.applyEntry(e, isLeader);
      this.applied = e.index;
      this.appliedSinceSnapshot++;
    }
    this.reads.settle(this.applied);
  }

  /** Applies committed entries below `below` not applied yet, strictly in index order. */
  private applyCommitted(entries: readonly Entry[], below: number): void {
    const isLeader = this.isLeader();
    for (const e of entries) {
      if (e.index >= below) break;
      if (e.index <= this.applied) continue;
      if (e.index !== this.applied + 1) {
        throw new RaftInvariantError(`group ${this.id}: applying ${e.index} after ${this.applied}`);
      }
      this.applyEntry(e, isLeader);
      this.applied = e.index;
      this.appliedSinceSnapshot++;
    }
  }

  /** Applies one committed entry: conf change to the core, no-op skipped, command to the machine. */
  private applyEntry(e: Entry, isLeader: boolean): void {
    if (e.type === EntryType.ConfChange) {
      // A snapshot from the leader covering this entry was installed into the core since this
      // batch was collected: its configuration already includes the change (and later ones).
      if (this.log.snapshot().meta.index < e.index) {
        const cc = decodeConfChange(e.data);
        this.conf = this.node.applyConfChange(cc, e.index);
        this.log.setConfState(this.conf);
      }
      this.proposals.settleApplied(e.index, e.term, this.conf);
      return;
    }
    if (e.data.byteLength === 0) {
      // A leader's no-op: nothing for the machine, but it may have taken a proposal's index.
      this.proposals.settleApplied(e.index, e.term, undefined);
      return;
    }
    const { time, command } = decodeCommand(e.data, `${this.id}/${e.index}`);
    const meta: ApplyMeta = { group: this.id, index: e.index, term: e.term, time };
    const result = this.machine.apply(meta, command);
    this.proposals.settleApplied(e.index, e.term, result);
    this.events.applied(this.id, meta, result, isLeader);
  }

  /**
   * After applying: every `snapshotInterval` entries, snapshot the machine, compact the
   * in-memory log (keeping a trailing window for slightly lagging followers) and queue the
   * durable compaction (live entries stay readable on disk).
   */
  maybeSnapshot(storage: NodeStorage): void {
    if (this.appliedSinceSnapshot < this.snapshotInterval) return;
    if (this.applied <= this.log.snapshot().meta.index) return;
    const ms = this.machine.snapshot();
    const snap = this.log.createSnapshot(this.applied, this.conf, ms.state, ms.live);
    const compactTo = this.applied - this.opts.trailingEntries;
    if (compactTo >= this.log.firstIndex()) this.log.compact(compactTo);
    storage.stageCompact(this.id, snap);
    this.appliedSinceSnapshot = 0;
    this.snapshotInterval = nextSnapshotInterval(this.opts.snapshotEvery, snap.live.length);
    this.logger.debug({ group: this.id, index: snap.meta.index, live: snap.live.length }, "snapshot taken");
  }

  /** The entry at `index` if the in-memory log still holds it. */
  entryInMemory(index: number): Entry | undefined {
    if (index < this.log.firstIndex() || index > this.log.lastIndex()) return undefined;
    return this.log.entries(index, index + 1, Number.POSITIVE_INFINITY)[0];
  }

  /** Rejects everything still waiting on this group (removal, host stop). */
  rejectAll(reason: string): void {
    this.proposals.rejectAll(reason);
    this.reads.rejectAll(() => new NotLeaderError(this.id, undefined));
  }

  /**
   * Tells subscribers of the leader change the last `stage` noted. The loop calls it once every
   * group of the batch is staged: a subscriber may propose at once (node/broker resends there),
   * and a proposal made while Readies are taken but not yet staged would be taken for one the
   * staged entries overwrote (`ProposalTracker.dropOverwritten`) and dropped.
   */
  announceLeader(): void {
    if (!this.unannounced) return;
    this.unannounced = false;
    this.events.leaderChanged(this.id, this.lead === NONE ? undefined : this.lead);
  }

  /** Tracks leader and role from a Ready's soft state; the change is announced by `announceLeader`. */
  private noteSoftState(lead: NodeId, role: Role): void {
    const wasLeader = this.role === Role.Leader;
    const leaderChanged = lead !== this.lead;
    this.lead = lead;
    this.role = role;
    if (wasLeader && role !== Role.Leader) {
      // Reads not yet confirmed by a quorum cannot be confirmed by a deposed leader.
      this.reads.rejectUnconfirmed(() => new NotLeaderError(this.id, lead === NONE ? undefined : lead));
    }
    if (leaderChanged) this.unannounced = true;
  }

  /**
   * The live entries that arrived with `snapshot` (keyed by its index; a transfer the core
   * refused as stale leaves an older key behind, dropped here too).
   */
  private takeLiveEntries(snapshot: Snapshot): Entry[] | undefined {
    const pending = this.pendingLive.get(snapshot.meta.index);
    for (const index of [...this.pendingLive.keys()]) {
      if (index <= snapshot.meta.index) this.pendingLive.delete(index);
    }
    if (snapshot.live.length === 0) return undefined;
    if (pending === undefined) {
      throw new RaftInvariantError(
        `group ${this.id}: snapshot at ${snapshot.meta.index} names ${snapshot.live.length} live entries that did not arrive with it`,
      );
    }
    return pending;
  }
}

/** The interval grows at most to this many times `snapshotEvery` (bounds the in-memory log). */
export const MAX_SNAPSHOT_INTERVAL_FACTOR = 8;

/**
 * Applied entries before the next snapshot, after one that named `live` live entries: at least
 * `snapshotEvery`, and as many as the live entries, up to {@link MAX_SNAPSHOT_INTERVAL_FACTOR}
 * times `snapshotEvery`. A snapshot costs time in proportion to the state (a queue serializes
 * every message it holds, and the live list names each body kept in the log), so at a fixed
 * interval a long queue paid for its whole backlog every 4096 publishes: 17 % of the cluster's
 * CPU with 100k messages queued (docs/performance.md). Growing the interval with the state keeps
 * the cost per applied entry bounded, as RabbitMQ's quorum queues do (rabbit_fifo's release
 * cursor interval grows with the message count); the cap bounds the entries kept in memory
 * between two snapshots.
 */
export function nextSnapshotInterval(snapshotEvery: number, live: number): number {
  return Math.min(Math.max(snapshotEvery, live), snapshotEvery * MAX_SNAPSHOT_INTERVAL_FACTOR);
}
