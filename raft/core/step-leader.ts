/**
 * The leader (Raft §5.3, thesis §3.10, §6.2, §6.4): replicate with flow control, commit by
 * majority, check the quorum, transfer leadership, and serve ReadIndex.
 */
import { hasQuorum } from "./quorum/majority.js";
import type { Raft } from "./raft.js";
import { bcastHeartbeat, maybeSendAppend, sendAppend, sendHeartbeat, sendTimeoutNow } from "./replicate.js";
import type { Progress } from "./tracker/progress.js";
import { ProgressState } from "./tracker/progress.js";
import type { Message } from "./types.js";
import { MessageType, NONE } from "./types.js";

export function stepLeader(r: Raft, m: Message): void {
  // Messages that need no progress of the sender.
  switch (m.type) {
    case MessageType.MsgBeat:
      bcastHeartbeat(r);
      return;
    case MessageType.MsgCheckQuorum:
      // Thesis §6.2: a leader that did not hear from a majority within an election timeout
      // steps down, so a partitioned leader stops serving (and its clients go elsewhere).
      if (!r.trk.quorumActive(r.id)) {
        r.opts.logger.warn({ term: r.term }, "stepped down: quorum not active");
        r.becomeFollower(r.term, NONE);
      }
      for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
      return;
    case MessageType.MsgReadIndex:
      handleReadIndex(r, m);
      return;
    default:
      break;
  }
  const pr = r.trk.progress.get(m.from);
  if (!pr) return; // not (or no longer) a member
  switch (m.type) {
    case MessageType.MsgAppResp:
      handleAppendResponse(r, m, pr);
      return;
    case MessageType.MsgHeartbeatResp:
      handleHeartbeatResponse(r, m, pr);
      return;
    case MessageType.MsgSnapStatus:
      if (pr.state !== ProgressState.Snapshot) return;
      if (m.reject) pr.pendingSnapshot = 0; // failed: probe from the match again
      pr.becomeProbe();
      // Wait for a heartbeat response before probing: the follower may still be busy.
      pr.probeSent = true;
      return;
    case MessageType.MsgUnreachable:
      // A MsgApp was probably lost: stop streaming blindly.
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      return;
    case MessageType.MsgTransferLeader:
      handleTransferLeader(r, m, pr);
      return;
    default:
      return;
  }
}

/**
 * MsgAppResp (Figure 2's leader rules: "If successful: update nextIndex and matchIndex for
 * follower; if AppendEntries fails because of log inconsistency: decrement nextIndex and
 * retry"), with etcd's state machine per follower: the first success of a probe switches to
 * pipelined replication; a rejection in replicate state falls back to probing.
 */
function handleAppendResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  if (m.reject) {
    // Fast backtracking: jump to where the follower's log may match, skipping a whole
    // conflicting term per round trip instead of one entry.
    let hint = m.rejectHint ?? 0;
    if ((m.logTermHint ?? 0) > 0) hint = r.log.findConflictByTerm(hint, m.logTermHint ?? 0).index;
    if (pr.maybeDecrTo(m.index ?? 0, hint)) {
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      sendAppend(r, m.from);
    }
    return;
  }
  const oldPaused = pr.isPaused();
  if (!pr.maybeUpdate(m.index ?? 0)) return;
  if (pr.state === ProgressState.Probe) {
    pr.becomeReplicate();
  } else if (pr.state === ProgressState.Snapshot && pr.match + 1 >= r.log.firstIndex()) {
    // The follower can now be caught up from the log, whatever snapshot it installed.
    pr.becomeProbe();
    pr.becomeReplicate();
  } else if (pr.state === ProgressState.Replicate) {
    pr.inflights.freeLE(m.index ?? 0);
  }
  if (r.maybeCommit()) {
    r.onCommitAdvanced();
  } else if (oldPaused && !r.needBcast) {
    // Was paused, so it may lack the commit index (and entries): tell it now, unless the
    // pending broadcast will (it sends every follower at least an empty MsgApp).
    sendAppend(r, m.from);
  }
  // Fill the pipeline window.
  while (maybeSendAppend(r, m.from, false)) {
    // keep sending
  }
  // Thesis §3.10: once the transferee is up to date, tell it to campaign.
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

/**
 * MsgHeartbeatResp: proof of life (check-quorum, un-pausing a probe), a chance to resend what
 * a follower lacks, and a vote for pending ReadIndex rounds.
 */
function handleHeartbeatResponse(r: Raft, m: Message, pr: Progress): void {
  pr.recentActive = true;
  pr.probeSent = false;
  // The follower is alive: free a slot so a window full of lost messages cannot stall it.
  if (pr.state === ProgressState.Replicate && pr.inflights.full()) pr.inflights.freeFirstOne();
  // Behind: (re)send; in replicate state an empty MsgApp exposes a gap left by lost messages.
  if (pr.match < r.log.lastIndex()) sendAppend(r, m.from);

  const ctx = m.context;
  if (!ctx || ctx.length === 0) return;
  const acks = r.readOnly.recvAck(m.from, ctx);
  if (!acks || !hasQuorum(r.trk.voters, (id) => acks.has(id))) return;
  // A majority acknowledged a heartbeat sent after the read arrived: we were still leader then.
  for (const rs of r.readOnly.advance(ctx)) responseToReadIndex(r, rs.req, rs.index);
}

/** Thesis §6.4: a linearizable read without a log write. */
function handleReadIndex(r: Raft, m: Message): void {
  // Until an entry of its term commits, the leader does not know the latest commit index.
  if (!r.committedEntryInCurrentTerm()) {
    r.pendingReadIndexMessages.push(m);
    return;
  }
  if (r.trk.voters.length === 1 && r.trk.isVoter(r.id)) {
    responseToReadIndex(r, m, r.log.committed);
    return;
  }
  const ctx = r.readOnly.addRequest(r.log.committed, m);
  r.readOnly.recvAck(r.id, ctx);
  for (const id of r.trk.progress.keys()) if (id !== r.id) sendHeartbeat(r, id, ctx);
}

/**
 * Thesis §3.10: start a leadership transfer to `m.from`. Proposals are refused until it
 * finishes or is aborted (one election timeout later, or when the target leaves).
 */
function handleTransferLeader(r: Raft, m: Message, pr: Progress): void {
  if (pr.isLearner) return; // a learner cannot lead
  const transferee = m.from;
  if (r.leadTransferee !== NONE) {
    if (r.leadTransferee === transferee) return; // already in progress
    r.abortLeaderTransfer();
  }
  if (transferee === r.id) return; // already leader
  // The transfer must finish within an election timeout (see tickHeartbeat).
  r.electionElapsed = 0;
  r.leadTransferee = transferee;
  if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, transferee);
  else sendAppend(r, transferee);
}

/**
 * Serves the reads that waited for the first commit of this leader's term (thesis §6.4
 * step 1), now that its commit index is known to be current.
 */
export function releasePendingReadIndexMessages(r: Raft): void {
  if (r.pendingReadIndexMessages.length === 0 || !r.committedEntryInCurrentTerm()) return;
  const msgs = r.pendingReadIndexMessages;
  r.pendingReadIndexMessages = [];
  for (const m of msgs) stepLeader(r, m);
}

/** Answers a read request with `index` (locally or to the follower that forwarded it). */
export function responseToReadIndex(r: Raft, req: Message, index: number): void {
  const ctx = req.context ?? new Uint8Array(0);
  if (req.from === NONE || req.from === r.id) {
    r.readStates.push({ index, context: ctx });
    return;
  }
  r.send({ type: MessageType.MsgReadIndexResp, to: req.from, index, context: ctx });
}
