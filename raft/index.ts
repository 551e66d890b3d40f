/**
 * Warren's Raft library: a durable, replicated log for many groups per node. It knows
 * nothing about messaging. The layers, bottom up:
 * - `core/`: the pure Raft state machine per group (RawNode, Ready/Advance, MemoryStorage);
 * - `storage/`: NodeStorage, one LevelDB WAL per node shared by every group (group commit);
 * - `transport/`: authenticated TCP between nodes, typed channels, per-turn batching;
 * - `host/`: RaftHost, which runs many groups over one storage and one transport.
 * See docs/raft.md.
 */
export * from "./core/index.js";
export {
  CorruptStorageError,
  NotLeaderError,
  ProposalDroppedError,
  ProposalTimeoutError,
  RaftError,
  RaftInvariantError,
  UnknownGroupError,
} from "./errors.js";
export * from "./host/index.js";
export { type Logger, noopLogger } from "./logger.js";
export * from "./storage/index.js";
export * from "./transport/index.js";
