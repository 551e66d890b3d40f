/**
 * The contract between the Raft host and a replicated state machine (a queue, the metadata).
 *
 * Shaped after RabbitMQ Ra's `apply(Meta, Command, State)`: `apply` is pure and deterministic,
 * it sees the same commands in the same order on every replica, and it must never read the
 * local clock, randomness or disk. Time comes from `meta.time`, which the leader's host writes
 * into every entry when it proposes it. Side effects (deliveries, timers, dead-letter publishes)
 * are returned as data in the result; only the leader's node acts on them.
 */
import type { GroupId } from "../core/types.js";

export interface ApplyMeta {
  readonly group: GroupId;
  /** The Raft index of the entry; unique and increasing within the group (a natural message id). */
  readonly index: number;
  readonly term: number;
  /** Milliseconds since the Unix epoch, stamped by the leader at proposal time. */
  readonly time: number;
}

/**
 * A snapshot as the state machine hands it over.
 * `live` names the indexes at or below the snapshot index whose entries the machine still
 * needs (e.g. bodies of unsettled messages): compaction keeps exactly those and deletes the rest.
 */
export interface MachineSnapshot {
  readonly state: Uint8Array;
  /** Sorted ascending. */
  readonly live: readonly number[];
}

export interface StateMachine<Command = unknown, Result = unknown> {
  /** Applies one committed command. Must be deterministic; may throw only on a broken invariant. */
  apply(meta: ApplyMeta, command: Command): Result;
  /** Captures the state as of the last applied index. */
  snapshot(): MachineSnapshot;
  /** Replaces the whole state with a snapshot's (on restart or InstallSnapshot). */
  restore(snapshot: MachineSnapshot, meta: { readonly index: number; readonly term: number }): void;
}

/**
 * Reads a live entry's command back from storage (for example a message body kept in the log),
 * for the node layer that delivers it. Rejects if the index is neither in the log nor live.
 */
export interface LiveEntryReader<Command = unknown> {
  readCommand(group: GroupId, index: number): Promise<Command>;
}
