/**
 * The pure Raft core: one RawNode per group, a LogStorage it reads, and the shared types.
 * See docs/raft/core.md for the tick/step/propose -> Ready -> advance cycle.
 */
export { decodeConfChange, encodeConfChange } from "./confchange/codec.js";
export { applyChange } from "./confchange/confchange.js";
export { CAMPAIGN_TRANSFER } from "./election.js";
export {
  CompactedError,
  NotLeaderError,
  ProposalDroppedError,
  RaftError,
  RaftInvariantError,
  SnapshotOutOfDateError,
  UnavailableError,
} from "./errors.js";
export type { ProgressStatus, RaftConfig, Status } from "./raw-node.js";
export { RawNode } from "./raw-node.js";
export type { LogStorage } from "./storage.js";
export { MemoryStorage } from "./storage.js";
export { ProgressState } from "./tracker/progress.js";
export * from "./types.js";
