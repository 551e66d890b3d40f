/**
 * A queue declare answers once the new quorum queue has a leader, as RabbitMQ's does (its
 * declare returns once the queue's Ra cluster started and elected one). Answered earlier, a
 * client publishing at once got no confirm until the group's first election: 0.5-1.5 s with a
 * hand-over to the placed leader (docs/performance.md). The placed leader campaigns as it
 * creates the group (queue-groups.ts), so the wait is a round trip or two.
 *
 * Bounded: past `timeoutMs` (e.g. the placed leader's node is down and the others wait out an
 * election timeout) the declare answers as before; the queue is declared all the same.
 */
import type { GroupId } from "../../raft/core/types.js";
import type { QueueRecord } from "../meta/index.js";
import type { BrokerContext } from "./context.js";
import type { QueueGroups } from "./queue-groups.js";

/** The longest a declare waits for the new queue's leader. */
export const DECLARE_LEADER_WAIT_MS = 2000;

export class DeclareLeaderWait {
  /** Declares waiting on this node's replica of a group to learn its leader. */
  private readonly waiting = new Map<GroupId, Set<() => void>>();

  constructor(
    private readonly ctx: BrokerContext,
    private readonly queues: QueueGroups,
  ) {
    ctx.host.onLeaderChange((group, leader) => {
      if (leader === undefined) return;
      const w = this.waiting.get(group);
      if (w === undefined) return;
      this.waiting.delete(group);
      for (const wake of w) wake();
    });
  }

  /**
   * Resolves once a member knows the leader of quorum queue `record` (at once for a transient
   * queue, or a queue whose leader is known here), or after the bound; never rejects.
   */
  async leader(record: QueueRecord): Promise<void> {
    if (record.type !== "quorum" || record.group === undefined) return;
    const timeoutMs = Math.min(DECLARE_LEADER_WAIT_MS, this.ctx.settings.proposalTimeoutMs);
    // Not a member here: ask the members (the leader answers behind a read barrier).
    if (!record.members.includes(this.ctx.nodeId)) {
      await this.queues.countsAndLeader(record, true).catch(() => undefined);
      return;
    }
    const group = record.group;
    const deadline = Date.now() + timeoutMs;
    while (this.queues.leaderOf(group) === undefined && !this.ctx.stopped) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await this.nextLeaderChange(group, left);
    }
  }

  /** Resolves at this node's next news of a leader of `group`, or after `ms`. */
  private nextLeaderChange(group: GroupId, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let set = this.waiting.get(group);
      if (set === undefined) {
        set = new Set();
        this.waiting.set(group, set);
      }
      const waiters = set;
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.waiting.get(group) === waiters) this.waiting.delete(group);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }
}
