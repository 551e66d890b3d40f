/**
 * Typed errors of the Raft library. Expected failures are values a caller handles
 * (retry elsewhere, report to a client); a broken invariant is a RaftInvariantError and
 * the process should exit rather than continue with corrupt state.
 */
import type { NodeId } from "./core/types.js";

export class RaftError extends Error {
  override name = "RaftError";
}

/** This node is not the group's leader. `leaderHint` is the leader it knows of, or undefined. */
export class NotLeaderError extends RaftError {
  override name = "NotLeaderError";
  constructor(
    readonly group: string,
    readonly leaderHint: NodeId | undefined,
  ) {
    super(
      `not the leader of group ${group}${leaderHint ? ` (leader is ${leaderHint})` : " (no leader known)"}`,
    );
  }
}

/** A proposal did not commit within its deadline. It may still commit later. */
export class ProposalTimeoutError extends RaftError {
  override name = "ProposalTimeoutError";
  constructor(
    readonly group: string,
    readonly timeoutMs: number,
  ) {
    super(`proposal to group ${group} did not commit within ${timeoutMs} ms`);
  }
}

/** A proposal was lost: leadership changed and another entry took its index, or the group stopped. */
export class ProposalDroppedError extends RaftError {
  override name = "ProposalDroppedError";
  constructor(
    readonly group: string,
    reason: string,
  ) {
    super(`proposal to group ${group} was dropped: ${reason}`);
  }
}

/** The group does not exist on this node. */
export class UnknownGroupError extends RaftError {
  override name = "UnknownGroupError";
  constructor(readonly group: string) {
    super(`unknown raft group ${group}`);
  }
}

/** Stored data failed to decode or contradicts itself. The node must refuse to start. */
export class CorruptStorageError extends RaftError {
  override name = "CorruptStorageError";
}

/** An invariant of the algorithm broke. Never caught: the process exits. */
export class RaftInvariantError extends RaftError {
  override name = "RaftInvariantError";
}
