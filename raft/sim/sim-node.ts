/**
 * One simulated node: a RawNode driven the way a correct host drives it, over a simulated disk.
 *
 * For each Ready: write snapshot, entries and hard state to the disk's unsynced buffer; a leader
 * sends its MsgApp/MsgSnap at once (thesis §10.2.1: it may replicate before its own write
 * completes); wait for the fsync (a simulated latency during which the node queues its inputs,
 * and a crash loses the buffer); then put the durable data into the MemoryStorage the core
 * reads, send the remaining messages, apply committed entries and call `advance`.
 *
 * The node also takes snapshots of its state machine every `snapshotEvery` applied entries and
 * compacts its log, keeping a few trailing entries in memory so both MsgApp and MsgSnap paths
 * run. A crash drops everything but the disk's durable image; a restart rebuilds the RawNode
 * from it, with `applied` at the snapshot (the machine re-applies the rest).
 */
import {
  type ConfState,
  decodeConfChange,
  type Entry,
  EntryType,
  MemoryStorage,
  MessageType,
  NONE,
  type NodeId,
  NotLeaderError,
  ProposalDroppedError,
  RawNode,
  type Ready,
  Role,
} from "../core/index.js";
import { Invariant, Violation } from "./checkers.js";
import type { SimDisk } from "./disk.js";
import { SimMachine } from "./machine.js";
import type { Envelope, NodeParams, NodeWorld } from "./node-world.js";
import type { Prng } from "./prng.js";

export type { Envelope, HostBugs, NodeParams, NodeWorld } from "./node-world.js";

type Input =
  | { readonly kind: "msg"; readonly env: Envelope }
  | { readonly kind: "local"; readonly run: () => void };

/**
 * One node of the simulated cluster: its durable disk survives crashes, everything else
 * (core, in-memory storage, state machine, queued input) lives for one incarnation.
 *
 * Invariants the host keeps, which the checkers rely on:
 * - the MemoryStorage the core reads only ever holds what the disk made durable (entries,
 *   snapshot and hard state go in after the fsync, as etcd's hosts do);
 * - no vote or append acknowledgement leaves before the fsync of the Ready that carries it;
 *   only a leader's MsgApp/MsgSnap may (unless a {@link HostBugs} knob says otherwise);
 * - committed entries are applied in index order, exactly once per incarnation.
 */
export class SimNode {
  /** Bumped on every crash so stale fsync completions are ignored. */
  incarnation = 0;
  /** Up (booted and not crashed). A crashed node keeps its disk and can be restarted. */
  alive = false;
  /** Removed from the group for good (never restarted). */
  retired = false;
  /** Role, leader and term as of the last Ready (what a host knows), not the core's live view. */
  role: Role = Role.Follower;
  lead: NodeId = NONE;
  term = 0;
  /**
   * The process is stalled (a long GC or VM pause): its timers do not fire, input waits in
   * socket buffers, and a completed fsync is noticed only when it resumes.
   */
  paused = false;
  private syncedWhilePaused = false;
  /** Index of the last client command this node accepted (for the clients' flow control). */
  lastProposed = 0;
  /** The configuration as of the last applied entry. */
  conf: ConfState;

  /** The core of the current incarnation (undefined while down). */
  private raw: RawNode | undefined;
  /** What the core reads: the durable log, rebuilt from the disk at every boot. */
  private storage: MemoryStorage | undefined;
  private readonly machine: SimMachine;
  /**
   * The Ready waiting for its fsync. Unless `stepWhileSyncing`, the node takes no input
   * until it is done; either way no other Ready is taken before it is advanced.
   */
  private syncing: Ready | undefined;
  /** Input that arrived while the node could not step it (syncing or paused), in order. */
  private inbox: Input[] = [];
  /** Ticks that fired while syncing without `stepWhileSyncing`; replayed in order afterwards. */
  private pendingTicks = 0;
  /** Live entries shipped with a snapshot, by snapshot index, until the Ready installs it. */
  private incomingLive = new Map<number, readonly Entry[]>();
  /** Index of the newest snapshot (local or installed): the next local one comes `snapshotEvery` later. */
  private snapshotIndex = 0;
  /** Ticks a quiesced follower went without hearing its leader's node (see watchQuiescedLeader). */
  private silentTicks = 0;

