/**
 * The node's durable Raft storage: one LevelDB shared by every group, group commit (one fsync
 * per flush for all groups), recovery that refuses corrupt data. See docs/raft/storage.md.
 */
export {
  DEFAULT_WRITE_BUFFER_BYTES,
  NodeStorage,
  type NodeStorageOptions,
  type StagedWrite,
} from "./node-storage.js";
export type { LoadedGroup } from "./recovery.js";
export type { LatencySummary, StorageStats } from "./stats.js";
