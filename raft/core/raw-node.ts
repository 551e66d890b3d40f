/**
 * The public face of the core (etcd's RawNode): one instance per group, driven by the host.
 *
 * Inputs: tick(), step(m), propose(), and the other requests. Outputs: a {@link Ready} batch
 * the host persists, sends and applies in the documented order, then acknowledges with
 * advance(). Between ready() and advance() the host may keep stepping messages and ticking;
 * it must not ask for another Ready (hasReady() answers false meanwhile).
 */
import { RaftInvariantError } from "../errors.js";
import type { Logger } from "../logger.js";
import { noopLogger } from "../logger.js";
import { applyConfChange, proposeConfChange } from "./membership.js";
import { maybeQuiesce, wake } from "./quiesce.js";
import { Raft } from "./raft.js";
import { flushBcast } from "./replicate.js";
import type { LogStorage } from "./storage.js";
import type { ProgressState } from "./tracker/progress.js";
import type { ConfChange, ConfState, HardState, Message, NodeId, Ready, Role, SoftState } from "./types.js";
import { MessageType, NONE, Role as Roles } from "./types.js";

/** Settings of one group's Raft. Ticks are the host's unit of time. */
export interface RaftConfig {
  id: NodeId;
  /** Followers campaign after [electionTick, 2*electionTick) ticks without a leader (§5.2). */
  electionTick: number;
  /** The leader sends heartbeats every heartbeatTick ticks; must be < electionTick. */
  heartbeatTick: number;
  /** Run a pre-vote round before a real election (thesis §9.6). */
  preVote: boolean;
  /** Leader steps down without a quorum; followers honour a leader lease (thesis §6.2, §4.2.3). */
  checkQuorum: boolean;
  /** Max bytes of entry data per MsgApp (at least one entry is always sent). */
  maxSizePerMsg: number;
  /** Pipelining window: unacknowledged MsgApps per follower in replicate state. */
  maxInflightMsgs: number;
  /** Last applied index on restart: committed entries up to it are not handed out again. */
  applied?: number;
  /** Randomness in [0, 1) for election timeouts: seeded in the simulator. */
  random: () => number;
  logger?: Logger;
  /** The group's id, used in error messages. */
  group?: string;
  /** After reportLeaderLost(), campaign within [1, leaderLostTicks] ticks. Default: max(2, electionTick / 3). */
  leaderLostTicks?: number;
  /** Max bytes of committed entries per Ready (at least one entry). Default: unlimited. */
  maxCommittedSizePerReady?: number;
}