  constructor(
    readonly id: NodeId,
    readonly disk: SimDisk,
    private readonly bootstrapConf: ConfState,
    private readonly params: NodeParams,
    private readonly rng: Prng,
    private readonly world: NodeWorld,
  ) {
    this.conf = bootstrapConf;
    this.machine = new SimMachine(params.liveEvery);
  }

  /**
   * Boots (or reboots) the node from its durable disk: snapshot into the storage and the
   * machine, then hard state and log. `applied` is the snapshot index, so the core hands out
   * every committed entry after it again and the machine (and the configuration, through
   * applyConfChange) catch up by re-applying them.
   */
  start(): void {
    const storage = new MemoryStorage(this.bootstrapConf);
    const snap = this.disk.snapshot;
    this.machine.reset();
    this.conf = this.bootstrapConf;
    if (snap && snap.meta.index > 0) {
      storage.applySnapshot(snap);
      this.conf = snap.meta.conf;
      const state = this.machine.restore(snap.data);
      this.world.checker.observeRestore(this.id, state, snap.live);
      this.checkLiveReadable(snap.live, "restart");
    }
    storage.setHardState(this.disk.hardState);
    storage.append(this.disk.entries());
    this.snapshotIndex = snap?.meta.index ?? 0;
    this.storage = storage;
    this.raw = new RawNode(
      {
        id: this.id,
        electionTick: this.params.electionTick,
        heartbeatTick: this.params.heartbeatTick,
        preVote: this.params.preVote,
        checkQuorum: this.params.checkQuorum,
        maxSizePerMsg: this.params.maxSizePerMsg,
        maxInflightMsgs: this.params.maxInflightMsgs,
        ...(this.params.maxCommittedSizePerReady > 0
          ? { maxCommittedSizePerReady: this.params.maxCommittedSizePerReady }
          : {}),
        applied: this.snapshotIndex,
        random: this.rng.float,
      },
      storage,
    );
    this.alive = true;
    this.role = Role.Follower;
    this.lead = NONE;
    this.term = this.disk.hardState.term;
    this.pump();
  }

  /** Power loss: the unsynced buffer, the RawNode, the machine and queued inputs are gone. */
  crash(): number {
    this.alive = false;
    this.incarnation++;
    this.raw = undefined;
    this.storage = undefined;
    this.syncing = undefined;
    this.inbox = [];
    this.pendingTicks = 0;
    this.incomingLive.clear();
    this.lastProposed = 0;
    this.paused = false;
    this.syncedWhilePaused = false;
    this.role = Role.Follower;
    this.lead = NONE;
    return this.disk.crash();
  }

  get appliedIndex(): number {
    return this.machine.appliedIndex;
  }

  /** The core, for client operations; throws if the node is down (a simulator bug). */
  get core(): RawNode {
    if (!this.raw) throw new Error(`${this.id} is down`);
    return this.raw;
  }

  /** True when the node can take a client request right now. */
  get ready(): boolean {
    return this.alive && !this.paused && (this.syncing === undefined || this.params.stepWhileSyncing);
  }

  tick(): void {
    if (!this.alive || this.paused) return;
    if (this.syncing && !this.params.stepWhileSyncing) {
      this.pendingTicks++;
      return;
    }
    this.watchQuiescedLeader();
    this.guard(() => this.core.tick());
    // The host's policy (raft/host RaftHost.tick): an idle leader quiesces its group.
    if (this.params.quiesce && this.role === Role.Leader && !this.syncing && !this.core.hasReady())
      this.guard(() => this.core.quiesce());
    this.pump();
  }

