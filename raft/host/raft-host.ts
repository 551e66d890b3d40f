/**
 * RaftHost: runs many Raft groups on one node (multi-raft, as RabbitMQ Ra and CockroachDB do).
 *
 * - One ticker (`setInterval(tickMs)`) ticks every group and expires proposal deadlines.
 * - Messages travel over the transport's "raft" channel as per-peer batches of
 *   `[group, message]`, routed by group id on arrival; snapshots use "raft-snap" in chunks.
 * - The ReadyLoop persists every group's Ready with ONE fsync per batch, then sends, applies,
 *   advances (see ready-loop.ts for the ordering guarantees).
 * - A lost inbound connection from a group's leader (transport.onPeerDown) is a hint to
 *   campaign early: `reportLeaderLost()` on every group that peer leads, for a failover well
 *   under an election timeout after a leader process dies (peer-hint.ts); with long ticks the
 *   first survivor in turn campaigns after a few milliseconds, not at the next tick
 *   (leader-lost-campaign.ts).
 *
 * The host owns neither the storage nor the transport: the caller opens/starts them before
 * `start()` and closes them after `stop()` (the transport may carry other channels).
 */
import { MemoryStorage } from "../core/storage.js";
import type { GroupId, NodeId } from "../core/types.js";
import { ConfChangeType } from "../core/types.js";
import { RaftError, UnknownGroupError } from "../errors.js";
import { type Logger, noopLogger } from "../logger.js";
import type { NodeStorage } from "../storage/index.js";
import type { PeerDirection, Transport } from "../transport/index.js";
import { EarlyVotes } from "./early-votes.js";
import { encodeCommand, encodePackedCommand } from "./entry-codec.js";
import { Group } from "./group.js";
import { type HostContext, hint, mapProposeError } from "./host-context.js";
import { type AppliedListener, HostEvents, type LeaderChangeListener } from "./host-events.js";
import { changeConf, handOffLeadership, transferLeadership } from "./host-membership.js";
import { readCommands, readEntry, readIndex } from "./host-reads.js";
import { HostTicker } from "./host-ticker.js";
import { LeaderLostCampaigns } from "./leader-lost-campaign.js";
import { type RaftHostOptions, type ResolvedHostOptions, resolveHostOptions } from "./options.js";
import { decodeRaftPayload, RAFT_CHANNEL } from "./outbox.js";
import { peerDownHint } from "./peer-hint.js";
import { type LoopStats, ReadyLoop } from "./ready-loop.js";
import { SNAPSHOT_CHANNEL, type SnapshotFrame, SnapshotTransfers } from "./snapshot-transfer.js";
import type { LiveEntryReader, StateMachine } from "./state-machine.js";

export type { AppliedListener, LeaderChangeListener } from "./host-events.js";

/** How to create (or recover) a group on this node. */
export interface CreateGroupOptions {
  /** The bootstrap configuration. Ignored when the group is recovered from a stored snapshot. */
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** A fresh machine: the host restores it from the stored snapshot, then re-applies the log. */
  readonly machine: StateMachine;
  /**
   * Campaign at once if the group is new here (nothing stored) and this node is a voter: the
   * group's preferred leader asks for it, so the group has a leader within a round trip instead
   * of after an election timeout. Pre-vote keeps it harmless anywhere else (a group that has a
   * leader, or whose log is longer, refuses it); if the campaign fails, the usual election
   * timeouts follow.
   */
  readonly campaign?: boolean;
}

