/**
 * The multi-raft host: many groups per node over one NodeStorage (one fsync per batch for
 * all groups) and one Transport. See docs/raft/host.md.
 */
export { decodeCommand, encodeCommand, encodePackedCommand } from "./entry-codec.js";
export {
  DEFAULT_ELECTION_TICK,
  DEFAULT_HEARTBEAT_TICK,
  DEFAULT_PROPOSAL_TIMEOUT_MS,
  DEFAULT_SNAPSHOT_EVERY,
  DEFAULT_TICK_MS,
  type RaftHostOptions,
  SNAPSHOT_CHUNK_BYTES,
} from "./options.js";
export { RAFT_CHANNEL } from "./outbox.js";
export {
  type AppliedListener,
  type CreateGroupOptions,
  type LeaderChangeListener,
  RaftHost,
} from "./raft-host.js";
export type { LoopStats } from "./ready-loop.js";
export { SNAPSHOT_CHANNEL } from "./snapshot-transfer.js";
export type { ApplyMeta, LiveEntryReader, MachineSnapshot, StateMachine } from "./state-machine.js";
