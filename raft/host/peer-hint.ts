/**
 * What a lost connection means for one Raft group on this node: the host's failover hint
 * (RaftHost.onPeerDown), kept pure so the simulator applies the very same policy.
 *
 * The transport has two connections per peer, one per direction (raft/transport), and with a
 * one-way fault only one of them goes down, so the direction decides:
 * - the inbound connection from the group's leader closed: this node no longer HEARS the
 *   leader (its process died, or its messages are cut off). Campaign early
 *   (`reportLeaderLost`): a dead leader is replaced well within an election timeout.
 * - our outbound connection to a peer closed: what we send no longer reaches it. A leader
 *   stops streaming appends to it (`reportUnreachable`, back to probing).
 * Anything else is no news for Raft. In particular a follower whose outbound connection to a
 * leader it still hears must keep that leader (and its lease): forgetting it let the follower
 * grant pre-votes, and campaign itself within a few ticks, against a leader it could hear
 * (issue 2: a one-way partition could leave a queue without a leader).
 */
import type { NodeId } from "../core/types.js";
import { Role } from "../core/types.js";
import type { PeerDirection } from "../transport/index.js";

export type PeerDownHint = "leader-lost" | "unreachable" | undefined;

/** The hint for a group where this node has `role` and knows `lead`, when `peer`'s `direction` connection closed. */
export function peerDownHint(role: Role, lead: NodeId, peer: NodeId, direction: PeerDirection): PeerDownHint {
  if (role === Role.Leader) return direction === "outbound" ? "unreachable" : undefined;
  return direction === "inbound" && lead === peer ? "leader-lost" : undefined;
}