export class RaftHost implements LiveEntryReader {
  private readonly opts: ResolvedHostOptions;
  private readonly storage: NodeStorage;
  private readonly transport: Transport;
  private readonly logger: Logger;
  /** Every running group. A removed group leaves the map at once (and is marked `removed`). */
  private readonly groups = new Map<GroupId, Group>();
  /**
   * Groups being created (loading from storage): messages for them are dropped meanwhile, vote
   * requests held (earlyVotes).
   */
  private readonly creating = new Set<GroupId>();
  /** Vote requests for groups not created here yet (a new group's first campaign). */
  private readonly earlyVotes = new EarlyVotes();
  private readonly loop: ReadyLoop;
  private readonly snapshots: SnapshotTransfers;
  /** The subscribers of applied commands and leader changes. */
  private readonly events: HostEvents;
  /** Ticks the groups and watches quiesced ones (host-ticker.ts). */
  private readonly ticker: HostTicker;
  /** Starts the first survivor's campaign soon after the leader-lost hint (leader-lost-campaign.ts). */
  private readonly leaderLost: LeaderLostCampaigns<Group>;
  /** What the host's parts (reads, membership) see of it. */
  private readonly ctx: HostContext;
  /** Set by stop(): incoming messages are ignored and no new batch starts. Never unset. */
  private stopped = false;
  constructor(options: RaftHostOptions) {
    this.opts = resolveHostOptions(options);
    this.storage = options.storage;
    this.transport = options.transport;
    // The caller's logger is already bound to this node (`{node}`): adding it again would
    // write the key twice in every JSON line.
    this.logger = options.logger ?? noopLogger;
    this.events = new HostEvents(this.logger);
    this.snapshots = new SnapshotTransfers(
      this.transport,
      {
        readEntry: (group, index) => readEntry(this.ctx, group, index),
        reportSnapshot: (group, peer, ok) => {
          const g = this.groups.get(group);
          if (g === undefined || this.stopped) return;
          g.node.reportSnapshot(peer, ok);
          this.touch(g);
        },
        deliver: (from, group, msg, live) => {
          const g = this.groups.get(group);
          if (g === undefined || this.stopped || msg.snapshot === undefined) return;
          g.pendingLive.set(msg.snapshot.meta.index, live);
          this.step(g, msg, from);
        },
      },
      this.logger,
      this.opts.snapshotChunkBytes,
    );
    this.loop = new ReadyLoop({
      groups: () => this.groups.values(),
      group: (id) => this.groups.get(id),
      storage: this.storage,
      transport: this.transport,
      snapshots: this.snapshots,
      logger: this.logger,
    });
    this.ticker = new HostTicker(this.opts, this.transport, this.loop);
    this.leaderLost = new LeaderLostCampaigns(
      this.opts.nodeId,
      this.opts.tickMs,
      (g) => !this.stopped && this.groups.get(g.id) === g,
      (g) => this.touch(g),
    );
    this.ctx = {
      opts: this.opts,
      storage: this.storage,
      findGroup: (id) => (this.stopped ? undefined : this.groups.get(id)),
      mustGroup: (id) => this.mustGroup(id),
      groups: () => this.groups.values(),
      touch: (g) => this.touch(g),
      isStopped: () => this.stopped,
    };
    this.transport.on(RAFT_CHANNEL, (from, payload) => this.onRaftPayload(from, payload));
    this.transport.on(SNAPSHOT_CHANNEL, (from, payload) => {
      if (!this.stopped) this.snapshots.onFrame(from, payload as SnapshotFrame);
    });
    this.transport.onPeerDown((peer, direction) => this.onPeerDown(peer, direction));
  }

  /** This node's id. */
  get nodeId(): NodeId {
    return this.opts.nodeId;
  }

  /** Starts the ticker. Groups may be created before or after. */
  async start(): Promise<void> {
    if (this.stopped) return;
    this.ticker.start();
  }

  /**
   * Creates a group, or recovers it from storage: the in-memory log is rebuilt from `load()`,
   * the machine restored from the stored snapshot, and committed entries after it are
   * re-applied by the loop (the core hands them out again since `applied` = snapshot index).
   */
  async createGroup(group: GroupId, opts: CreateGroupOptions): Promise<void> {
    if (this.stopped) throw new RaftError("raft host is stopped");
    if (this.groups.has(group) || this.creating.has(group))
      throw new RaftError(`group ${group} already exists`);
    this.creating.add(group);
    try {
      const loaded = await this.storage.load(group);
      const log = new MemoryStorage({ voters: [...opts.voters], learners: [...(opts.learners ?? [])] });
      let applied = 0;
      if (loaded.snapshot !== undefined) {
        const s = loaded.snapshot;
        log.applySnapshot(s);
        opts.machine.restore({ state: s.data, live: s.live }, { index: s.meta.index, term: s.meta.term });
        applied = s.meta.index;
      }
      log.append(loaded.entries);
      if (loaded.hardState !== undefined) log.setHardState(loaded.hardState);
      const logger = this.logger.child({ group });
      const g = new Group(group, log, opts.machine, applied, this.opts, this.events, logger);
      this.groups.set(group, g);
      const fresh =
        loaded.snapshot === undefined && loaded.entries.length === 0 && (loaded.hardState?.term ?? 0) === 0;
      if (opts.campaign === true && fresh && opts.voters.includes(this.opts.nodeId)) g.node.campaign();
      for (const { from, m } of this.earlyVotes.take(group, Date.now())) this.step(g, m, from);
      this.touch(g);
      logger.debug(
        { applied, last: log.lastIndex(), commit: loaded.hardState?.commit ?? 0 },
        "group created",
      );
    } finally {
      this.creating.delete(group);
    }
  }

