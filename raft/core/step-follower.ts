/**
 * Followers (Raft §5.2, §5.3): accept the leader's appends, heartbeats and snapshots, forward
 * what only the leader can answer, and react to the host's leader-lost hint.
 */

import { RaftInvariantError } from "../errors.js";
import { hup } from "./election.js";
import { followerQuiesce } from "./quiesce.js";
import type { Outgoing, Raft } from "./raft.js";
import type { Message } from "./types.js";
import { MessageType, NONE, Role } from "./types.js";

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgApp:
      heardFromLeader(r, m);
      handleAppendEntries(r, m);
      return;
    case MessageType.MsgHeartbeat:
      heardFromLeader(r, m);
      if (m.quiesce === true) {
        // No answer: the leader quiesced because every member is caught up and alive.
        r.log.commitTo(Math.min(m.commit ?? 0, r.log.lastIndex()));
        followerQuiesce(r, m);
        return;
      }
      handleHeartbeat(r, m);
      return;
    case MessageType.MsgSnap:
      heardFromLeader(r, m);
      handleSnapshot(r, m);
      return;
    case MessageType.MsgTransferLeader:
      if (r.lead === NONE) return;
      r.msgs.push({ ...m, to: r.lead, term: r.term });
      return;
    case MessageType.MsgTimeoutNow:
      // Thesis §3.10: the leader asked us to campaign now; no pre-vote round, since we know
      // we are not coming back from a partition.
      hup(r, "transfer");
      return;
    case MessageType.MsgReadIndex:
      if (r.lead === NONE) return; // no leader: the host's read times out and retries
      r.msgs.push({ ...m, to: r.lead, from: r.id, term: 0 });
      return;
    case MessageType.MsgReadIndexResp:
      r.readStates.push({ index: m.index ?? 0, context: m.context ?? new Uint8Array(0) });
      return;
    case MessageType.MsgLeaderLost:
      if (r.lead === NONE) return;
      if (m.from !== NONE && m.from !== r.lead) return; // about some other node
      r.leaderLost();
      return;
    default:
      return;
  }
}

/** A message from the current leader: reset the election timer (and undo a leader-lost hint). */
function heardFromLeader(r: Raft, m: Message): void {
  r.electionElapsed = 0;
  r.lead = m.from;
  r.fastElection = false;
  if (r.randomizedElectionTimeout < r.opts.electionTick) r.resetRandomizedElectionTimeout();
}

// ---------------------------------------------------------------- receivers (shared with candidates)

/**
 * AppendEntries receiver (Figure 2). The acknowledgement goes into the same Ready as the
 * appended entries, so the host sends it only after they are durable: an acknowledged entry
 * survives this node's crash, which is what the leader's majority count relies on.
 *
 * Answers: success with the index of the last entry known to match (the leader's `match`),
 * or a rejection of `index` with a hint for fast backtracking.
 */
export function handleAppendEntries(r: Raft, m: Message): void {
  const index = m.index ?? 0;
  // Everything up to our commit index is known to match any leader's log (Leader
  // Completeness); an older, duplicated or reordered MsgApp is answered with it.
  if (index < r.log.committed) {
    r.send({ type: MessageType.MsgAppResp, to: m.from, index: r.log.committed });
    return;
  }
  const last = r.log.maybeAppend(index, m.logTerm ?? 0, m.commit ?? 0, m.entries ?? []);
  if (last !== undefined) {
    r.send({ type: MessageType.MsgAppResp, to: m.from, index: last });
    return;
  }
  // Reject with a hint: the last index of ours whose term is <= the leader's prevLogTerm.
  const hint = r.log.findConflictByTerm(Math.min(index, r.log.lastIndex()), m.logTerm ?? 0);
  r.send({
    type: MessageType.MsgAppResp,
    to: m.from,
    index,
    reject: true,
    rejectHint: hint.index,
    logTermHint: hint.term,
  });
}

/**
 * Heartbeat receiver. The leader sends min(our match, its commit), an index our log is known
 * to share with it, so committing up to it is safe without a consistency check. The context
 * (a ReadIndex round) is echoed back.
 */
export function handleHeartbeat(r: Raft, m: Message): void {
  r.log.commitTo(Math.min(m.commit ?? 0, r.log.lastIndex()));
  const resp: Outgoing = { type: MessageType.MsgHeartbeatResp, to: m.from };
  if (m.context) resp.context = m.context;
  r.send(resp);
}

/**
 * InstallSnapshot receiver (Figure 13). The snapshot reaches the host in the next Ready
 * (installed before any entry); the answer tells the leader where our log now ends, and
 * moves its progress out of snapshot state.
 */
export function handleSnapshot(r: Raft, m: Message): void {
  const s = m.snapshot;
  if (!s) return;
  if (restore(r, s)) {
    r.opts.logger.info({ index: s.meta.index, term: s.meta.term }, "restored snapshot");
    r.send({ type: MessageType.MsgAppResp, to: m.from, index: r.log.lastIndex() });
  } else {
    r.send({ type: MessageType.MsgAppResp, to: m.from, index: r.log.committed });
  }
}

/** Installs `s` unless the log already holds it; returns true when the log was replaced. */
export function restore(r: Raft, s: NonNullable<Message["snapshot"]>): boolean {
  if (s.meta.index <= r.log.committed) return false;
  if (r.role !== Role.Follower) {
    throw new RaftInvariantError("only a follower installs a snapshot");
  }
  if (r.log.matchTerm(s.meta.index, s.meta.term)) {
    // Figure 13 step 6: the log already holds the snapshot's last entry: just commit up to it.
    r.log.commitTo(s.meta.index);
    return false;
  }
  // Figure 13 steps 7-8: discard the whole log; the configuration comes with the snapshot.
  r.log.restore(s);
  r.trk.progress.clear();
  r.trk.applyConf(s.meta.conf, r.log.lastIndex() + 1);
  r.isLearner = r.trk.isLearner(r.id);
  return true;
}