  /**
   * A quiesced follower has no election timer; the host watches the leader's node instead and
   * wakes the group after an election timeout without a sign of life from it. The real host
   * sees frames (and pings); here the world says whether the leader's node could be heard.
   */
  private watchQuiescedLeader(): void {
    if (!this.core.isQuiesced()) {
      this.silentTicks = 0;
      return;
    }
    if (this.role === Role.Leader) {
      // The other side of the watch: a quiesced leader runs no check-quorum, so the host wakes
      // it when a member's node went silent (its followers' nodes ping it), and the woken
      // leader's quorum check steps it down if the followers no longer reach it.
      const voters = this.core.status().conf.voters;
      if (voters.every((p) => p === this.id || this.world.canHear(this.id, p))) this.silentTicks = 0;
      else if (++this.silentTicks > this.params.electionTick) {
        this.silentTicks = 0;
        this.world.note(this.id, "wake", "a member's node is silent");
        this.guard(() => this.core.wake());
      }
      return;
    }
    if (this.lead !== NONE && this.world.canHear(this.id, this.lead)) this.silentTicks = 0;
    else if (++this.silentTicks > this.params.electionTick) {
      this.silentTicks = 0;
      this.world.note(this.id, "wake", `leader ${this.lead || "-"} silent`);
      this.guard(() => this.core.wake());
    }
  }

  /** A message arrived from the network. */
  receive(env: Envelope): void {
    if (!this.alive) return;
    this.enqueue({ kind: "msg", env });
  }

  /** A local input (report*, leader-lost hint, client request) run when the node is free. */
  local(run: () => void): void {
    if (!this.alive) return;
    this.enqueue({ kind: "local", run });
  }

  /** The disk finished the fsync scheduled for `incarnation`. */
  fsyncDone(incarnation: number): void {
    if (!this.alive || incarnation !== this.incarnation || !this.syncing) return;
    if (this.paused) {
      this.syncedWhilePaused = true;
      return;
    }
    const rd = this.syncing;
    this.finishReady(rd, true);
    this.pump();
  }

  /** Runs `fn` on the core; expected role errors return undefined, anything else is a violation. */
  client<T>(fn: (core: RawNode) => T): T | undefined {
    if (!this.ready) return undefined;
    let out: T | undefined;
    try {
      out = fn(this.core);
    } catch (err) {
      if (err instanceof NotLeaderError || err instanceof ProposalDroppedError) return undefined;
      throw coreError(this.id, err);
    }
    this.pump();
    return out;
  }

  /** Stalls the process until {@link resume}. */
  pause(): void {
    if (this.alive) this.paused = true;
  }

  /** The stall ends: finish an fsync that completed meanwhile, then take the queued input. */
  resume(): void {
    if (!this.alive || !this.paused) return;
    this.paused = false;
    if (this.syncedWhilePaused && this.syncing) {
      this.syncedWhilePaused = false;
      this.finishReady(this.syncing, true);
    }
    this.pump();
  }

  private enqueue(input: Input): void {
    if (this.paused || (this.syncing && !this.params.stepWhileSyncing)) {
      this.inbox.push(input);
      return;
    }
    this.handle(input);
    this.pump();
  }

