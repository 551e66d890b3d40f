/**
 * What a node does about a peer that is gone (unreachable past the grace period, see
 * node/cluster/membership.ts) and about one that comes back:
 * - gone: `node-down` to every queue this node leads (and every transient queue homed here),
 *   returning the messages the peer's consumers held so others get them; `node.down` to the
 *   metadata group when this node leads it (the peer's transient queues are deleted);
 * - back: the peer was only cut off, and its consumers on the queues released above no longer
 *   exist there. It is told, and cancels them (basic.cancel: the client consumes again) rather
 *   than leave them waiting for deliveries that will never come.
 */
import type { NodeId } from "../../raft/core/types.js";
import type { QueueRecord } from "../meta/index.js";
import type { Consumers } from "./consumers.js";
import { type BrokerContext, guarded } from "./context.js";
import type { QueueGroups } from "./queue-groups.js";

const RELEASED_CHANNEL = "released";

interface ReleasedNotice {
  readonly queues: readonly { vhost: string; name: string; incarnation: number }[];
}

export class NodeLoss {
  /** Queues whose consumers of a peer this node released, until the peer is told. */
  private readonly releasedFrom = new Map<NodeId, QueueRecord[]>();
  /** Peers declared down and not back. */
  private readonly down = new Set<NodeId>();

  constructor(
    private readonly ctx: BrokerContext,
    private readonly queues: QueueGroups,
    private readonly consumers: Consumers,
  ) {
    ctx.transport.on(RELEASED_CHANNEL, (from, payload) =>
      guarded(ctx.logger, "released notice", () => this.onReleased(from, payload)),
    );
    // A queue that had no leader when a peer was declared down (its leader was that peer, and
    // the survivors could not elect one yet) was released by nobody: its next leader does it,
    // as RabbitMQ's quorum queue leader re-monitors consumers on election.
    queues.onLeadershipGained((record) => {
      for (const peer of this.down) this.release(peer, record);
    });
  }

  peerGone(peer: NodeId): void {
    const { ctx, queues } = this;
    ctx.logger.warn({ peer }, "peer declared down");
    this.down.add(peer);
    for (const r of queues.hostedReplicas()) {
      if (queues.leaderOf(r.group) !== ctx.nodeId) continue;
      this.release(peer, r.record);
    }
    for (const l of queues.localQueues()) this.release(peer, l.record);
    if (ctx.meta.leader() === ctx.nodeId) {
      ctx.meta.propose({ type: "node.down", node: peer }).catch(() => undefined);
    }
  }

  /** Returns what `peer`'s consumers hold on `record`, and remembers to tell the peer. */
  private release(peer: NodeId, record: QueueRecord): void {
    let released = this.releasedFrom.get(peer);
    if (released === undefined) {
      released = [];
      this.releasedFrom.set(peer, released);
    }
    if (!released.includes(record)) released.push(record);
    this.nodeDown(record, peer, 0);
  }

  private nodeDown(record: QueueRecord, peer: NodeId, attempt: number): void {
    this.queues.execute(record, { type: "node-down", node: peer }).catch(() => {
      if (attempt < 5 && !this.ctx.stopped) {
        setTimeout(() => this.nodeDown(record, peer, attempt + 1), 500).unref?.();
      }
    });
  }

  peerReturned(peer: NodeId): void {
    this.down.delete(peer);
    const released = this.releasedFrom.get(peer);
    if (released === undefined) return;
    this.releasedFrom.delete(peer);
    const notice: ReleasedNotice = {
      queues: released.map((q) => ({ vhost: q.vhost, name: q.name, incarnation: q.createdIndex })),
    };
    this.ctx.transport.send(peer, RELEASED_CHANNEL, notice);
  }

  private onReleased(from: NodeId, payload: unknown): void {
    const notice = payload as Partial<ReleasedNotice>;
    if (!Array.isArray(notice.queues)) return;
    this.ctx.logger.warn(
      { by: from, queues: notice.queues.length },
      "this node was declared down; consumers cancelled",
    );
    for (const q of notice.queues) {
      this.consumers.cancelQueue(
        q.vhost,
        q.name,
        q.incarnation,
        "the queue's leader lost contact with this node",
      );
    }
  }
}