/** A node's view of one member (leader only). */
export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
}

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lead: NodeId;
  readonly role: Role;
  /** Present on the leader. */
  readonly progress?: Map<NodeId, ProgressStatus>;
  readonly conf: ConfState;
  /** The node leadership is being transferred to, or NONE. */
  readonly leadTransferee: NodeId;
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoft: SoftState;
  private prevHard: HardState;
  /** The Ready handed out and not yet advanced. */
  private outstanding: Ready | undefined;

  constructor(config: RaftConfig, storage: LogStorage) {
    validate(config);
    this.raft = new Raft(
      {
        id: config.id,
        group: config.group ?? "",
        electionTick: config.electionTick,
        heartbeatTick: config.heartbeatTick,
        preVote: config.preVote,
        checkQuorum: config.checkQuorum,
        maxSizePerMsg: config.maxSizePerMsg,
        maxInflightMsgs: config.maxInflightMsgs,
        maxCommittedSizePerReady: config.maxCommittedSizePerReady ?? Number.POSITIVE_INFINITY,
        applied: config.applied ?? 0,
        random: config.random,
        logger: config.logger ?? noopLogger,
        leaderLostTicks: config.leaderLostTicks ?? Math.max(2, Math.floor(config.electionTick / 3)),
      },
      storage,
    );
    this.prevSoft = this.raft.softState();
    this.prevHard = this.raft.hardState();
  }

  /** Advances logical time by one tick (election and heartbeat timers); nothing while quiesced. */
  tick(): void {
    this.raft.tick();
  }

  /**
   * Leader only: quiesces the group if it is idle (quiesce.ts), telling the followers in the
   * next Ready. Returns whether it did. Call it between Readies, when the host has nothing
   * pending for the group either (no proposal or read waiting).
   */
  quiesce(): boolean {
    return maybeQuiesce(this.raft);
  }

  /** True while this node's timers are stopped (the host may skip its ticks). */
  isQuiesced(): boolean {
    return this.raft.quiesced;
  }

  /**
   * The commit index when this node leads, else -1: what `status()` tells, without copying the
   * configuration and every peer's progress (the host asks after every turn with acks).
   */
  leaderCommit(): number {
    return this.raft.role === Roles.Leader ? this.raft.log.committed : -1;
  }

  /** The current term (as `status().term`, without the copy). */
  term(): number {
    return this.raft.term;
  }

  /** Restarts this node's timers (e.g. the leader's node went silent); a no-op when awake. */
  wake(): void {
    wake(this.raft);
  }

  /** Starts an election now (pre-vote first when enabled). */
  campaign(): void {
    this.raft.step(local(MessageType.MsgHup));
  }

  /**
   * Leader only: appends `data` at once and returns where it landed. Throws NotLeaderError
   * (with the known leader as hint) on other nodes, ProposalDroppedError while a leadership
   * transfer is pending. The entry is broadcast with the next Ready; it commits when a
   * majority, this leader included, made it durable.
   */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.raft.propose(data, 0);
  }

  /**
   * Leader only: proposes a membership change (one voter at a time). Throws
   * ProposalDroppedError while an earlier change is not applied yet or when the change would
   * leave no voter.
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    return proposeConfChange(this.raft, cc);
  }

  /**
   * The host calls it when it applies the committed ConfChange entry at `index` (in index order,
   * possibly before the `advance()` of the Ready that handed it out), and persists the returned
   * configuration with its snapshot/state. From then on the change is in effect (`status().conf`)
   * and the next one may be proposed.
   */
  applyConfChange(cc: ConfChange, index: number): ConfState {
    return applyConfChange(this.raft, cc, index);
  }

  /**
   * Feeds a message from a peer, or a local one (MsgLeaderLost, MsgUnreachable, ...).
   * Responses from nodes outside the configuration are ignored.
   */
  step(m: Message): void {
    this.raft.step(m);
  }

  /**
   * Removes and returns the heartbeats and heartbeat responses waiting for the next Ready. The
   * host may take them at any time, also while a Ready is outstanding: they promise nothing
   * about this node's durable state (a heartbeat's commit is at most what its follower has
   * acknowledged; etcd sends both without waiting for storage either). Taking them keeps a
   * leader heard while its own write is in flight: a write slower than the election timeout
   * would otherwise depose a healthy leader.
   */
  takeHeartbeats(): readonly Message[] {
    const r = this.raft;
    if (!r.msgs.some(isHeartbeat)) return NO_MESSAGES;
    const out = r.msgs.filter(isHeartbeat);
    r.msgs = r.msgs.filter((m) => !isHeartbeat(m));
    return out;
  }

  /** True when a Ready with something to do is available (and none is outstanding). */
  hasReady(): boolean {
    if (this.outstanding) return false;
    const r = this.raft;
    if (r.needBcast || r.msgs.length > 0 || r.readStates.length > 0) return true;
    if (r.log.unstable.entries.length > 0 || r.log.unstable.snapshot) return true;
    if (r.log.hasNextCommittedEntries()) return true;
    // Field by field rather than through softState()/hardState(): the host asks every group
    // it woke on every batch, and those allocate.
    const soft = this.prevSoft;
    if (r.lead !== soft.lead || r.role !== soft.role) return true;
    const hard = this.prevHard;
    return r.term !== hard.term || r.vote !== hard.vote || r.log.committed !== hard.commit;
  }

  /** Takes the next batch of work. The host must call advance(rd) before the next ready(). */
  ready(): Ready {
    if (this.outstanding) throw new RaftInvariantError("ready() called again before advance()");
    const r = this.raft;
    flushBcast(r);
    const soft = r.softState();
    const hard = r.hardState();
    const entries = r.log.unstableEntries();
    const snapshot = r.log.unstable.snapshot;
    const rd: { -readonly [K in keyof Ready]: Ready[K] } = {
      entries,
      committedEntries: r.log.nextCommittedEntries(r.opts.maxCommittedSizePerReady),
      messages: r.msgs,
      readStates: r.readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        hard.term !== this.prevHard.term ||
        hard.vote !== this.prevHard.vote,
    };
    if (soft.lead !== this.prevSoft.lead || soft.role !== this.prevSoft.role) {
      rd.softState = soft;
      this.prevSoft = soft;
    }
    if (!sameHardState(hard, this.prevHard)) {
      rd.hardState = hard;
      this.prevHard = hard;
    }
    if (snapshot) rd.snapshot = snapshot;
    r.msgs = [];
    r.readStates = [];
    this.outstanding = rd;
    return rd;
  }

  /**
   * The host finished `rd`: its snapshot and entries are durable, its messages sent, its
   * committed entries applied. On a leader this is when its own entries start to count
   * towards the commit majority.
   */
  advance(rd: Ready): void {
    if (rd !== this.outstanding)
      throw new RaftInvariantError("advance() with a Ready that is not the outstanding one");
    this.outstanding = undefined;
    const log = this.raft.log;
    if (rd.snapshot) {
      log.stableSnapTo(rd.snapshot.meta.index);
      // The host restored the state machine from it.
      if (rd.snapshot.meta.index > log.applied && rd.snapshot.meta.index <= log.committed) {
        log.appliedTo(rd.snapshot.meta.index);
      }
    }
    const last = rd.entries[rd.entries.length - 1];
    if (last) log.stableTo(last.index, last.term);
    const applied = rd.committedEntries[rd.committedEntries.length - 1];
    if (applied) log.appliedTo(applied.index);
    this.raft.onPersisted();
    this.restartCandidateTimer(rd);
  }

  /**
   * A candidate's vote requests leave only now, after its own fsync of term and vote: its
   * election timeout counts from here, so time spent on its own disk is not taken from the
   * voters, who need an fsync of their own before they answer (Raft §5.2: the candidate waits
   * for votes an election timeout; under a loaded disk the two fsyncs can take most of it).
   */
  private restartCandidateTimer(rd: Ready): void {
    const r = this.raft;
    if (r.role !== Roles.Candidate) return;
    if (rd.messages.some((m) => m.type === MessageType.MsgVote && m.term === r.term)) r.electionElapsed = 0;
  }

  /** Asks the leader to hand leadership to `to` (thesis §3.10). Followers forward it. */
  transferLeader(to: NodeId): void {
    this.raft.step({ type: MessageType.MsgTransferLeader, to: this.raft.id, from: to, term: 0 });
  }

  /**
   * Requests a linearizable read point (thesis §6.4). The answer arrives in a later
   * Ready.readStates with the same context; it is dropped if leadership changes (retry).
   * The context is opaque to the core and only echoed back; the confirming heartbeat round
   * carries a context the leader generates, so equal contexts on different nodes are fine.
   */
  readIndex(context: Uint8Array): void {
    this.raft.step({ type: MessageType.MsgReadIndex, to: this.raft.id, from: NONE, term: 0, context });
  }

  /** The host could not deliver a message to `id`. */
  reportUnreachable(id: NodeId): void {
    this.raft.step({ type: MessageType.MsgUnreachable, to: this.raft.id, from: id, term: 0 });
  }

  /** The host finished (ok) or gave up (!ok) sending a snapshot to `id`. */
  reportSnapshot(id: NodeId, ok: boolean): void {
    this.raft.step({ type: MessageType.MsgSnapStatus, to: this.raft.id, from: id, term: 0, reject: !ok });
  }

  /**
   * The host's connection to the current leader died: forget the leader (ending its lease
   * here) and start a pre-vote within a few ticks instead of a whole election timeout.
   */
  reportLeaderLost(): void {
    this.raft.step(local(MessageType.MsgLeaderLost));
  }

  status(): Status {
    const r = this.raft;
    const base = {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lead: r.lead,
      role: r.role,
      conf: r.trk.confState(),
      leadTransferee: r.leadTransferee,
    };
    if (r.role !== Roles.Leader) return base;
    const progress = new Map<NodeId, ProgressStatus>();
    for (const [id, pr] of r.trk.progress)
      progress.set(id, { match: pr.match, next: pr.next, state: pr.state });
    return { ...base, progress };
  }
}

const NO_MESSAGES: readonly Message[] = [];

function isHeartbeat(m: Message): boolean {
  return m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgHeartbeatResp;
}

function local(type: (typeof MessageType)[keyof typeof MessageType]): Message {
  return { type, to: NONE, from: NONE, term: 0 };
}

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function validate(c: RaftConfig): void {
  const bad = (msg: string) => {
    throw new RaftInvariantError(`invalid raft config: ${msg}`);
  };
  if (c.id === NONE) bad("id must not be empty");
  if (!(c.heartbeatTick > 0)) bad("heartbeatTick must be > 0");
  if (!(c.electionTick > c.heartbeatTick)) bad("electionTick must be > heartbeatTick");
  if (!(c.maxInflightMsgs > 0)) bad("maxInflightMsgs must be > 0");
  if (!(c.maxSizePerMsg > 0)) bad("maxSizePerMsg must be > 0");
  if (c.leaderLostTicks !== undefined && !(c.leaderLostTicks >= 1)) bad("leaderLostTicks must be >= 1");
}
