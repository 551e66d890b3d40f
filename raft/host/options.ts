/**
 * RaftHost settings and their defaults.
 *
 * Timing is expressed in ticks of `tickMs`. Heartbeats go every 20 ms; a follower campaigns
 * after an election timeout the core randomizes in [300 ms, 600 ms). That timeout is longer
 * than the 100-150 ms one might pick on an idle machine on purpose: a leader's heartbeats
 * leave only between two batch writes, and under load a LevelDB batch write stalls for
 * 100-400 ms at times (measured in bench:raft on a shared 2-core machine), which with a
 * 100 ms timeout caused a stream of needless elections. Fast failover does not depend on it:
 * a lost TCP connection to the leader makes followers pre-vote within a few ticks
 * (`RawNode.reportLeaderLost`), so a killed leader is replaced in ~100-300 ms; only a silent
 * partition waits out the full timeout.
 */
import type { NodeId } from "../core/types.js";
import type { Logger } from "../logger.js";
import type { NodeStorage } from "../storage/index.js";
import type { Transport } from "../transport/index.js";

/** One tick every 10 ms: the host's only timer for all groups. */
export const DEFAULT_TICK_MS = 10;
/** 30 ticks = 300 ms; the core randomizes each follower's timeout in [30, 60) ticks. */
export const DEFAULT_ELECTION_TICK = 30;
/** 2 ticks = 20 ms between heartbeats: fifteen heartbeats per minimum election timeout. */
export const DEFAULT_HEARTBEAT_TICK = 2;
/** A snapshot every 4096 applied entries bounds a group's in-memory log (1 KiB entries: ~4 MiB). */
export const DEFAULT_SNAPSHOT_EVERY = 4096;
/** A proposal that has not committed after 5 s is rejected with ProposalTimeoutError. */
export const DEFAULT_PROPOSAL_TIMEOUT_MS = 5000;
/** Bytes of entry data per MsgApp: large enough to batch, small enough for one frame. */
export const DEFAULT_MAX_SIZE_PER_MSG = 1 << 20;
/** MsgApp pipelining window per follower in replicate mode. */
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;
/** Snapshots travel in chunks of this many bytes (state data, then live entries). */
export const SNAPSHOT_CHUNK_BYTES = 1 << 20;
/**
 * Entries kept in memory below a new snapshot, so a follower lagging by a few batches is
 * caught up with MsgApp rather than a full InstallSnapshot.
 */
export const DEFAULT_TRAILING_ENTRIES = 512;

export interface RaftHostOptions {
  readonly nodeId: NodeId;
  /** The node's write-ahead log. The host stages into it and flushes; it never closes it. */
  readonly storage: NodeStorage;
  /** Started by the caller (it may carry other channels too); the host never closes it. */
  readonly transport: Transport;
  readonly tickMs?: number;
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  readonly snapshotEvery?: number;
  readonly proposalTimeoutMs?: number;
  readonly maxSizePerMsg?: number;
  readonly maxInflightMsgs?: number;
  /** Entries kept in memory below a snapshot for slightly lagging followers. */
  readonly trailingEntries?: number;
  /** Bytes per InstallSnapshot frame (state data, or live entries). */
  readonly snapshotChunkBytes?: number;
  /** Bound to this node by the caller (e.g. pino `child({ node })`); the host adds no `node` key itself. */
  readonly logger?: Logger;
  /** Randomness for election timeouts; defaults to Math.random. */
  readonly random?: () => number;
  /** Idle groups stop ticking and heartbeating (raft/core/quiesce.ts). Default true. */
  readonly quiesce?: boolean;
}

/** The options with every default filled in. */
export interface ResolvedHostOptions {
  readonly nodeId: NodeId;
  readonly tickMs: number;
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly snapshotEvery: number;
  readonly proposalTimeoutMs: number;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  readonly trailingEntries: number;
  readonly snapshotChunkBytes: number;
  readonly random: () => number;
  readonly quiesce: boolean;
}

export function resolveHostOptions(o: RaftHostOptions): ResolvedHostOptions {
  const resolved: ResolvedHostOptions = {
    nodeId: o.nodeId,
    tickMs: o.tickMs ?? DEFAULT_TICK_MS,
    electionTick: o.electionTick ?? DEFAULT_ELECTION_TICK,
    heartbeatTick: o.heartbeatTick ?? DEFAULT_HEARTBEAT_TICK,
    snapshotEvery: o.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY,
    proposalTimeoutMs: o.proposalTimeoutMs ?? DEFAULT_PROPOSAL_TIMEOUT_MS,
    maxSizePerMsg: o.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG,
    maxInflightMsgs: o.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT_MSGS,
    trailingEntries: o.trailingEntries ?? DEFAULT_TRAILING_ENTRIES,
    snapshotChunkBytes: o.snapshotChunkBytes ?? SNAPSHOT_CHUNK_BYTES,
    random: o.random ?? Math.random,
    quiesce: o.quiesce ?? true,
  };
  if (resolved.heartbeatTick >= resolved.electionTick) {
    throw new RangeError(
      `heartbeatTick (${resolved.heartbeatTick}) must be below electionTick (${resolved.electionTick})`,
    );
  }
  if (resolved.tickMs <= 0 || resolved.snapshotEvery <= 0 || resolved.proposalTimeoutMs <= 0) {
    throw new RangeError("tickMs, snapshotEvery and proposalTimeoutMs must be positive");
  }
  return resolved;
}
