/**
 * The Raft state machine of one group (etcd's `raft` struct): persistent and volatile state
 * of Raft Figure 2, the role transitions, and the helpers the per-role step functions share.
 *
 * Everything is driven by three inputs: `tick()` (logical time), `step(message)` and
 * `propose()`. Outputs accumulate in `msgs` / `readStates` and the log's unstable part until
 * the RawNode packs them into a Ready. Timers are turned into local messages (MsgHup, MsgBeat,
 * MsgCheckQuorum) so every state change goes through `step()`.
 */
import { NotLeaderError, ProposalDroppedError, RaftInvariantError } from "../errors.js";
import type { Logger } from "../logger.js";
import { RaftLog } from "./log/raft-log.js";
import { isQuiesceHeartbeat, wake } from "./quiesce.js";
import { ReadOnly } from "./read-only.js";
import { stepTerm } from "./step.js";
import { stepCandidate } from "./step-candidate.js";
import { stepFollower } from "./step-follower.js";
import { releasePendingReadIndexMessages, stepLeader } from "./step-leader.js";
import type { LogStorage } from "./storage.js";
import { ProgressTracker } from "./tracker/tracker.js";
import type { Entry, HardState, Message, MessageType as MT, NodeId, ReadState, SoftState } from "./types.js";
import { EntryType, MessageType, NONE, Role } from "./types.js";

/** The validated settings a Raft instance runs with (see RaftConfig for their meaning). */
export interface RaftOptions {
  readonly id: string;
  readonly group: string;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly maxCommittedSizePerReady: number;
  readonly applied: number;
  readonly random: () => number;
  readonly logger: Logger;
  readonly leaderLostTicks: number;
}

/** A message under construction: `from` (and usually `term`) are filled in by send(). */
export type Outgoing = { -readonly [K in keyof Message]?: Message[K] } & { type: MT; to: string };

export class Raft {
  readonly id: string;
  readonly opts: RaftOptions;
  /** currentTerm (Figure 2): persisted before answering any RPC. */
  term = 0;
  /** votedFor in `term` (Figure 2), or NONE. */
  vote = NONE;
  /** The leader this node follows in `term`, or NONE. */
  lead = NONE;
  role: Role = Role.Follower;
  readonly log: RaftLog;
  readonly trk: ProgressTracker;
  /** Outgoing messages until the next Ready. */
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** This node is a learner of the current configuration. */
  isLearner = false;
  /** Node leadership is being transferred to (leader only), or NONE. */
  leadTransferee = NONE;
  /**
   * Index of the latest ConfChange entry this leader appended (or its last index at election):
   * a new change may be proposed only once the host has applied past it (one at a time).
   */
  pendingConfIndex = 0;
  /**
   * Index of the latest ConfChange entry the host applied (`applyConfChange`). The host applies
   * in index order, so everything up to it is applied even while `log.applied`, which moves only
   * at `advance()`, still lags (a leader applies commits while its next write runs).
   */
  confAppliedIndex = 0;
  readOnly = new ReadOnly();
  /** Reads that arrived before the leader committed an entry of its term (thesis §6.4). */
  pendingReadIndexMessages: Message[] = [];
  /** Ticks since the last election timeout reset (followers: since hearing from the leader). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  /** In [electionTick, 2*electionTick): spreads candidates out to avoid split votes (§5.2). */
  randomizedElectionTimeout = 0;
  /**
   * Set by the leader-lost hint until a leader is known again (with pre-vote; without it,
   * until the next campaign): election timeouts are drawn from
   * [leaderLostTicks, 2*leaderLostTicks) instead of [electionTick, 2*electionTick), so a
   * split vote among the survivors also resolves within a few ticks.
   */
  fastElection = false;
  /**
   * Entries were appended, or the commit index advanced, since the last broadcast; the
   * RawNode flushes once per Ready (replicate.ts, flushBcast).
   */
  needBcast = false;
  /**
   * The group is idle and this node stopped its timers (quiesce.ts): `tick()` does nothing
   * until something wakes it. Never persisted: a restarted node starts awake.
   */
  quiesced = false;