  /** Removes a group: its pending proposals are dropped and its stored data deleted (durably). */
  async removeGroup(group: GroupId): Promise<void> {
    const g = this.mustGroup(group);
    g.removed = true;
    this.groups.delete(group);
    this.ticker.delete(g);
    g.rejectAll("group removed");
    this.storage.stageDeleteGroup(group);
    await this.storage.flush();
  }

  /**
   * Proposes `command` to `group`. Only the leader accepts (NotLeaderError with a hint
   * otherwise; the broker forwards). Resolves with `machine.apply()`'s result once the entry
   * is committed and applied here; see ProposalTracker for the rejection rules.
   */
  propose<R = unknown>(group: GroupId, command: unknown): Promise<R> {
    return this.proposeData<R>(group, (now) => encodeCommand(now, command));
  }

  /**
   * `propose` for a command that is already msgpack-encoded: `packed` must be exactly one
   * msgpack value (e.g. `new Packr({ useRecords: false }).pack(command)` on the node that
   * received the request). The entry is built around the bytes (no decode, no re-encode), and
   * every replica's `machine.apply()` sees the decoded command, exactly as after
   * `propose(group, command)`. The bytes are not validated: bytes that are not one msgpack
   * value make a log entry that no replica can apply (CorruptStorageError), so pass only bytes
   * a msgpack encoder produced (an authenticated peer of this cluster counts).
   */
  proposePacked<R = unknown>(group: GroupId, packed: Uint8Array): Promise<R> {
    if (packed.length === 0) return Promise.reject(new RaftError("proposePacked: empty command bytes"));
    return this.proposeData<R>(group, (now) => encodePackedCommand(now, packed));
  }

  /** Appends the entry `encode(now)` on the leader and tracks it until applied. */
  private proposeData<R>(group: GroupId, encode: (now: number) => Uint8Array): Promise<R> {
    const g = this.groups.get(group);
    if (g === undefined || this.stopped) return Promise.reject(new UnknownGroupError(group));
    const now = Date.now();
    let at: { index: number; term: number };
    try {
      at = g.node.propose(encode(now));
    } catch (err) {
      return Promise.reject(mapProposeError(g, err));
    }
    this.touch(g);
    return g.proposals.add<R>(at.index, at.term, now);
  }

  /** Resolves once this node (the leader) has applied everything committed before the call. */
  readIndex(group: GroupId): Promise<void> {
    return readIndex(this.ctx, group);
  }

  /** Asks the leader to hand leadership to `to`; resolves when this node sees `to` lead. */
  transferLeadership(group: GroupId, to: NodeId): Promise<void> {
    return transferLeadership(this.ctx, group, to);
  }

  /** Adds `node` as a voter, or promotes it if it is a learner. Resolves when applied. */
  addVoter(group: GroupId, node: NodeId): Promise<void> {
    return changeConf(this.ctx, group, { type: ConfChangeType.AddVoter, node });
  }

  /** Adds `node` as a learner: it receives the log but does not vote. */
  addLearner(group: GroupId, node: NodeId): Promise<void> {
    return changeConf(this.ctx, group, { type: ConfChangeType.AddLearner, node });
  }

  /** Removes a voter or learner. */
  removeNode(group: GroupId, node: NodeId): Promise<void> {
    return changeConf(this.ctx, group, { type: ConfChangeType.RemoveNode, node });
  }

  /** The leader this node knows of, if any. */
  leaderOf(group: GroupId): NodeId | undefined {
    const g = this.groups.get(group);
    return g === undefined ? undefined : hint(g.lead);
  }

  /** The ids of the groups this host runs (creation order). */
  groupIds(): GroupId[] {
    return [...this.groups.keys()];
  }

  /** Raft status of a group (term, commit, applied, role, progress, quiesced). */
  status(group: GroupId): ReturnType<Group["node"]["status"]> & { applied: number; quiesced: boolean } {
    const g = this.mustGroup(group);
    return { ...g.node.status(), applied: g.applied, quiesced: g.node.isQuiesced() };
  }

  /** Groups not created here yet with vote requests held for them (early-votes.ts; tests). */
  heldVoteGroups(): number {
    return this.earlyVotes.size;
  }

  /** Loop counters (batches, flushes, readies). */
  loopStats(): Readonly<LoopStats> {
    return this.loop.stats;
  }