  private handle(input: Input): void {
    if (input.kind === "local") {
      this.guard(input.run);
      return;
    }
    const { msg, liveEntries } = input.env;
    if (msg.type === MessageType.MsgSnap && msg.snapshot && liveEntries) {
      this.incomingLive.set(msg.snapshot.meta.index, liveEntries);
    }
    this.guard(() => this.core.step(msg));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof Violation) throw err;
      throw coreError(this.id, err);
    }
  }

  /** Processes Ready batches until the core has nothing more or a fsync is pending. */
  private pump(): void {
    if (this.alive && this.syncing && !this.paused) {
      // As the host's loop does while a write is in flight (raft/host/ready-loop.ts onTurn).
      for (const m of this.core.takeHeartbeats()) this.world.transmit(this, m);
    }
    while (this.alive && !this.syncing && !this.paused) {
      if (this.pendingTicks > 0 || this.inbox.length > 0) {
        const ticks = this.pendingTicks;
        const inbox = this.inbox;
        this.pendingTicks = 0;
        this.inbox = [];
        for (let i = 0; i < ticks; i++) this.guard(() => this.core.tick());
        for (const input of inbox) this.handle(input);
      }
      if (!this.core.hasReady()) return;
      let rd: Ready | undefined;
      this.guard(() => {
        rd = this.core.ready();
      });
      if (rd) this.startReady(rd);
    }
  }

  /**
   * Step 1 of a Ready (types.ts documents the order): buffer the writes, let a leader's
   * replication go out at once, then fsync (now or after a simulated latency) before the rest.
   */
  private startReady(rd: Ready): void {
    const checker = this.world.checker;
    if (rd.hardState) this.term = rd.hardState.term;
    if (rd.softState) this.observeRole(rd);
    // The leader is about to apply (so acknowledge) these: they must already be safe. Its
    // configuration only changes when it applies a ConfChange, so `conf` is the one it counted with
    // (or one change later, which the "every quorum" form of the check tolerates).
    if (this.role === Role.Leader && rd.committedEntries.length > 0) {
      checker.checkCommitDurable(this.id, rd.committedEntries, this.conf, this.world.diskOf);
    }
    if (rd.snapshot) {
      const liveEntries = this.incomingLive.get(rd.snapshot.meta.index) ?? [];
      this.disk.write({ kind: "install", snapshot: rd.snapshot, liveEntries });
    }
    if (rd.entries.length > 0) this.disk.write({ kind: "entries", entries: rd.entries });
    if (rd.hardState) this.disk.write({ kind: "hardState", hardState: rd.hardState });

    // Thesis §10.2.1: a leader may send its appends before its own write is durable; the core
    // counts its own match only at advance(). Anything else waits for the fsync.
    const early = this.params.bugs.sendBeforeFsync === true;
    const leader = this.role === Role.Leader;
    for (const m of rd.messages) {
      if (early || (leader && (m.type === MessageType.MsgApp || m.type === MessageType.MsgSnap))) {
        this.world.transmit(this, m);
      }
    }
    if (!rd.mustSync && rd.entries.length > 0) {
      throw new Violation(
        Invariant.LogIntegrity,
        `${this.id}: a Ready carries entries but mustSync is false`,
      );
    }
    // etcd leaves snapshots out of mustSync; a careful host syncs them anyway.
    if (!rd.mustSync && !rd.snapshot) {
      this.finishReady(rd, false);
      return;
    }
    let delay = this.params.maxFsyncDelay > 0 ? this.rng.range(0, this.params.maxFsyncDelay) : 0;
    // Now and then the disk stalls for 3 to 10 ticks (a busy device, a journal commit): the
    // leader keeps replicating meanwhile and its followers may commit without it.
    if (this.params.maxFsyncDelay > 0 && this.rng.chance(0.01)) delay += this.rng.range(24, 80);
    if (delay === 0) {
      this.finishReady(rd, true);
      return;
    }
    this.syncing = rd;
    this.world.scheduleFsync(this.id, this.incarnation, delay);
  }

  /**
   * Tracks the role the Ready reports. Becoming leader is where election safety and leader
   * completeness are checked: its log is the storage (durable, previous Readys) plus this
   * Ready's entries (its no-op), which the overlay in `termAt` reads first.
   */
  private observeRole(rd: Ready): void {
    const soft = rd.softState!;
    const wasLeader = this.role === Role.Leader;
    this.role = soft.role;
    this.lead = soft.lead;
    const term0 = this.term;
    this.world.note(this.id, "role", () => `${roleName(soft.role)} lead=${soft.lead || "-"} term=${term0}`);
    if (soft.role !== Role.Leader || wasLeader) return;
    this.lastProposed = 0;
    const term = this.core.status().term;
    this.term = term;
    this.world.checker.observeLeader(term, this.id);
    const storage = this.storage!;
    const overlay = rd.entries;
    const overlayFirst = overlay[0]?.index ?? Number.POSITIVE_INFINITY;
    this.world.checker.checkLeaderCompleteness(this.id, term, storage.firstIndex(), (i) => {
      if (i >= overlayFirst) return overlay[i - overlayFirst]?.term;
      try {
        return storage.term(i);
      } catch {
        return undefined;
      }
    });
    this.world.elected(this, term);
  }

  /** After the fsync (or at once when nothing had to be synced): storage, send, apply, advance. */
  private finishReady(rd: Ready, synced: boolean): void {
    this.syncing = undefined;
    const checker = this.world.checker;
    if (synced) {
      const before = this.disk.hardState;
      const report = this.disk.fsync();
      checker.observeHardState(this.id, before, this.disk.hardState);
      checker.observeAnomalies(this.id, report.anomalies);
      checker.observeLost(this.id, report.lost);
      checker.observeDurableAppend(this.id, report.appended);
    }
    const storage = this.storage!;
    if (rd.snapshot) this.installSnapshot(storage, rd);
    if (rd.entries.length > 0) this.guard(() => storage.append(rd.entries));
    if (rd.hardState) storage.setHardState(rd.hardState);

    const early = this.params.bugs.sendBeforeFsync === true;
    const leader = this.role === Role.Leader;
    for (const m of rd.messages) {
      if (early || (leader && (m.type === MessageType.MsgApp || m.type === MessageType.MsgSnap))) continue;
      this.world.transmit(this, m);
    }
    for (const rs of rd.readStates) this.world.readState(this, rs);
    for (const e of rd.committedEntries) this.applyEntry(e);
    this.guard(() => this.core.advance(rd));
    this.maybeSnapshot(storage);
  }

  private installSnapshot(storage: MemoryStorage, rd: Ready): void {
    const snap = rd.snapshot!;
    this.incomingLive.delete(snap.meta.index);
    this.guard(() => storage.applySnapshot(snap));
    const state = this.machine.restore(snap.data);
    this.world.checker.observeRestore(this.id, state, snap.live);
    this.checkLiveReadable(snap.live, "install");
    this.conf = snap.meta.conf;
    this.snapshotIndex = snap.meta.index;
    this.world.note(
      this.id,
      "install",
      () => `snapshot ${snap.meta.index}:${snap.meta.term} live=[${snap.live.join(",")}]`,
    );
  }

  private applyEntry(e: Entry): void {
    if (e.index !== this.machine.appliedIndex + 1) {
      throw new Violation(
        Invariant.StateMachineSafety,
        `${this.id} was handed committed entry ${e.index} to apply after ${this.machine.appliedIndex}`,
      );
    }
    let isCommand = false;
    if (e.type === EntryType.ConfChange) {
      const cc = decodeConfChange(e.data);
      let conf: ConfState | undefined;
      this.guard(() => {
        conf = this.core.applyConfChange(cc, e.index);
      });
      this.conf = conf!;
      this.storage!.setConfState(this.conf);
      this.world.confApplied(this, e.index, cc, this.conf);
    } else {
      isCommand = e.data.length > 0;
    }
    const hash = this.machine.apply(e, isCommand);
    this.world.checker.observeApplied(this.id, e, hash, this.term);
    this.world.applied(this, e);
  }

  /** Takes a local snapshot every `snapshotEvery` applied entries and compacts memory and disk. */
  private maybeSnapshot(storage: MemoryStorage): void {
    const applied = this.machine.appliedIndex;
    if (applied - this.snapshotIndex < this.params.snapshotEvery) return;
    const state = this.machine.state;
    const snap = storage.createSnapshot(applied, this.conf, this.machine.snapshotData(), state.live);
    this.snapshotIndex = applied;
    const keepFrom = applied - this.params.snapshotTrail;
    if (keepFrom >= storage.firstIndex()) storage.compact(keepFrom);
    this.disk.write({ kind: "compact", snapshot: snap });
    this.world.note(this.id, "snapshot", () => `at ${applied} live=[${state.live.join(",")}]`);
  }

  /** Every live index a snapshot names must be readable from this node's disk (log or live store). */
  private checkLiveReadable(live: readonly number[], when: string): void {
    for (const i of live) {
      if (!this.disk.readEntry(i)) {
        throw new Violation(Invariant.LiveEntries, `${this.id} cannot read live entry ${i} after ${when}`);
      }
    }
  }
}

function coreError(node: NodeId, err: unknown): Violation {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new Violation(Invariant.CoreError, `${node}: ${text}`);
}

/** Printable role name. */
export function roleName(r: Role): string {
  switch (r) {
    case Role.Leader:
      return "leader";
    case Role.Candidate:
      return "candidate";
    case Role.PreCandidate:
      return "pre-candidate";
    default:
      return "follower";
  }
}
