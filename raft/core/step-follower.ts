/**
 * Followers (Raft §5.2, §5.3): accept the leader's appends, heartbeats and snapshots, forward
 * what only the leader can answer, and react to the host's leader-lost hint.
 */
import type { Raft } from "./raft.js";
import type { Message } from "./types.js";
import { MessageType, NONE } from "./types.js";

export function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case MessageType.MsgApp:
      heardFromLeader(r, m);
      r.handleAppendEntries(m);
      return;
    case MessageType.MsgHeartbeat:
      heardFromLeader(r, m);
      r.handleHeartbeat(m);
      return;
    case MessageType.MsgSnap:
      heardFromLeader(r, m);
      r.handleSnapshot(m);
      return;
    case MessageType.MsgTransferLeader:
      if (r.lead === NONE) return;
      r.msgs.push({ ...m, to: r.lead, term: r.term });
      return;
    case MessageType.MsgTimeoutNow:
      // Thesis §3.10: the leader asked us to campaign now; no pre-vote round, since we know
      // we are not coming back from a partition.
      r.hup("transfer");
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