  constructor(opts: RaftOptions, storage: LogStorage) {
    this.id = opts.id;
    this.opts = opts;
    const { hardState, confState } = storage.initialState();
    this.log = new RaftLog(storage, 0);
    this.trk = new ProgressTracker(opts.maxInflightMsgs);
    this.trk.applyConf(confState, this.log.lastIndex() + 1);
    this.isLearner = this.trk.isLearner(this.id);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) {
      if (hardState.commit > this.log.lastIndex()) {
        throw new RaftInvariantError(
          `hard state commit ${hardState.commit} is beyond the last index ${this.log.lastIndex()}`,
        );
      }
      // A commit index below the snapshot (a hard state written without sync, then a crash)
      // is harmless: everything a snapshot covers is committed by definition.
      this.log.committed = Math.max(this.log.committed, hardState.commit);
      this.term = hardState.term;
      this.vote = hardState.vote;
    }
    if (opts.applied > 0) {
      if (opts.applied > this.log.committed) {
        throw new RaftInvariantError(
          `applied ${opts.applied} is beyond the commit index ${this.log.committed}`,
        );
      }
      this.log.appliedTo(opts.applied);
    }
    this.becomeFollower(this.term, NONE);
  }

  /** Figure 2's persistent state (plus the commit index, as etcd persists it). */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Volatile state the host reports (leader changes), never persisted. */
  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  /** Can this node become leader? Only voters campaign (learners and removed nodes never do). */
  promotable(): boolean {
    return this.trk.isVoter(this.id);
  }

  // ---------------------------------------------------------------- sending

  /** Queues `m` for the next Ready, stamping `from` and, where the protocol wants it, `term`. */
  send(m: Outgoing): void {
    m.from = this.id;
    const t = m.type;
    if (
      t === MessageType.MsgVote ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVote ||
      t === MessageType.MsgPreVoteResp
    ) {
      // Vote terms are chosen by the caller (a pre-vote asks for a future term).
      if (m.term === undefined || m.term === 0)
        throw new RaftInvariantError(`vote message ${t} without a term`);
    } else if (t === MessageType.MsgReadIndex) {
      // Forwarded to the leader as if local: the leader answers whatever its term.
      m.term = 0;
    } else {
      m.term = this.term;
    }
    this.msgs.push(m as Message);
  }

  /** Advances the commit index to what a majority holds, if of the current term (Figure 8). */
  maybeCommit(): boolean {
    return this.log.maybeCommit(this.trk.committed(), this.term);
  }

  /**
   * The host reported everything up to the log's stable index durable: on a leader that is
   * its own vote in the commit count (it never counts entries only in flight to its disk).
   */
  onPersisted(): void {
    if (this.role !== Role.Leader) return;
    const pr = this.trk.progress.get(this.id);
    if (!pr) return;
    const stable = Math.min(this.log.stableIndex(), this.log.lastIndex());
    if (pr.maybeUpdate(stable) && this.maybeCommit()) this.onCommitAdvanced();
  }

  /**
   * After the leader's commit index moved: release queued reads, and tell the followers with
   * the next Ready's broadcast (flushBcast), not at once. The messages would leave with that
   * Ready anyway; deferring them coalesces every commit advance of a Ready cycle (one per
   * ack, typically) and the cycle's new entries into one MsgApp per follower, instead of an
   * empty MsgApp per follower per advance, each answered by a MsgAppResp.
   */
  onCommitAdvanced(): void {
    releasePendingReadIndexMessages(this);
    this.needBcast = true;
  }

  // ---------------------------------------------------------------- roles

  /** Resets volatile state for a new term (or a new role in the same term). */
  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      // Figure 2: "nextIndex [initialized to leader last log index + 1], matchIndex
      // [initialized to 0]"; every follower starts in probe state.
      pr.match = 0;
      pr.becomeProbe();
      pr.next = last + 1;
      pr.recentActive = false;
      // The leader's own match is what its disk holds, not what its log holds (see onPersisted).
      if (id === this.id) pr.match = Math.min(this.log.stableIndex(), last);
    }
    this.pendingConfIndex = 0;
    this.needBcast = false;
    this.readOnly = new ReadOnly(this.readOnly.seq());
    this.pendingReadIndexMessages = [];
  }

  resetRandomizedElectionTimeout(): void {
    const e = this.fastElection ? this.opts.leaderLostTicks : this.opts.electionTick;
    this.randomizedElectionTimeout = e + Math.floor(this.opts.random() * e);
  }

  becomeFollower(term: number, lead: string): void {
    if (lead !== NONE) this.fastElection = false;
    this.reset(term);
    this.lead = lead;
    this.role = Role.Follower;
    this.opts.logger.debug({ term, lead }, "became follower");
  }

  /** Pre-vote (thesis §9.6): ask for votes for term+1 without changing anyone's term. */
  becomePreCandidate(): void {
    if (this.role === Role.Leader) throw new RaftInvariantError("leader cannot become pre-candidate");
    this.trk.resetVotes();
    this.lead = NONE;
    this.role = Role.PreCandidate;
    this.resetRandomizedElectionTimeout();
    this.opts.logger.debug({ term: this.term }, "became pre-candidate");
  }

  becomeCandidate(): void {
    if (this.role === Role.Leader) throw new RaftInvariantError("leader cannot become candidate");
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = Role.Candidate;
    this.opts.logger.debug({ term: this.term }, "became candidate");
  }

  becomeLeader(): void {
    if (this.role === Role.Follower) throw new RaftInvariantError("follower cannot become leader");
    this.fastElection = false;
    this.reset(this.term);
    this.lead = this.id;
    this.role = Role.Leader;
    const self = this.trk.progress.get(this.id);
    if (self) {
      self.becomeReplicate();
      self.match = Math.min(this.log.stableIndex(), this.log.lastIndex());
      self.next = this.log.lastIndex() + 1;
    }
    // Any unapplied entry might be a ConfChange: no new change until it is applied.
    this.pendingConfIndex = this.log.lastIndex();
    // Raft §5.4.2 / §8: commit an entry of the new term at once (the no-op), which also
    // commits everything before it and lets ReadIndex start.
    this.appendEntries([{ type: EntryType.Normal, data: new Uint8Array(0) }]);
    this.opts.logger.info({ term: this.term }, "became leader");
  }

  /** Appends entries of the current term at the end of the leader's log. */
  appendEntries(ents: readonly { type: Entry["type"]; data: Uint8Array }[]): number {
    let index = this.log.lastIndex();
    const full: Entry[] = ents.map((e) => ({ term: this.term, index: ++index, type: e.type, data: e.data }));
    this.log.append(full);
    this.needBcast = true;
    return index;
  }

  // ---------------------------------------------------------------- time

  tick(): void {
    if (this.quiesced) return;
    if (this.role === Role.Leader) this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step({ type: MessageType.MsgHup, to: this.id, from: this.id, term: 0 });
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.opts.electionTick) {
      this.electionElapsed = 0;
      if (this.opts.checkQuorum) {
        this.step({ type: MessageType.MsgCheckQuorum, to: this.id, from: this.id, term: 0 });
      }
      // Thesis §3.10: a transfer that did not finish within an election timeout is aborted.
      if (this.role === Role.Leader && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== Role.Leader) return;
    if (this.heartbeatElapsed >= this.opts.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.step({ type: MessageType.MsgBeat, to: this.id, from: this.id, term: 0 });
    }
  }

  /** Lease (thesis §6.2 / §4.2.3): a node that heard from a leader recently ignores votes. */
  inLease(): boolean {
    return this.opts.checkQuorum && this.lead !== NONE && this.electionElapsed < this.opts.electionTick;
  }

  /**
   * The host lost its connection to the leader: forget it (ending its lease here) and
   * campaign soon instead of after a whole election timeout. The survivors campaign in turn
   * rather than at random: the first after 1 tick, the next half a `leaderLostTicks` later,
   * and so on, in id order rotated per group (so the groups a dead node led are spread over
   * the survivors). A random delay in [1, leaderLostTicks] cost half of it on average before
   * anyone campaigned; the turn order costs one tick, and the gap leaves the first survivor
   * time to win before the next one asks (should both ask at once anyway, the pre-vote
   * tie-break in step.ts keeps them from splitting the vote).
   */
  leaderLost(): void {
    const lost = this.lead;
    this.fastElection = true;
    this.lead = NONE;
    this.electionElapsed = 0;
    const turn = Math.max(1, Math.floor(this.opts.leaderLostTicks / 2));
    this.randomizedElectionTimeout = 1 + survivorRank(this.trk.voters, lost, this.id, this.opts.group) * turn;
  }

  // ---------------------------------------------------------------- elections

  // ---------------------------------------------------------------- step

  /** Every input goes through here: term checks first (Figure 2's "all servers" rules), then the role. */
  step(m: Message): void {
    // Anything but the leader's quiesce heartbeat (and, on a quiesced leader, answers to its
    // own heartbeats, or waking would bounce between leader and followers) wakes the group.
    if (this.quiesced && !isQuiesceHeartbeat(m) && !this.isOwnHeartbeatResponse(m)) wake(this);
    if (!stepTerm(this, m)) return;
    switch (this.role) {
      case Role.Leader:
        stepLeader(this, m);
        break;
      case Role.Follower:
        stepFollower(this, m);
        break;
      default:
        stepCandidate(this, m);
    }
  }

  // ---------------------------------------------------------------- proposals

  /** Appends a proposal on the leader; see RawNode.propose. */
  propose(data: Uint8Array, type: Entry["type"]): { index: number; term: number } {
    if (this.role !== Role.Leader) {
      throw new NotLeaderError(this.opts.group, this.lead === NONE ? undefined : this.lead);
    }
    if (!this.trk.progress.has(this.id)) {
      throw new ProposalDroppedError(this.opts.group, "this node was removed from the group");
    }
    if (this.leadTransferee !== NONE) {
      throw new ProposalDroppedError(
        this.opts.group,
        `leadership is being transferred to ${this.leadTransferee}`,
      );
    }
    wake(this);
    const index = this.appendEntries([{ type, data }]);
    return { index, term: this.term };
  }

  private isOwnHeartbeatResponse(m: Message): boolean {
    return this.role === Role.Leader && m.type === MessageType.MsgHeartbeatResp && m.term === this.term;
  }

  // ---------------------------------------------------------------- follower handlers

  // ---------------------------------------------------------------- leader helpers

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  /** True once the leader committed an entry of its own term (needed before ReadIndex, §6.4). */
  committedEntryInCurrentTerm(): boolean {
    return this.log.zeroTermOnError(this.log.committed) === this.term;
  }
}

/**
 * This node's turn among the voters other than the lost leader: the position of `self` in
 * their sorted ids, rotated by a hash of the group id. A non-voter comes after all of them.
 */
export function survivorRank(voters: readonly NodeId[], lost: NodeId, self: NodeId, group: string): number {
  const survivors = voters.filter((v) => v !== lost);
  const at = survivors.indexOf(self);
  if (at < 0) return survivors.length;
  let h = 0x811c9dc5; // FNV-1a: stable across processes, so every survivor computes the same order
  for (let i = 0; i < group.length; i++) h = Math.imul(h ^ group.charCodeAt(i), 0x01000193) >>> 0;
  return (at + survivors.length - (h % survivors.length)) % survivors.length;
}
