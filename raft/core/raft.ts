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
import { encodeConfChange } from "./confchange/codec.js";
import { applyChange } from "./confchange/confchange.js";
import { CompactedError, UnavailableError } from "./errors.js";
import { RaftLog } from "./log/raft-log.js";
import { VoteResult } from "./quorum/majority.js";
import { ReadOnly } from "./read-only.js";
import { stepTerm } from "./step.js";
import { stepCandidate } from "./step-candidate.js";
import { stepFollower } from "./step-follower.js";
import { stepLeader } from "./step-leader.js";
import type { LogStorage } from "./storage.js";
import { ProgressState } from "./tracker/progress.js";
import { ProgressTracker } from "./tracker/tracker.js";
import type {
  ConfChange,
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType as MT,
  ReadState,
  SoftState,
} from "./types.js";
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

/** How an election was started. */
export type CampaignType = "pre-election" | "election" | "transfer";

/**
 * Context of a MsgVote/MsgPreVote sent on the leader's behalf (MsgTimeoutNow): voters grant
 * it even inside a leader lease, since the leader itself asked (thesis §3.10).
 */
export const CAMPAIGN_TRANSFER: Uint8Array = Uint8Array.of(0x54); // "T"

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
  /** Entries were appended since the last broadcast; the RawNode flushes once per Ready. */
  needBcast = false;

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

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

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

  sendAppend(to: string): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends `to` the entries it needs (or a snapshot when they are compacted away), unless flow
   * control pauses it. With `sendIfEmpty` false an empty MsgApp is not worth sending.
   * Returns true when a message went out.
   */
  maybeSendAppend(to: string, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    let prevTerm: number;
    let ents: Entry[];
    try {
      prevTerm = this.log.term(pr.next - 1);
      ents = this.log.entries(pr.next, this.opts.maxSizePerMsg);
    } catch (e) {
      if (!(e instanceof CompactedError)) throw e;
      return this.maybeSendSnapshot(to);
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: MessageType.MsgApp,
      to,
      index: pr.next - 1,
      logTerm: prevTerm,
      entries: ents,
      commit: this.log.committed,
    });
    const last = ents[ents.length - 1];
    if (last) {
      if (pr.state === ProgressState.Replicate) {
        // Pipelining: assume success and send the next batch without waiting.
        pr.optimisticUpdate(last.index);
        pr.inflights.add(last.index);
      } else if (pr.state === ProgressState.Probe) {
        pr.probeSent = true;
      }
    }
    return true;
  }

  /** The follower needs compacted entries: ship the snapshot (Figure 13's InstallSnapshot). */
  private maybeSendSnapshot(to: string): boolean {
    const pr = this.trk.progress.get(to)!;
    // Only to followers known alive: a snapshot is expensive.
    if (!pr.recentActive) return false;
    let snapshot: ReturnType<RaftLog["snapshot"]>;
    try {
      snapshot = this.log.snapshot();
    } catch (e) {
      if (e instanceof UnavailableError) return false; // not ready yet: retry later
      throw e;
    }
    if (snapshot.meta.index === 0) throw new RaftInvariantError("need a non-empty snapshot");
    this.send({ type: MessageType.MsgSnap, to, snapshot });
    pr.becomeSnapshot(snapshot.meta.index);
    this.opts.logger.debug({ to, index: snapshot.meta.index }, "sent snapshot");
    return true;
  }

  /** Heartbeat (Figure 2's empty AppendEntries); `commit` never exceeds what `to` holds. */
  sendHeartbeat(to: string, ctx: Uint8Array | undefined): void {
    const pr = this.trk.progress.get(to);
    const m: Outgoing = {
      type: MessageType.MsgHeartbeat,
      to,
      commit: Math.min(pr?.match ?? 0, this.log.committed),
    };
    if (ctx) m.context = ctx;
    this.send(m);
  }

  /** Sends every follower what it lacks: one MsgApp, then more while the window allows. */
  bcastAppend(): void {
    this.needBcast = false;
    for (const id of this.trk.progress.keys()) {
      if (id === this.id) continue;
      this.sendAppend(id);
      while (this.maybeSendAppend(id, false)) {
        // fill the pipelining window (replicate state only; a probe pauses after one)
      }
    }
  }

  bcastHeartbeat(): void {
    const ctx = this.readOnly.lastPendingContext();
    for (const id of this.trk.progress.keys()) if (id !== this.id) this.sendHeartbeat(id, ctx);
  }

  /** Flushes the broadcast deferred by proposals (one MsgApp per follower per Ready). */
  flushBcast(): void {
    if (this.needBcast && this.role === Role.Leader) this.bcastAppend();
    this.needBcast = false;
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

  /** After the leader's commit index moved: tell followers, release queued reads. */
  onCommitAdvanced(): void {
    this.releasePendingReadIndexMessages();
    this.bcastAppend();
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
      pr.match = 0;
      pr.next = last + 1;
      pr.becomeProbe();
      pr.next = last + 1;
      pr.recentActive = false;
      // The leader's own match is what its disk holds, not what its log holds (see onPersisted).
      if (id === this.id) pr.match = Math.min(this.log.stableIndex(), last);
    }
    this.pendingConfIndex = 0;
    this.needBcast = false;
    this.readOnly = new ReadOnly();
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
   * campaign after a short randomized delay instead of a whole election timeout.
   */
  leaderLost(): void {
    this.fastElection = true;
    this.lead = NONE;
    this.electionElapsed = 0;
    this.randomizedElectionTimeout = 1 + Math.floor(this.opts.random() * this.opts.leaderLostTicks);
  }

  // ---------------------------------------------------------------- elections

  /** MsgHup: start an election unless this node cannot or should not. */
  hup(t: CampaignType): void {
    if (this.role === Role.Leader) return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChanges()) {
      // The configuration may be about to change: wait until it is applied.
      this.opts.logger.debug({ term: this.term }, "campaign deferred: unapplied conf change");
      return;
    }
    this.campaign(t);
  }

  private hasUnappliedConfChanges(): boolean {
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    if (this.log.committed < lo) return false;
    const ents = this.log.slice(lo, this.log.committed + 1, Number.POSITIVE_INFINITY);
    return ents.some((e) => e.type === EntryType.ConfChange);
  }

  /** Raft §5.2: vote for yourself and ask every other voter. */
  campaign(t: CampaignType): void {
    // Without pre-vote every retry bumps the others' terms and resets their timers: a stale
    // node retrying every few ticks would keep the whole group leaderless. So the fast path
    // is one-shot there; with pre-vote, fast retries are harmless (terms do not move).
    if (!this.opts.preVote) this.fastElection = false;
    let voteMsg: MT;
    let term: number;
    if (t === "pre-election") {
      this.becomePreCandidate();
      voteMsg = MessageType.MsgPreVote;
      term = this.term + 1; // the term we would campaign in
    } else {
      this.becomeCandidate();
      voteMsg = MessageType.MsgVote;
      term = this.term;
    }
    if (this.poll(this.id, voteRespType(voteMsg), true) === VoteResult.Won) {
      // Single voter: the election is won already.
      if (t === "pre-election") this.campaign("election");
      else this.becomeLeader();
      return;
    }
    for (const id of this.trk.voters) {
      if (id === this.id) continue;
      const m: Outgoing = {
        type: voteMsg,
        to: id,
        term,
        index: this.log.lastIndex(),
        logTerm: this.log.lastTerm(),
      };
      if (t === "transfer") m.context = CAMPAIGN_TRANSFER;
      this.send(m);
    }
  }

  /** Records a vote answer and returns the election's outcome so far. */
  poll(id: string, t: MT, granted: boolean): VoteResult {
    void t;
    this.trk.recordVote(id, granted);
    return this.trk.tallyVotes().result;
  }

  // ---------------------------------------------------------------- step

  /** Every input goes through here: term checks first (Figure 2's "all servers" rules), then the role. */
  step(m: Message): void {
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
    const index = this.appendEntries([{ type, data }]);
    return { index, term: this.term };
  }

  /**
   * Proposes a membership change. The entry carries the resulting configuration too (see
   * ConfChange.conf): no other change is pending, so the applied configuration is the one
   * the change will apply to.
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    if (this.role !== Role.Leader) {
      throw new NotLeaderError(this.opts.group, this.lead === NONE ? undefined : this.lead);
    }
    if (this.pendingConfIndex > this.log.applied) {
      throw new ProposalDroppedError(
        this.opts.group,
        `configuration change at ${this.pendingConfIndex} is not applied yet (applied ${this.log.applied})`,
      );
    }
    const r = applyChange(this.trk.confState(), cc);
    if ("error" in r) throw new ProposalDroppedError(this.opts.group, r.error);
    const at = this.propose(
      encodeConfChange({ type: cc.type, node: cc.node, conf: r.conf }),
      EntryType.ConfChange,
    );
    this.pendingConfIndex = at.index;
    return at;
  }

  /** The host applies a committed ConfChange: switch configuration (thesis §4.1). */
  applyConfChange(cc: ConfChange): ConfState {
    const r = cc.conf ? checkConf(cc.conf) : applyChange(this.trk.confState(), cc);
    if ("error" in r) {
      // Deterministic on every replica, so skipping keeps them identical.
      this.opts.logger.warn({ node: cc.node, type: cc.type }, `conf change ignored: ${r.error}`);
      return this.trk.confState();
    }
    const known = new Set(this.trk.progress.keys());
    this.trk.applyConf(r.conf, this.log.lastIndex() + 1);
    this.isLearner = this.trk.isLearner(this.id);
    if (this.role !== Role.Leader) return this.trk.confState();
    if (!this.trk.isVoter(this.id)) {
      // Thesis §4.2.2: a leader removed from the configuration steps down once the change is committed.
      this.becomeFollower(this.term, NONE);
      return this.trk.confState();
    }
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    // A smaller majority may already hold more entries.
    if (this.maybeCommit()) {
      this.onCommitAdvanced();
    } else {
      // Probe new members at once rather than at the next heartbeat.
      for (const id of this.trk.progress.keys()) if (id !== this.id) this.maybeSendAppend(id, !known.has(id));
    }
    return this.trk.confState();
  }

  // ---------------------------------------------------------------- follower handlers

  /** AppendEntries receiver (Figure 2). Acknowledged only after the host persisted (Ready order). */
  handleAppendEntries(m: Message): void {
    const index = m.index ?? 0;
    if (index < this.log.committed) {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.log.committed });
      return;
    }
    const last = this.log.maybeAppend(index, m.logTerm ?? 0, m.commit ?? 0, m.entries ?? []);
    if (last !== undefined) {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: last });
      return;
    }
    // Reject with a hint: the last index of ours whose term is <= the leader's prevLogTerm.
    const hint = this.log.findConflictByTerm(Math.min(index, this.log.lastIndex()), m.logTerm ?? 0);
    this.send({
      type: MessageType.MsgAppResp,
      to: m.from,
      index,
      reject: true,
      rejectHint: hint.index,
      logTermHint: hint.term,
    });
  }

  handleHeartbeat(m: Message): void {
    this.log.commitTo(Math.min(m.commit ?? 0, this.log.lastIndex()));
    const resp: Outgoing = { type: MessageType.MsgHeartbeatResp, to: m.from };
    if (m.context) resp.context = m.context;
    this.send(resp);
  }

  /** InstallSnapshot receiver (Figure 13). */
  handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (!s) return;
    if (this.restore(s)) {
      this.opts.logger.info({ index: s.meta.index, term: s.meta.term }, "restored snapshot");
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.log.lastIndex() });
    } else {
      this.send({ type: MessageType.MsgAppResp, to: m.from, index: this.log.committed });
    }
  }

  /** Installs `s` unless the log already holds it; returns true when the log was replaced. */
  private restore(s: NonNullable<Message["snapshot"]>): boolean {
    if (s.meta.index <= this.log.committed) return false;
    if (this.role !== Role.Follower) {
      throw new RaftInvariantError("only a follower installs a snapshot");
    }
    if (this.log.matchTerm(s.meta.index, s.meta.term)) {
      // Figure 13 step 6: the log already holds the snapshot's last entry: just commit up to it.
      this.log.commitTo(s.meta.index);
      return false;
    }
    this.log.restore(s);
    this.trk.progress.clear();
    this.trk.applyConf(s.meta.conf, this.log.lastIndex() + 1);
    this.isLearner = this.trk.isLearner(this.id);
    return true;
  }

  // ---------------------------------------------------------------- leader helpers

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  sendTimeoutNow(to: string): void {
    this.send({ type: MessageType.MsgTimeoutNow, to });
  }

  /** True once the leader committed an entry of its own term (needed before ReadIndex, §6.4). */
  committedEntryInCurrentTerm(): boolean {
    return this.log.zeroTermOnError(this.log.committed) === this.term;
  }

  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) stepLeader(this, m);
  }

  /** Answers a read request with `index` (locally or to the follower that forwarded it). */
  responseToReadIndex(req: Message, index: number): void {
    const ctx = req.context ?? new Uint8Array(0);
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, context: ctx });
      return;
    }
    this.send({ type: MessageType.MsgReadIndexResp, to: req.from, index, context: ctx });
  }
}

/** Validates an absolute configuration carried by a ConfChange entry. */
function checkConf(conf: ConfState): { conf: ConfState } | { error: string } {
  if (conf.voters.length === 0) return { error: "configuration without voters" };
  if (conf.voters.some((v) => conf.learners.includes(v)))
    return { error: "a node is both voter and learner" };
  return { conf: { voters: [...conf.voters].sort(), learners: [...conf.learners].sort() } };
}

/** The response type to a vote request type. */
export function voteRespType(t: MT): MT {
  if (t === MessageType.MsgVote) return MessageType.MsgVoteResp;
  if (t === MessageType.MsgPreVote) return MessageType.MsgPreVoteResp;
  throw new RaftInvariantError(`not a vote message type: ${t}`);
}
