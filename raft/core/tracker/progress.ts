/**
 * The leader's view of one follower (etcd's Progress; Raft Figure 2's nextIndex/matchIndex).
 *
 * States (etcd's design, thesis §10.2.1's pipelining):
 * - Probe: the follower's log position is unknown; send one MsgApp and wait for its answer
 *   (`probeSent`), walking `next` back on rejections.
 * - Replicate: the position is known; stream MsgApps optimistically (`next` runs ahead of
 *   `match`), at most `inflights.capacity` unacknowledged at a time.
 * - Snapshot: the follower needs entries that are compacted away; a snapshot is on its way
 *   and nothing else is sent until it is reported.
 *
 * Invariant: match < next.
 */
import { Inflights } from "./inflights.js";

export const ProgressState = {
  Probe: "probe",
  Replicate: "replicate",
  Snapshot: "snapshot",
} as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

export class Progress {
  /** Highest index known replicated (for the leader itself: known durable). */
  match = 0;
  /** Index of the next entry to send. */
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** Probe state: a MsgApp is out, wait for its answer (or a heartbeat response). */
  probeSent = false;
  /** Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round (leader only). */
  recentActive = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, maxInflight: number, isLearner: boolean) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, the follower holds at least the snapshot: probe right after it.
    if (this.state === ProgressState.Snapshot) {
      const pending = this.pendingSnapshot;
      this.resetState(ProgressState.Probe);
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState(ProgressState.Probe);
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState(ProgressState.Replicate);
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState(ProgressState.Snapshot);
    this.pendingSnapshot = snapshotIndex;
  }

  /**
   * The follower acknowledged entries up to `n`. Returns false for a stale (older)
   * acknowledgement. Any acknowledgement un-pauses a probe.
   */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** Replicate state: entries up to `n` were sent; the next MsgApp starts after them. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * The follower rejected a MsgApp whose previous index was `rejected`; `matchHint` is the
   * highest index that may match (from the follower's hint). Returns false for a stale
   * rejection (one that does not concern the current `next`).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false;
      // The pipeline broke (a lost or reordered message): restart from the known match.
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** True when nothing more should be sent now (flow control). */
  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.full();
      default:
        return true;
    }
  }
}
