/**
 * The contracts between a simulated node and the world around it: what travels on the wire,
 * the per-run Raft/host parameters, the deliberate bugs used to test the checkers, and the
 * services the cluster provides to a node.
 */
import type { ConfChange, ConfState, Entry, Message, NodeId, ReadState } from "../core/index.js";
import type { SafetyChecker } from "./checkers.js";
import type { SimDisk } from "./disk.js";
import type { SimNode } from "./sim-node.js";

/** A message on the simulated wire, with the live entries a host ships along with a snapshot. */
export interface Envelope {
  readonly msg: Message;
  readonly liveEntries?: readonly Entry[];
}

/** Deliberate host bugs, used only to prove that the checkers catch them. */
export interface HostBugs {
  /** Send every message (votes and append acknowledgements too) before the fsync. */
  readonly sendBeforeFsync?: boolean;
  /** Turn every rejected MsgVote into a grant: a node that votes twice in a term. */
  readonly grantEveryVote?: boolean;
}

/** Raft and host parameters shared by every node of a run. */
export interface NodeParams {
  readonly electionTick: number;
  readonly heartbeatTick: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly maxSizePerMsg: number;
  readonly maxInflightMsgs: number;
  /** Bytes of committed entries per Ready (pagination of the apply work); 0 = unlimited. */
  readonly maxCommittedSizePerReady: number;
  /** Take a snapshot after this many applied entries. */
  readonly snapshotEvery: number;
  /** Entries kept in memory below a snapshot, so slightly lagging followers get MsgApp, not MsgSnap. */
  readonly snapshotTrail: number;
  /** Every this-many-th client command stays live below snapshots. */
  readonly liveEvery: number;
  /** Upper bound of the fsync latency, in clock units (0 = fsync is instant). */
  readonly maxFsyncDelay: number;
  /**
   * Keep stepping messages and ticking while a fsync is in flight (the core allows it between
   * ready() and advance()); otherwise inputs wait in a queue until the Ready is done.
   */
  readonly stepWhileSyncing: boolean;
  /** The host quiesces idle groups (raft/core/quiesce.ts) and watches leaders' nodes. */
  readonly quiesce: boolean;
  readonly bugs: HostBugs;
}

/** What a node needs from the simulated world around it. */
export interface NodeWorld {
  readonly checker: SafetyChecker;
  /** Traces an event of this node. */
  note(node: NodeId, what: string, detail?: (() => string) | string): void;
  /** Schedules the completion of the current fsync `delay` units from now. */
  scheduleFsync(node: NodeId, incarnation: number, delay: number): void;
  /** Puts a message on the network (the world checks durability promises and attaches live entries). */
  transmit(from: SimNode, m: Message): void;
  /** The node applied a committed entry (the world acknowledges client commands). */
  applied(node: SimNode, e: Entry): void;
  /** The node applied a configuration change. */
  confApplied(node: SimNode, index: number, cc: ConfChange, conf: ConfState): void;
  readState(node: SimNode, rs: ReadState): void;
  /** The node became leader of `term` (checks passed). */
  elected(node: SimNode, term: number): void;
  /** Durable view of any node's disk (for the commit durability check). */
  diskOf(id: NodeId): SimDisk | undefined;
  /** Whether `self` hears `peer`'s node now (up, not paused, link not cut): the host's liveness view. */
  canHear(self: NodeId, peer: NodeId): boolean;
}
