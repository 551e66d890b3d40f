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
 *   under an election timeout after a leader process dies (peer-hint.ts).
 *
 * The host owns neither the storage nor the transport: the caller opens/starts them before
 * `start()` and closes them after `stop()` (the transport may carry other channels).
 */
import { MemoryStorage } from "../core/storage.js";
import type { ConfChange, Entry, GroupId, NodeId } from "../core/types.js";
import { ConfChangeType, EntryType, NONE, Role } from "../core/types.js";
import { NotLeaderError, ProposalDroppedError, RaftError, UnknownGroupError } from "../errors.js";
import { type Logger, noopLogger } from "../logger.js";
import type { NodeStorage } from "../storage/index.js";
import type { PeerDirection, Transport } from "../transport/index.js";
import { decodeCommand, encodeCommand, encodePackedCommand } from "./entry-codec.js";
import { Group, type GroupEvents } from "./group.js";
import { type RaftHostOptions, type ResolvedHostOptions, resolveHostOptions } from "./options.js";
import { decodeRaftPayload, RAFT_CHANNEL } from "./outbox.js";
import { peerDownHint } from "./peer-hint.js";
import { type LoopStats, ReadyLoop } from "./ready-loop.js";
import { SNAPSHOT_CHANNEL, type SnapshotFrame, SnapshotTransfers } from "./snapshot-transfer.js";
import type { ApplyMeta, LiveEntryReader, StateMachine } from "./state-machine.js";
import { hasSilentMember, TickSet } from "./tick-set.js";
import { waitFor } from "./wait.js";

/**
 * Called after each command is applied on this node, in index order per group. `isLeader`
 * tells whether this node led the group when it applied the entry: only the leader's node acts
 * on the effects a state machine returns (Ra's rule), followers only keep their state.
 */
export type AppliedListener = (group: GroupId, meta: ApplyMeta, result: unknown, isLeader: boolean) => void;
/** Called when this node learns of a new leader of `group` (undefined: none known, election under way). */
export type LeaderChangeListener = (group: GroupId, leader: NodeId | undefined) => void;

/** How to create (or recover) a group on this node. */
export interface CreateGroupOptions {
  /** The bootstrap configuration. Ignored when the group is recovered from a stored snapshot. */
  readonly voters: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** A fresh machine: the host restores it from the stored snapshot, then re-applies the log. */
  readonly machine: StateMachine;
}

export class RaftHost implements LiveEntryReader {
  private readonly opts: ResolvedHostOptions;
  private readonly storage: NodeStorage;
  private readonly transport: Transport;
  private readonly logger: Logger;
  /** Every running group. A removed group leaves the map at once (and is marked `removed`). */
  private readonly groups = new Map<GroupId, Group>();
  /** Groups being created (loading from storage): messages for them are dropped meanwhile. */
  private readonly creating = new Set<GroupId>();
  private readonly loop: ReadyLoop;
  private readonly snapshots: SnapshotTransfers;
  private readonly appliedListeners: AppliedListener[] = [];
  private readonly leaderListeners: LeaderChangeListener[] = [];
  private ticker: ReturnType<typeof setInterval> | undefined;
  /** The groups the ticker visits on every tick (quiesced idle ones are parked, see tick()). */
  private readonly ticking = new TickSet();
  /** Ticks so far (paces the pings of quiesced leaders). */
  private ticks = 0;
  /** When a raft frame last arrived from each peer (its node is alive; see tick()). */
  private readonly lastHeard = new Map<NodeId, number>();
  /** Set by stop(): incoming messages are ignored and no new batch starts. Never unset. */
  private stopped = false;
  /**
   * Fans group events out to subscribers. A listener that throws is logged and skipped: it
   * runs inside the loop, and one subscriber's bug must not stop replication of every group.
   */
  private readonly events: GroupEvents = {
    applied: (group, meta, result, isLeader) => {
      for (const l of this.appliedListeners) {
        try {
          l(group, meta, result, isLeader);
        } catch (err) {
          this.listenerFailed("onApplied", group, err);
        }
      }
    },
    leaderChanged: (group, leader) => {
      for (const l of this.leaderListeners) {
        try {
          l(group, leader);
        } catch (err) {
          this.listenerFailed("onLeaderChange", group, err);
        }
      }
    },
  };

