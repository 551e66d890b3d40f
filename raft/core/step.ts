/**
 * The rules every node applies before its role's (Figure 2, "Rules for Servers: All Servers"):
 * a higher term makes a node a follower, a lower term is stale; plus the vote handling shared
 * by all roles (§5.2, §5.4.1) and the pre-vote / leader-lease refinements (thesis §9.6, §4.2.3).
 */

import { CAMPAIGN_TRANSFER, hup, voteRespType } from "./election.js";
import type { Raft } from "./raft.js";
import type { Message } from "./types.js";
import { MessageType, NONE, Role } from "./types.js";

/** Handles term bookkeeping and role-independent messages; false when `m` is fully handled. */
export function stepTerm(r: Raft, m: Message): boolean {
  if (m.term === 0) {
    // Local message (or a forwarded read): no term to check.
  } else if (m.term > r.term) {
    if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
      // Thesis §4.2.3: while a node heard from a live leader within the minimum election
      // timeout it ignores votes, so a rejoining partitioned node cannot depose a healthy
      // leader. A transfer the leader asked for (MsgTimeoutNow) bypasses the lease.
      if (!isTransfer(m.context) && r.inLease()) {
        r.opts.logger.debug({ from: m.from, term: m.term }, "vote ignored: leader lease");
        return false;
      }
    }
    if (m.type === MessageType.MsgPreVote) {
      // Never change term on a pre-vote: it asks "would you vote for me?", nothing more.
    } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
      // A granted pre-vote carries the future term; it becomes ours when we win.
    } else {
      const fromLeader =
        m.type === MessageType.MsgApp ||
        m.type === MessageType.MsgHeartbeat ||
        m.type === MessageType.MsgSnap;
      r.becomeFollower(m.term, fromLeader ? m.from : NONE);
    }
  } else if (m.term < r.term) {
    if (
      (r.opts.checkQuorum || r.opts.preVote) &&
      (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)
    ) {
      // A stale leader (e.g. back from a partition) would never learn the new term from
      // nodes that ignore it (pre-vote keeps terms low): tell it, so it steps down.
      r.send({ type: MessageType.MsgAppResp, to: m.from });
    } else if (m.type === MessageType.MsgPreVote) {
      // Answer so a stale pre-candidate does not wait out its timeout; our term teaches it.
      r.send({ type: MessageType.MsgPreVoteResp, to: m.from, term: r.term, reject: true });
    }
    return false;
  }

  switch (m.type) {
    case MessageType.MsgHup:
      hup(r, r.opts.preVote ? "pre-election" : "election");
      return false;
    case MessageType.MsgVote:
    case MessageType.MsgPreVote:
      handleVoteRequest(r, m);
      return false;
    default:
      return true;
  }
}

/** RequestVote receiver (Figure 2) for votes and pre-votes. */
function handleVoteRequest(r: Raft, m: Message): void {
  // §5.2: at most one vote per term, first-come-first-served. A pre-vote for a later term
  // does not consume our vote.
  const canVote =
    r.vote === m.from ||
    (r.vote === NONE && r.lead === NONE) ||
    (m.type === MessageType.MsgPreVote && m.term > r.term);
  // §5.4.1: only for a candidate whose log is at least as up-to-date as ours.
  if (canVote && r.log.isUpToDate(m.index ?? 0, m.logTerm ?? 0)) {
    r.send({ type: voteRespType(m.type), to: m.from, term: m.term, reject: false });
    if (m.type === MessageType.MsgVote) {
      r.electionElapsed = 0;
      r.vote = m.from;
    } else if (r.role === Role.PreCandidate && m.term === r.term + 1 && m.from < r.id) {
      // Two pre-candidates for the same term, each granting the other, would both start an
      // election and split the vote (likely when both learned of the leader's death at once).
      // Tie-break by id: the one with the larger id steps back for this round. Pre-votes only
      // affect liveness, and the other's log is at least as up-to-date as ours.
      r.becomeFollower(r.term, NONE);
    }
  } else {
    r.send({ type: voteRespType(m.type), to: m.from, term: Math.max(r.term, 1), reject: true });
  }
}

function isTransfer(ctx: Uint8Array | undefined): boolean {
  return ctx !== undefined && ctx.length === CAMPAIGN_TRANSFER.length && ctx[0] === CAMPAIGN_TRANSFER[0];
}
