/**
 * Quiescence (CockroachDB's, on etcd's core): an idle group stops ticking and heartbeating
 * until something happens, so a node with thousands of idle queues does not pay for them.
 *
 * A leader may quiesce when there is nothing to replicate and nobody to wait for: every
 * member's log matches the whole of the leader's, which is committed and applied, every member
 * answered since the last quorum check, and no read, transfer or configuration change is
 * pending. It tells the followers with a marked heartbeat; a follower
 * whose log ends at that commit index quiesces too (it does not answer: the leader knows).
 *
 * A quiesced node is not ticked by its host, so no timer fires: no election timeout, no
 * heartbeat, no check-quorum. Anything else wakes it: a proposal, a read, a transfer, any
 * message but a quiesce heartbeat, a host report (leader lost, unreachable, snapshot status),
 * or the host itself (`wake()`: the leader's node went silent, see raft/host). On waking, a
 * leader heartbeats at once (which wakes its followers) and starts a fresh quorum check; a
 * follower tells its leader it is awake (an append acknowledgement of its commit index, which
 * any leader's log matches), so the leader resumes heartbeats before the follower's election
 * timeout could depose it.
 *
 * Safety does not depend on any of this: it only decides when timers run.
 */

import type { Raft } from "./raft.js";
import { bcastHeartbeat } from "./replicate.js";
import type { Message } from "./types.js";
import { MessageType, NONE, Role } from "./types.js";

/** A heartbeat that asks its followers to quiesce. */
export function isQuiesceHeartbeat(m: Message): boolean {
  return m.type === MessageType.MsgHeartbeat && m.quiesce === true;
}

/**
 * The leader quiesces (and tells its followers) if the group is idle; returns whether it did.
 * The host calls it between Readies (nothing unsent, unpersisted or unapplied).
 */
export function maybeQuiesce(r: Raft): boolean {
  if (r.quiesced || r.role !== Role.Leader) return false;
  if (r.leadTransferee !== NONE || r.pendingReadIndexMessages.length > 0 || r.readOnly.size() > 0)
    return false;
  if (r.msgs.length > 0 || r.needBcast || r.log.unstable.entries.length > 0 || r.log.unstable.snapshot)
    return false;
  const last = r.log.lastIndex();
  if (r.log.committed !== last || r.log.applied !== last || r.pendingConfIndex > r.log.applied) return false;
  if (!r.committedEntryInCurrentTerm()) return false;
  for (const [id, pr] of r.trk.progress) {
    if (id === r.id) continue;
    if (pr.match !== last || !pr.recentActive) return false;
  }
  r.quiesced = true;
  for (const id of r.trk.progress.keys()) {
    if (id === r.id) continue;
    r.send({ type: MessageType.MsgHeartbeat, to: id, commit: r.log.committed, quiesce: true });
  }
  r.opts.logger.debug({ term: r.term, index: last }, "quiesced");
  return true;
}

/** A follower got its leader's quiesce heartbeat (already handled as a heartbeat). */
export function followerQuiesce(r: Raft, m: Message): void {
  if (r.role !== Role.Follower || m.from !== r.lead) return;
  const last = r.log.lastIndex();
  if (last === r.log.committed && last === (m.commit ?? 0)) r.quiesced = true;
}

/** Leaves quiescence (see the module comment); a no-op when not quiesced. */
export function wake(r: Raft): void {
  if (!r.quiesced) return;
  r.quiesced = false;
  if (r.role === Role.Leader) {
    // A fresh quorum check: members may have died while nothing was checking.
    r.electionElapsed = 0;
    r.heartbeatElapsed = 0;
    for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
    bcastHeartbeat(r);
  } else if (r.lead !== NONE) {
    r.send({ type: MessageType.MsgAppResp, to: r.lead, index: r.log.committed });
  }
}