  /**
   * LiveEntryReader: the command of entry `index` from the in-memory log when it is still
   * there, else from storage (a live entry kept below a snapshot). Rejects for a no-op,
   * a conf change, or an index that is neither in the log nor live.
   */
  async readCommand(group: GroupId, index: number): Promise<unknown> {
    return (await this.readCommands(group, [index]))[0];
  }

  /**
   * The commands of several entries (result `k` is entry `indexes[k]`), with ONE storage read
   * (`getMany`) for those no longer in the in-memory log: a consumer draining a backlog of
   * bodies kept on disk pays one LevelDB round trip per batch, not per message. Rejects as
   * `readCommand` does if any of them carries no command.
   */
  readCommands(group: GroupId, indexes: readonly number[]): Promise<unknown[]> {
    return readCommands(this.ctx, group, indexes);
  }

  /** Subscribes to applied commands (see {@link AppliedListener}). */
  onApplied(cb: AppliedListener): void {
    this.events.appliedListeners.push(cb);
  }

  /** Subscribes to leader changes (see {@link LeaderChangeListener}). */
  onLeaderChange(cb: LeaderChangeListener): void {
    this.events.leaderListeners.push(cb);
  }

  /**
   * Graceful shutdown. With `transferLeadership`, each group this node leads is handed to a
   * caught-up voter first (so clients see a leader change, not an election timeout), waiting
   * at most one election timeout. Then the ticker stops, the running batch finishes, whatever
   * is staged is flushed, and everything still pending is rejected with ProposalDroppedError.
   */
  async stop(opts: { transferLeadership?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    if (opts.transferLeadership === true) await handOffLeadership(this.ctx);
    this.stopped = true;
    this.ticker.stop();
    this.leaderLost.stop();
    await this.loop.stop();
    this.snapshots.close();
    await this.storage.flush();
    for (const g of this.groups.values()) g.rejectAll("raft host stopped");
    this.groups.clear();
  }

  /** `g` got an input: tick it again if it was parked, and look at it in the next batch. */
  private touch(g: Group): void {
    this.ticker.activate(g);
    this.loop.wake(g);
  }

  /** Routes a peer's batch of `[group, message]` pairs to the groups' cores. */
  private onRaftPayload(from: NodeId, payload: unknown): void {
    if (this.stopped) return;
    const pairs = decodeRaftPayload(payload, { from, to: this.opts.nodeId });
    if (pairs === undefined) {
      this.logger.warn({ peer: from }, "malformed raft payload dropped");
      return;
    }
    this.ticker.heard(from);
    for (const [group, m] of pairs) {
      const g = this.groups.get(group);
      // Unknown group: not created here yet, or removed. The leader retransmits; a vote request
      // is held until the group is created (early-votes.ts).
      if (g !== undefined) this.step(g, m, from);
      else this.earlyVotes.hold(group, from, m, Date.now());
    }
  }

  /**
   * Steps one message from `from` into a group's core. The transport authenticated the peer;
   * a message claiming another sender is dropped so one node cannot speak for another.
   */
  private step(g: Group, m: Parameters<Group["node"]["step"]>[0], from: NodeId): void {
    if (m.from !== from) {
      this.logger.warn({ peer: from, claimed: m.from, group: g.id }, "message with a forged sender dropped");
      return;
    }
    try {
      g.node.step(m);
    } catch (err) {
      // Expected refusals (a stale message, a message from a node not in the group) are not fatal.
      if (!(err instanceof RaftError) || err.name === "RaftInvariantError") throw err;
      this.logger.debug({ group: g.id, peer: from, err: err.message }, "message refused");
    }
    this.touch(g);
  }

  /** The failover hint (peer-hint.ts) and the end of snapshot transfers with `peer`. */
  private onPeerDown(peer: NodeId, direction: PeerDirection): void {
    if (this.stopped) return;
    this.snapshots.peerDown(peer);
    for (const g of this.groups.values()) {
      const hint = peerDownHint(g.role, g.lead, peer, direction);
      if (hint === "unreachable") g.node.reportUnreachable(peer);
      else if (hint === "leader-lost") {
        g.node.reportLeaderLost();
        this.leaderLost.leaderLost(g, peer);
      }
      if (hint !== undefined) this.ticker.activate(g);
    }
    this.loop.wakeAll();
  }

  private mustGroup(group: GroupId): Group {
    const g = this.groups.get(group);
    if (g === undefined || this.stopped) throw new UnknownGroupError(group);
    return g;
  }
}
