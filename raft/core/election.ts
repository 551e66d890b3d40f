/**
 * Starting elections (Raft §5.2): the MsgHup checks, pre-vote (thesis §9.6) or a real
 * campaign, and vote counting.
 */
import { RaftInvariantError } from "../errors.js";
import { VoteResult } from "./quorum/majority.js";
import type { Outgoing, Raft } from "./raft.js";
import type { MessageType as MT } from "./types.js";
import { EntryType, MessageType, Role } from "./types.js";

/** How an election was started. */
export type CampaignType = "pre-election" | "election" | "transfer";

/**
 * Context of a MsgVote/MsgPreVote sent on the leader's behalf (MsgTimeoutNow): voters grant
 * it even inside a leader lease, since the leader itself asked (thesis §3.10).
 */
export const CAMPAIGN_TRANSFER: Uint8Array = Uint8Array.of(0x54); // "T"

/** MsgHup: start an election unless this node cannot or should not. */
export function hup(r: Raft, t: CampaignType): void {
  if (r.role === Role.Leader) return;
  if (!r.promotable()) return;
  if (hasUnappliedConfChanges(r)) {
    // The configuration may be about to change: wait until it is applied.
    r.opts.logger.debug({ term: r.term }, "campaign deferred: unapplied conf change");
    return;
  }
  campaign(r, t);
}

export function hasUnappliedConfChanges(r: Raft): boolean {
  const lo = Math.max(r.log.applied + 1, r.log.firstIndex());
  if (r.log.committed < lo) return false;
  const ents = r.log.slice(lo, r.log.committed + 1, Number.POSITIVE_INFINITY);
  return ents.some((e) => e.type === EntryType.ConfChange);
}

/** Raft §5.2: vote for yourself and ask every other voter. */
export function campaign(r: Raft, t: CampaignType): void {
  // The leader-lost hint shortens only the wait before a campaign starts, never the wait for
  // votes. Without pre-vote every retry bumps the others' terms and resets their timers: a
  // stale node retrying every few ticks would keep the whole group leaderless, so the fast path
  // is one-shot there. With pre-vote, fast pre-vote retries are harmless (terms do not move),
  // but a candidate must wait a full election timeout: every vote costs an fsync at the
  // candidate and another at the voter, and with a leader-lost timeout shorter than those
  // (a loaded disk), candidates abandoned each term before its votes arrived, one term after
  // another, and no leader was elected (sim scenario "chaos one-way sequence" with slow fsyncs).
  if (!r.opts.preVote || t !== "pre-election") r.fastElection = false;
  let voteMsg: MT;
  let term: number;
  if (t === "pre-election") {
    r.becomePreCandidate();
    voteMsg = MessageType.MsgPreVote;
    term = r.term + 1; // the term we would campaign in
  } else {
    r.becomeCandidate();
    voteMsg = MessageType.MsgVote;
    term = r.term;
  }
  if (poll(r, r.id, voteRespType(voteMsg), true) === VoteResult.Won) {
    // Single voter: the election is won already.
    if (t === "pre-election") campaign(r, "election");
    else r.becomeLeader();
    return;
  }
  for (const id of r.trk.voters) {
    if (id === r.id) continue;
    const m: Outgoing = {
      type: voteMsg,
      to: id,
      term,
      index: r.log.lastIndex(),
      logTerm: r.log.lastTerm(),
    };
    if (t === "transfer") m.context = CAMPAIGN_TRANSFER;
    r.send(m);
  }
}

/** Records a vote answer and returns the election's outcome so far. */
export function poll(r: Raft, id: string, t: MT, granted: boolean): VoteResult {
  void t;
  r.trk.recordVote(id, granted);
  return r.trk.tallyVotes().result;
}

/** The response type to a vote request type. */
export function voteRespType(t: MT): MT {
  if (t === MessageType.MsgVote) return MessageType.MsgVoteResp;
  if (t === MessageType.MsgPreVote) return MessageType.MsgPreVoteResp;
  throw new RaftInvariantError(`not a vote message type: ${t}`);
}
