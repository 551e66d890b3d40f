/**
 * Pre-candidates and candidates (Raft §5.2, thesis §9.6): count votes, and fall back to
 * follower as soon as a legitimate leader of the current term shows up.
 */

import { campaign, poll } from "./election.js";
import { VoteResult } from "./quorum/majority.js";
import type { Raft } from "./raft.js";
import { bcastAppend } from "./replicate.js";
import { handleAppendEntries, handleHeartbeat, handleSnapshot } from "./step-follower.js";
import type { Message } from "./types.js";
import { MessageType, NONE, Role } from "./types.js";

export function stepCandidate(r: Raft, m: Message): void {
  // Only answers to this round's kind of request count: a stale MsgVoteResp must not
  // complete a pre-vote.
  const myVoteResp = r.role === Role.PreCandidate ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
  switch (m.type) {
    case MessageType.MsgApp:
      // §5.2: "If the AppendEntries RPC is from another server claiming to be leader and
      // its term is at least as large as the candidate's, the candidate returns to follower".
      r.becomeFollower(m.term, m.from);
      handleAppendEntries(r, m);
      return;
    case MessageType.MsgHeartbeat:
      r.becomeFollower(m.term, m.from);
      handleHeartbeat(r, m);
      return;
    case MessageType.MsgSnap:
      r.becomeFollower(m.term, m.from);
      handleSnapshot(r, m);
      return;
    case myVoteResp: {
      const res = poll(r, m.from, m.type, !m.reject);
      if (res === VoteResult.Won) {
        if (r.role === Role.PreCandidate) {
          campaign(r, "election");
        } else {
          r.becomeLeader();
          bcastAppend(r);
        }
      } else if (res === VoteResult.Lost) {
        // A lost pre-vote or vote: wait for a leader (or the next timeout) as a follower.
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    default:
      // MsgTimeoutNow, MsgReadIndex, MsgTransferLeader...: no leader to act on them.
      return;
  }
}
