/**
 * The leader's bookkeeping for the whole group: the current configuration, a Progress per
 * member, and the votes of the current election (etcd's ProgressTracker).
 *
 * Invariant: `progress` has exactly one entry per node of `voters` ∪ `learners`, and the two
 * sets are disjoint.
 */
import { committedIndex, hasQuorum, type VoteResult, voteResult } from "../quorum/majority.js";
import type { ConfState, NodeId } from "../types.js";
import { Progress } from "./progress.js";

export class ProgressTracker {
  voters: NodeId[] = [];
  learners: NodeId[] = [];
  readonly progress = new Map<NodeId, Progress>();
  /** Votes received in the current (pre-)election: true = granted. */
  readonly votes = new Map<NodeId, boolean>();

  constructor(readonly maxInflight: number) {}

  confState(): ConfState {
    return { voters: [...this.voters], learners: [...this.learners] };
  }

  isVoter(id: NodeId): boolean {
    return this.voters.includes(id);
  }

  isLearner(id: NodeId): boolean {
    return this.learners.includes(id);
  }

  /**
   * Switches to configuration `conf`. Members that stay keep their progress (a promoted
   * learner keeps its match); new members start probing at `nextIndex`, and count as active
   * so that check-quorum does not depose the leader before they had a chance to answer.
   */
  applyConf(conf: ConfState, nextIndex: number): void {
    this.voters = [...conf.voters].sort();
    this.learners = [...conf.learners].sort();
    const members = new Set([...this.voters, ...this.learners]);
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    for (const id of members) {
      const learner = this.learners.includes(id);
      const pr = this.progress.get(id);
      if (pr) {
        pr.isLearner = learner;
      } else {
        const fresh = new Progress(nextIndex, this.maxInflight, learner);
        fresh.recentActive = true;
        this.progress.set(id, fresh);
      }
    }
  }

  /** The largest index durable on a majority of voters. */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  /**
   * Check-quorum (thesis §6.2): true when a majority of voters (counting `self`) was heard
   * from since the last check.
   */
  quorumActive(self: NodeId): boolean {
    return hasQuorum(this.voters, (id) => id === self || (this.progress.get(id)?.recentActive ?? false));
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records `id`'s vote (the first answer counts; duplicates are ignored). */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, this.votes) };
  }
}