  constructor(options: RaftHostOptions) {
    this.opts = resolveHostOptions(options);
    this.storage = options.storage;
    this.transport = options.transport;
    // The caller's logger is already bound to this node (`{node}`): adding it again would
    // write the key twice in every JSON line.
    this.logger = options.logger ?? noopLogger;
    this.snapshots = new SnapshotTransfers(
      this.transport,
      {
        readEntry: (group, index) => this.readEntry(group, index),
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
    if (this.ticker !== undefined || this.stopped) return;
    this.ticker = setInterval(() => this.tick(), this.opts.tickMs);
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
    this.ticking.delete(g);
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
      return Promise.reject(this.mapProposeError(g, err));
    }
    this.touch(g);
    return g.proposals.add<R>(at.index, at.term, now);
  }

  /** Resolves once this node (the leader) has applied everything committed before the call. */
  readIndex(group: GroupId): Promise<void> {
    const g = this.groups.get(group);
    if (g === undefined || this.stopped) return Promise.reject(new UnknownGroupError(group));
    if (!g.isLeader()) return Promise.reject(new NotLeaderError(group, hint(g.lead)));
    const { context, done } = g.reads.add(Date.now());
    g.node.readIndex(context);
    this.touch(g);
    return done;
  }

  /** Asks the leader to hand leadership to `to`; resolves when this node sees `to` lead. */
  async transferLeadership(group: GroupId, to: NodeId): Promise<void> {
    const g = this.mustGroup(group);
    if (g.lead === to) return;
    if (!g.isLeader()) throw new NotLeaderError(group, hint(g.lead));
    g.node.transferLeader(to);
    this.touch(g);
    const deadline = this.opts.electionTick * this.opts.tickMs * 3;
    const ok = await waitFor(() => g.lead === to || g.removed || this.stopped, deadline);
    if (!ok || g.lead !== to) {
      throw new RaftError(`leadership of ${group} did not move to ${to} within ${deadline} ms`);
    }
  }

  /** Adds `node` as a voter, or promotes it if it is a learner. Resolves when applied. */
  addVoter(group: GroupId, node: NodeId): Promise<void> {
    return this.changeConf(group, { type: ConfChangeType.AddVoter, node });
  }

  /** Adds `node` as a learner: it receives the log but does not vote. */
  addLearner(group: GroupId, node: NodeId): Promise<void> {
    return this.changeConf(group, { type: ConfChangeType.AddLearner, node });
  }

  /** Removes a voter or learner. */
  removeNode(group: GroupId, node: NodeId): Promise<void> {
    return this.changeConf(group, { type: ConfChangeType.RemoveNode, node });
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
  async readCommands(group: GroupId, indexes: readonly number[]): Promise<unknown[]> {
    const g = this.mustGroup(group);
    const entries: (Entry | undefined)[] = new Array(indexes.length);
    const misses: number[] = [];
    for (let k = 0; k < indexes.length; k++) {
      const e = g.entryInMemory(indexes[k]!);
      if (e === undefined) misses.push(k);
      else entries[k] = e;
    }
    if (misses.length > 0) {
      const read = await this.storage.readEntries(
        group,
        misses.map((k) => indexes[k]!),
      );
      for (let m = 0; m < misses.length; m++) entries[misses[m]!] = read[m];
    }
    return entries.map((e, k) => {
      const index = indexes[k]!;
      if (e === undefined) throw new RaftError(`group ${group} has no entry at ${index}`);
      if (e.type !== EntryType.Normal || e.data.byteLength === 0) {
        throw new RaftError(`entry ${index} of group ${group} carries no command`);
      }
      return decodeCommand(e.data, `${group}/${index}`).command;
    });
  }

  /** Subscribes to applied commands (see {@link AppliedListener}). */
  onApplied(cb: AppliedListener): void {
    this.appliedListeners.push(cb);
  }

  /** Subscribes to leader changes (see {@link LeaderChangeListener}). */
  onLeaderChange(cb: LeaderChangeListener): void {
    this.leaderListeners.push(cb);
  }

  /**
   * Graceful shutdown. With `transferLeadership`, each group this node leads is handed to a
   * caught-up voter first (so clients see a leader change, not an election timeout), waiting
   * at most one election timeout. Then the ticker stops, the running batch finishes, whatever
   * is staged is flushed, and everything still pending is rejected with ProposalDroppedError.
   */
  async stop(opts: { transferLeadership?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    if (opts.transferLeadership === true) await this.handOffLeadership();
    this.stopped = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.ticker = undefined;
    await this.loop.stop();
    this.snapshots.close();
    await this.storage.flush();
    for (const g of this.groups.values()) g.rejectAll("raft host stopped");
    this.groups.clear();
    this.ticking.clear();
  }

  /**
   * Asks each group this node leads to transfer to a voter whose log matches the leader's last
   * index (TimeoutNow needs a caught-up transferee, thesis §3.10), and waits for the moves.
   * Groups without such a voter are left to the election that follows the stop.
   */
  private async handOffLeadership(): Promise<void> {
    const led: Group[] = [];
    for (const g of this.groups.values()) {
      if (!g.isLeader()) continue;
      const st = g.node.status();
      const last = g.log.lastIndex();
      let target: NodeId | undefined;
      for (const [peer, pr] of st.progress ?? []) {
        if (peer !== this.opts.nodeId && st.conf.voters.includes(peer) && pr.match >= last) target = peer;
      }
      if (target === undefined) continue;
      g.node.transferLeader(target);
      led.push(g);
      this.touch(g);
    }
    if (led.length === 0) return;
    await waitFor(() => led.every((g) => !g.isLeader()), this.opts.electionTick * this.opts.tickMs * 2);
  }

  /** Proposes a membership change; settles like a proposal, when its entry is applied. */
  private async changeConf(group: GroupId, cc: ConfChange): Promise<void> {
    const g = this.mustGroup(group);
    let at: { index: number; term: number };
    try {
      at = g.node.proposeConfChange(cc);
    } catch (err) {
      throw this.mapProposeError(g, err);
    }
    this.touch(g);
    await g.proposals.add(at.index, at.term, Date.now());
  }

  /**
   * The one timer: logical time for every group, and the deadline sweep of proposals and reads.
   * A quiesced group is not ticked (raft/core/quiesce.ts). Since its followers then have no
   * election timer, the host watches its leader's node instead: any raft frame from it is a
   * sign of life (leaders of quiesced groups ping their followers' nodes for that), and a
   * quiesced follower whose leader's node was silent for an election timeout is woken, so a
   * frozen (SIGSTOP) or cut-off leader is replaced as it would be without quiescence. A crash
   * wakes it at once through the leader-lost hint. The watch runs both ways: parked followers
   * ping their leader's node, and a quiesced leader with a member's node silent for an election
   * timeout is woken, so its quorum check runs; otherwise a leader that still reaches its
   * followers but no longer hears them would keep them parked with its pings, and two
   * followers that talk to each other would stay without a leader they can reach, for as long
   * as the links stay broken. A quiesced group with nothing pending is
   * parked (tick-set.ts): visited per leader node, and on ping ticks, not on every tick.
   */
  private tick(): void {
    const now = Date.now();
    const o = this.opts;
    const silentMs = o.electionTick * o.tickMs;
    this.ticks++;
    const ping = this.ticks % Math.max(1, Math.floor(o.electionTick / 4)) === 0;
    const isSilent = (p: NodeId): boolean => now - (this.lastHeard.get(p) ?? 0) > silentMs;
    for (const lead of [...this.ticking.leaderNodes()]) {
      if (isSilent(lead)) for (const g of this.ticking.activateUnder(lead)) g.node.wake();
    }
    const pingTo = ping ? this.ticking.sweep() : new Set<NodeId>();
    if (ping) {
      // Parked followers ping their leaders' nodes too: the quiesced leader's host watches
      // its members' nodes (below), since a quiesced leader runs no check-quorum.
      for (const lead of this.ticking.leaderNodes()) pingTo.add(lead);
      for (const g of this.ticking.activateLeadersWithSilentMember(o.nodeId, isSilent)) g.node.wake();
    }
    for (const g of this.ticking.active) {
      g.proposals.expire(now);
      g.reads.expire(now);
      const node = g.node;
      if (node.isQuiesced()) {
        if (g.role === Role.Leader) {
          // A member's node went silent (it died, or our links from it broke while ours to
          // it still work): wake, so the quorum check runs and steps down a cut-off leader.
          if (hasSilentMember(g, o.nodeId, isSilent)) {
            node.wake();
            continue;
          }
          if (ping) for (const p of [...g.conf.voters, ...g.conf.learners]) pingTo.add(p);
        } else if (g.lead === NONE || isSilent(g.lead)) {
          node.wake();
          continue;
        } else if (ping) {
          pingTo.add(g.lead);
        }
        this.ticking.maybePark(g);
        continue;
      }
      node.tick();
      if (
        o.quiesce &&
        g.role === Role.Leader &&
        g.proposals.size === 0 &&
        g.reads.size === 0 &&
        !node.hasReady()
      )
        node.quiesce();
    }
    pingTo.delete(o.nodeId);
    // An empty raft payload: no group, just a sign of life (see onRaftPayload).
    for (const p of pingTo) this.transport.send(p, RAFT_CHANNEL, []);
    // A tick is an input for the groups it ticked. Every input wakes its group itself; a pass
    // over all groups once per election timeout is only a safety net for one that was missed.
    if (this.ticks % o.electionTick === 0) this.loop.wakeAll();
    else for (const g of this.ticking.active) this.loop.wake(g);
  }

  /** `g` got an input: tick it again if it was parked, and look at it in the next batch. */
  private touch(g: Group): void {
    this.ticking.activate(g);
    this.loop.wake(g);
  }

  /** Routes a peer's batch of `[group, message]` pairs to the groups' cores. */
  private onRaftPayload(from: NodeId, payload: unknown): void {
    if (this.stopped) return;
    const pairs = decodeRaftPayload(payload);
    if (pairs === undefined) {
      this.logger.warn({ peer: from }, "malformed raft payload dropped");
      return;
    }
    this.lastHeard.set(from, Date.now());
    for (const [group, m] of pairs) {
      const g = this.groups.get(group);
      // Unknown group: not created here yet, or removed. The leader retransmits.
      if (g !== undefined) this.step(g, m, from);
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
      else if (hint === "leader-lost") g.node.reportLeaderLost();
      if (hint !== undefined) this.ticking.activate(g);
    }
    this.loop.wakeAll();
  }

  /** An entry from the in-memory log if it still holds it, else from storage (live entries). */
  private async readEntry(group: GroupId, index: number) {
    const g = this.groups.get(group);
    const inMemory = g?.entryInMemory(index);
    if (inMemory !== undefined) return inMemory;
    return this.storage.readEntry(group, index);
  }

  private mustGroup(group: GroupId): Group {
    const g = this.groups.get(group);
    if (g === undefined || this.stopped) throw new UnknownGroupError(group);
    return g;
  }

  private listenerFailed(kind: string, group: GroupId, err: unknown): void {
    this.logger.error(
      { group, err: (err as Error).message, stack: (err as Error).stack },
      `${kind} listener threw`,
    );
  }

  /** The core's refusals, with this group's id and the best leader hint the host knows. */
  private mapProposeError(g: Group, err: unknown): Error {
    if (err instanceof NotLeaderError) return new NotLeaderError(g.id, err.leaderHint ?? hint(g.lead));
    if (err instanceof ProposalDroppedError) return err;
    return err as Error;
  }
}

/** NONE as undefined, the public API's "no leader known". */
function hint(lead: NodeId): NodeId | undefined {
  return lead === NONE ? undefined : lead;
}
