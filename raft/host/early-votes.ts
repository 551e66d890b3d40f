/**
 * (Pre-)vote requests for groups this node has not created yet, held for a moment and stepped
 * when the group is created.
 *
 * A new group's preferred leader campaigns as soon as it creates the group
 * (CreateGroupOptions.campaign). The other members create theirs when they learn about the group
 * (a queue's members apply the same metadata entry, a follower of the metadata group a round
 * trip after its leader), so the requests often arrive first. Dropped, they would leave the
 * campaign to a retry after a whole election timeout, the wait the early campaign is there to
 * avoid.
 *
 * Only vote and pre-vote requests are held: the leader retransmits everything else (heartbeats,
 * appends). Stepping a held request later is a network delay, which Raft tolerates; a member
 * that has not created the group has no say in anything until it does.
 */
import type { GroupId, Message, NodeId } from "../core/types.js";
import { MessageType } from "../core/types.js";

/** How long a held request stays useful: past an election timeout its campaign was retried. */
export const EARLY_VOTE_TTL_MS = 2000;
/** Bounds for a peer talking about groups this node never creates (e.g. removed here). */
const MAX_GROUPS = 1024;
const MAX_PER_GROUP = 8;

interface Held {
  readonly at: number;
  readonly from: NodeId;
  readonly m: Message;
}

export class EarlyVotes {
  private readonly held = new Map<GroupId, Held[]>();

  /** Holds `m` if it is a (pre-)vote request; other messages for unknown groups are dropped. */
  hold(group: GroupId, from: NodeId, m: Message, now: number): void {
    if (m.type !== MessageType.MsgVote && m.type !== MessageType.MsgPreVote) return;
    let list = this.held.get(group);
    if (list === undefined) {
      if (this.held.size >= MAX_GROUPS) this.evict(now);
      list = [];
      this.held.set(group, list);
    }
    if (list.length >= MAX_PER_GROUP) list.shift();
    list.push({ at: now, from, m });
  }

  /** The requests held for `group` that are still fresh, oldest first; forgets them all. */
  take(group: GroupId, now: number): { from: NodeId; m: Message }[] {
    const list = this.held.get(group);
    if (list === undefined) return [];
    this.held.delete(group);
    return list.filter((h) => now - h.at <= EARLY_VOTE_TTL_MS);
  }

  /** Groups with held requests (tests). */
  get size(): number {
    return this.held.size;
  }

  /** Drops expired entries; if every group is still fresh, the oldest group goes. */
  private evict(now: number): void {
    for (const [group, list] of this.held) {
      const last = list[list.length - 1];
      if (last === undefined || now - last.at > EARLY_VOTE_TTL_MS) this.held.delete(group);
    }
    if (this.held.size < MAX_GROUPS) return;
    const oldest = this.held.keys().next();
    if (oldest.done !== true) this.held.delete(oldest.value);
  }
}
