/**
 * The data types of the pure Raft core: log entries, persistent state, snapshots,
 * messages and the Ready batch. Everything here is plain data (msgpackr encodes it as is),
 * shared by `core/`, `storage/`, `transport/`, `host/` and `sim/`.
 *
 * Names follow the Raft paper and etcd/raft: term, vote, commit, MsgApp, HardState.
 */

/** A node's identity within the cluster, e.g. "n1". Stable across restarts. */
export type NodeId = string;

/** A Raft group's identity on a node, e.g. "meta" or "q:/:orders". */
export type GroupId = string;

/** Sentinel for "no node" (no leader known, no vote cast). */
export const NONE: NodeId = "";

export const EntryType = {
  /** An application command (or the leader's empty no-op when `data` is empty). */
  Normal: 0,
  /** A membership change: `data` is a msgpackr-encoded {@link ConfChange}. */
  ConfChange: 1,
} as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** One log entry. `index` and `term` are 1-based; index 0 / term 0 is the empty log's sentinel. */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque to the core. The host encodes the state machine's command here. */
  readonly data: Uint8Array;
}

/**
 * State that must be on stable storage before the node answers any RPC (Raft Figure 2):
 * currentTerm, votedFor and (as etcd does) the commit index so a restarted node can
 * re-apply without waiting for a leader.
 */
export interface HardState {
  readonly term: number;
  /** The node voted for in `term`, or NONE. */
  readonly vote: NodeId;
  readonly commit: number;
}

/** The cluster configuration: voters decide elections and commits; learners only receive the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export const ConfChangeType = {
  AddVoter: 0,
  RemoveNode: 1,
  AddLearner: 2,
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

/**
 * A single-server membership change (Ongaro's thesis §4.1: one voter at a time, so any two
 * consecutive majorities overlap). Promoting a learner is `AddVoter` for a node that is a learner.
 */
export interface ConfChange {
  readonly type: ConfChangeType;
  readonly node: NodeId;
  /**
   * The configuration after the change (the thesis' C_new), filled in by the leader's core
   * when it proposes the change. Applying it is then absolute, so a node that joined with an
   * empty configuration and replays the log ends up with the same configuration as the
   * others. Absent: applied relative to the current configuration.
   */
  readonly conf?: ConfState;
}

/** Describes the state a snapshot covers. */
export interface SnapshotMeta {
  /** The last index the snapshot covers (applied into `data`). */
  readonly index: number;
  /** The term of the entry at `index`. */
  readonly term: number;
  /** The configuration as of `index`. */
  readonly conf: ConfState;
}

/**
 * A state-machine snapshot.
 *
 * `live` names entries at or below `meta.index` that the state machine still needs
 * (RabbitMQ Ra v3's "live indexes": a queue keeps the bodies of unsettled messages in the log).
 * Compaction deletes every entry below the snapshot except these; InstallSnapshot ships them
 * along with `data`. The core never reads live entries: they sit below the log's first index,
 * and the host/storage layer keeps, ships and serves them.
 */
export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's serialized state (compact: it does not contain live entries' data). */
  readonly data: Uint8Array;
  /** Sorted ascending, each <= meta.index. */
  readonly live: readonly number[];
}

