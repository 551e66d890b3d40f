/**
 * Leader news for nodes that hold no replica of a group.
 *
 * A node learns of a group's leader changes from its own replica (RaftHost.onLeaderChange),
 * and the forwarder and the publish streams act on that at once: an attempt in flight to a
 * node that stopped leading (frozen by SIGSTOP, cut off) is resent to the new leader instead
 * of waiting out the forward timeout. In a cluster larger than the replica sets (4 or 5 nodes,
 * 3 replicas) a node without a replica hears nothing of the group, so its forwarded publishes
 * and acks waited the whole timeout. So the node that becomes a group's leader tells every node
 * of the cluster outside the group's configuration, in one frame per node and event-loop turn
 * for all the groups it took over (a node's failure moves many at once). The news carries the
 * leader's term: a receiver keeps the newest, so a late frame never points back to an old
 * leader. News is a hint, never authority: a node that got it wrong answers NotLeader with its
 * own hint, as before.
 */
import type { GroupId, NodeId } from "../../raft/core/types.js";
import type { MetaChange } from "../meta/index.js";
import { type BrokerContext, guarded } from "./context.js";

/** The transport channel of leader news (one-way: nothing answers it). */
export const LEADER_NEWS_CHANNEL = "leader-news";

/** One piece of news on the wire: [group, leader, term]. */
type News = [GroupId, NodeId, number];

export class LeaderNews {
  /** Groups this node took over this turn, with their term, sent at the end of the turn. */
  private readonly outgoing = new Map<GroupId, number>();
  private flushScheduled = false;
  /** The newest leader heard of, per group this node hosts no replica of. */
  private readonly heard = new Map<GroupId, { leader: NodeId; term: number }>();

  constructor(private readonly ctx: BrokerContext) {
    ctx.host.onLeaderChange((group, leader) => {
      if (leader === ctx.nodeId) this.tookOver(group);
    });
    ctx.transport.on(LEADER_NEWS_CHANNEL, (_from, payload) =>
      guarded(ctx.logger, "leader news", () => this.received(payload)),
    );
    ctx.meta.onChanges((changes) => this.forgetDeleted(changes));
    ctx.forwarder.setHeardLeaders((group) => this.heard.get(group)?.leader);
  }

  private tookOver(group: GroupId): void {
    let term: number;
    try {
      term = this.ctx.host.status(group).term;
    } catch {
      return; // removed meanwhile
    }
    this.outgoing.set(group, term);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      guarded(this.ctx.logger, "leader news", () => this.flush());
    });
  }

  /** Sends this turn's news: to each node, the groups it holds no replica of. */
  private flush(): void {
    const { ctx } = this;
    const perNode = new Map<NodeId, News[]>();
    for (const [group, term] of this.outgoing) {
      let members: ReadonlySet<NodeId>;
      try {
        const st = ctx.host.status(group);
        // Only while this node still leads in that term: news of a lost leadership misleads.
        if (st.term !== term || ctx.host.leaderOf(group) !== ctx.nodeId) continue;
        members = new Set(st.progress?.keys() ?? []);
      } catch {
        continue;
      }
      for (const node of ctx.nodes) {
        if (node === ctx.nodeId || members.has(node)) continue;
        let list = perNode.get(node);
        if (list === undefined) {
          list = [];
          perNode.set(node, list);
        }
        list.push([group, ctx.nodeId, term]);
      }
    }
    this.outgoing.clear();
    // Best effort: a frame the transport drops (peer down, queue full) only loses a hint.
    for (const [node, news] of perNode) ctx.transport.send(node, LEADER_NEWS_CHANNEL, news);
  }

  private received(payload: unknown): void {
    if (!Array.isArray(payload)) return;
    const { ctx } = this;
    for (const item of payload as unknown[]) {
      if (!Array.isArray(item)) continue;
      const [group, leader, term] = item as unknown[];
      if (typeof group !== "string" || typeof leader !== "string" || typeof term !== "number") continue;
      // A replica here knows better (its host tells the forwarder itself).
      if (ctx.host.leaderOf(group) !== undefined) continue;
      const known = this.heard.get(group);
      if (known !== undefined && known.term >= term) continue;
      this.heard.set(group, { leader, term });
      ctx.forwarder.leaderHeard(group, leader);
    }
  }

  private forgetDeleted(changes: readonly MetaChange[]): void {
    for (const c of changes) {
      if (c.type === "queue-deleted" && c.queue.group !== undefined) this.heard.delete(c.queue.group);
    }
  }
}
