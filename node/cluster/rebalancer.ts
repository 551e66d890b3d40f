/**
 * Keeps queue leadership spread: every so often (and soon after a peer returns) each node looks
 * at the groups it hosts, asks `rebalance()` for the fewest transfers that bring every up node
 * within its fair share, and carries out the ones that move leadership AWAY from itself (only a
 * leader can transfer). Nodes see only the groups they host, so each acts on a partial view;
 * since a node only ever sheds leadership it holds above its share, the views cannot fight.
 *
 * Queues placed `client-local` (x-queue-leader-locator or the node's queueLeaderLocator) are
 * pinned: the rebalancer never moves their leadership, it only counts it as load. RabbitMQ never
 * moves a leader on its own (only `rabbitmq-queues rebalance`, run by hand, does), and moving such
 * a leader away from the node its clients use would bring back the forward on every publish that
 * client-local placement removed. Only `balanced` queues are moved to even leadership out.
 */
import type { GroupId, NodeId } from "../../raft/core/types.js";
import type { RaftHost } from "../../raft/host/index.js";
import type { Logger } from "../../raft/logger.js";
import { rebalance } from "./placement.js";

export interface RebalancerDeps {
  readonly nodeId: NodeId;
  readonly host: RaftHost;
  /**
   * Quorum groups hosted here, with their members; `pinned`: the leadership of this group is never
   * moved (a `client-local` queue), only counted.
   */
  readonly groups: () => readonly { group: GroupId; members: readonly NodeId[]; pinned?: boolean }[];
  /** Nodes that are up right now (this one included). */
  readonly upNodes: () => readonly NodeId[];
  readonly logger: Logger;
}

export class Rebalancer {
  private timer: ReturnType<typeof setInterval> | undefined;
  private soon: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(
    private readonly deps: RebalancerDeps,
    private readonly everyMs = 10_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.everyMs);
    this.timer.unref?.();
  }

  /**
   * Run shortly (a peer came back: give its elections time to settle first), and again every
   * second while this node still has leadership to shed (a transfer to a node that is still
   * catching up fails), at most `followUps` times.
   */
  schedule(delayMs = 1000, followUps = 5): void {
    if (this.soon !== undefined) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      void this.runOnce().then((acted) => {
        if (acted && followUps > 0) this.schedule(1000, followUps - 1);
      });
    }, delayMs);
    this.soon.unref?.();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.soon !== undefined) clearTimeout(this.soon);
  }

  /** One round; true when this node had leadership to hand over. */
  async runOnce(): Promise<boolean> {
    if (this.running) return false;
    this.running = true;
    try {
      const { host, nodeId } = this.deps;
      const views = this.deps.groups().map((g) => {
        let leader: NodeId | undefined;
        try {
          leader = host.leaderOf(g.group);
        } catch {
          leader = undefined;
        }
        // A pinned group has no other eligible member, so the flow counts its leader but never moves it.
        return { group: g.group, leader, members: g.pinned === true ? [] : g.members };
      });
      // The same seed on every node: nodes with the same view compute the same plan, and each
      // carries out its own part of it (no two nodes shed leadership for the same deficit).
      const transfers = rebalance({
        nodes: [...this.deps.upNodes()].sort(),
        groups: views,
        seed: "rebalance",
      });
      const mine = transfers.filter((t) => t.from === nodeId);
      for (const t of mine) {
        try {
          await host.transferLeadership(t.group, t.to);
          this.deps.logger.info({ group: t.group, to: t.to }, "leadership moved to rebalance");
        } catch (err) {
          this.deps.logger.debug({ group: t.group, to: t.to, err }, "leadership transfer failed");
        }
      }
      return mine.length > 0;
    } finally {
      this.running = false;
    }
  }
}