export const MessageType = {
  /** Local: start an election (pre-vote first when enabled). */
  MsgHup: 0,
  /** Local: the leader should broadcast heartbeats. */
  MsgBeat: 1,
  /** A proposal. Local on the leader; never forwarded by the core (the broker forwards). */
  MsgProp: 2,
  /** AppendEntries RPC (Figure 2). */
  MsgApp: 3,
  MsgAppResp: 4,
  /** RequestVote RPC (Figure 2). */
  MsgVote: 5,
  MsgVoteResp: 6,
  /** InstallSnapshot RPC (Figure 13). Carries the whole {@link Snapshot}; the host chunks it on the wire. */
  MsgSnap: 7,
  MsgHeartbeat: 8,
  MsgHeartbeatResp: 9,
  /** Local: the host could not reach `from`. */
  MsgUnreachable: 10,
  /** Local: the host reports the outcome of sending a snapshot (`reject` = failed). */
  MsgSnapStatus: 11,
  /** Local: the leader checks that it heard from a quorum within an election timeout. */
  MsgCheckQuorum: 12,
  /** Ask the leader to transfer leadership to `from` (thesis §3.10). */
  MsgTransferLeader: 13,
  /** The leader tells the transferee to campaign at once, bypassing pre-vote and leases. */
  MsgTimeoutNow: 14,
  /** Linearizable read request (thesis §6.4); `context` identifies it. */
  MsgReadIndex: 15,
  MsgReadIndexResp: 16,
  /** Pre-vote (thesis §9.6): a vote that does not bump anyone's term. */
  MsgPreVote: 17,
  MsgPreVoteResp: 18,
  /** Local: the host lost its connection to the leader; campaign early (Ra's trick for fast failover). */
  MsgLeaderLost: 19,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/**
 * One message between two nodes of a group (or a local input to the core).
 * A single flat shape, as in etcd/raft, so every field has one meaning across types.
 */
export interface Message {
  readonly type: MessageType;
  readonly to: NodeId;
  readonly from: NodeId;
  readonly term: number;
  /** MsgApp: term of the entry at `index` (prevLogTerm). Vote: the candidate's last log term. */
  readonly logTerm?: number;
  /** MsgApp: prevLogIndex. Vote: candidate's last index. AppResp: the index acknowledged or rejected. */
  readonly index?: number;
  readonly entries?: readonly Entry[];
  readonly commit?: number;
  readonly reject?: boolean;
  /** AppResp on reject: the follower's hint for fast backtracking (thesis §5.3 optimisation). */
  readonly rejectHint?: number;
  /** AppResp on reject: the term of the follower's entry at `rejectHint`. */
  readonly logTermHint?: number;
  readonly snapshot?: Snapshot;
  /** ReadIndex request id, echoed back in ReadState / heartbeats. */
  readonly context?: Uint8Array;
  /** MsgHeartbeat: the leader quiesced; a caught-up follower quiesces too (quiesce.ts). */
  readonly quiesce?: boolean;
}

export const Role = {
  Follower: 0,
  PreCandidate: 1,
  Candidate: 2,
  Leader: 3,
} as const;
export type Role = (typeof Role)[keyof typeof Role];

/** Volatile state worth reporting to the host (no need to persist). */
export interface SoftState {
  readonly lead: NodeId;
  readonly role: Role;
}

/** The answer to a ReadIndex request: once `index` is applied, a read with `context` is linearizable. */
export interface ReadState {
  readonly index: number;
  readonly context: Uint8Array;
}

/**
 * What the host must do, in this order, before calling `advance()`:
 *
 * 1. Persist `snapshot` (if any), then `entries` (truncating any conflicting suffix in storage),
 *    then `hardState` — one atomic, fsynced batch when `mustSync` (all groups of a node share it).
 * 2. Send `messages`. Every message may depend on step 1 (a vote, an append acknowledgement), so
 *    the default is to send only after the fsync. The one exception: a leader may send its
 *    MsgApp/MsgSnap before its own write completes (thesis §10.2.1), because the core counts the
 *    leader's own match index only when `advance()` reports the entries durable.
 * 3. Apply `committedEntries` to the state machine, in order. They are always durable on a majority.
 * 4. Call `advance(ready)`.
 */
export interface Ready {
  /** Present when leader or role changed since the last Ready. */
  readonly softState?: SoftState;
  /** Present when term, vote or commit changed since the last Ready. */
  readonly hardState?: HardState;
  /** A snapshot received from the leader, to install before `entries`. */
  readonly snapshot?: Snapshot;
  /** Entries to append to stable storage. */
  readonly entries: readonly Entry[];
  /** Entries committed and not yet applied. */
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** False when the batch carries nothing that must reach the disk before messages go out. */
  readonly mustSync: boolean;
}
