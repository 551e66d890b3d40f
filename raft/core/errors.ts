/**
 * Typed errors of the pure core. Storage errors mirror etcd/raft's ErrCompacted and
 * ErrUnavailable: they are expected answers the core handles (by sending a snapshot, or by
 * waiting), never bugs. Role errors (NotLeaderError, ProposalDroppedError) and broken
 * invariants (RaftInvariantError) come from the library-wide `raft/errors.ts`.
 */
import { RaftError } from "../errors.js";

export { NotLeaderError, ProposalDroppedError, RaftError, RaftInvariantError } from "../errors.js";

/** The requested index lies at or below the storage's snapshot: its entry was compacted away. */
export class CompactedError extends RaftError {
  override name = "CompactedError";
  constructor(readonly index: number) {
    super(`log index ${index} is compacted`);
  }
}

/** The requested index is above the storage's last index (not written yet). */
export class UnavailableError extends RaftError {
  override name = "UnavailableError";
  constructor(readonly index: number) {
    super(`log index ${index} is unavailable`);
  }
}

/** A snapshot older than the one the storage already holds was offered. */
export class SnapshotOutOfDateError extends RaftError {
  override name = "SnapshotOutOfDateError";
  constructor(
    readonly index: number,
    readonly current: number,
  ) {
    super(`snapshot at index ${index} is older than the current one at ${current}`);
  }
}
