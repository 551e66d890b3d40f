/**
 * Which peers are up, and what to do about one that stays down.
 *
 * The transport reports connections closing and opening. A peer whose connection stays down
 * longer than a grace period is declared down once: `onNodeDown(peer)` runs (the broker then
 * proposes `node-down` to the queues this node leads, releasing the dead node's consumers'
 * messages, and `node.down` to the metadata group when it leads it). A peer coming back runs
 * `onNodeUp(peer)` (the rebalancer moves some leadership to it).
 */
import type { NodeId } from "../../raft/core/types.js";
import type { Transport } from "../../raft/transport/index.js";

export class Membership {
  /** Peers whose connection is down, with the time it went down. */
  private readonly downSince = new Map<NodeId, number>();
  private readonly declared = new Set<NodeId>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly downListeners: ((peer: NodeId) => void)[] = [];
  private readonly upListeners: ((peer: NodeId) => void)[] = [];

  constructor(
    private readonly transport: Transport,
    /** Every other node of the cluster (as it is now): one that is not connected counts as down too. */
    private readonly peers: () => readonly NodeId[],
    private readonly graceMs: number,
    checkEveryMs = Math.max(50, Math.min(1000, Math.floor(graceMs / 4))),
  ) {
    transport.onPeerDown((peer) => {
      // Either direction's connection closing is only a hint: trust isPeerUp when checking.
      if (!this.downSince.has(peer)) this.downSince.set(peer, Date.now());
    });
    transport.onPeerUp((peer) => {
      this.downSince.delete(peer);
      const wasDeclared = this.declared.delete(peer);
      for (const l of this.upListeners) l(peer);
      void wasDeclared;
    });
    this.timer = setInterval(() => this.check(), checkEveryMs);
    this.timer.unref?.();
  }

  onNodeDown(cb: (peer: NodeId) => void): void {
    this.downListeners.push(cb);
  }

  onNodeUp(cb: (peer: NodeId) => void): void {
    this.upListeners.push(cb);
  }

  isUp(peer: NodeId): boolean {
    return this.transport.isPeerUp(peer);
  }

  /** Peers declared down (past the grace period and not back). */
  downPeers(): NodeId[] {
    return [...this.declared];
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    // A connection can end without a down event (removed and re-added, never established).
    const peers = new Set(this.peers());
    for (const peer of peers) {
      if (!this.transport.isPeerUp(peer) && !this.downSince.has(peer)) this.downSince.set(peer, now);
    }
    for (const [peer, since] of this.downSince) {
      // A removed node is no peer any more (forgetting it released its consumers already).
      if (this.transport.isPeerUp(peer) || !peers.has(peer)) {
        this.downSince.delete(peer);
        continue;
      }
      if (now - since < this.graceMs || this.declared.has(peer)) continue;
      this.declared.add(peer);
      for (const l of this.downListeners) l(peer);
    }
  }
}
