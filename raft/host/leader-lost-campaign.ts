/**
 * The first survivor's campaign after the leader-lost hint, counted in milliseconds, not ticks.
 *
 * After the hint (peer-hint.ts) the core campaigns in turn: the first survivor after one tick,
 * the next ones later (Raft.leaderLost, survivorRank). One tick is the host's `tickMs`: 10 ms by
 * default here, but the broker runs etcd's 100 ms (node/config), so there the first survivor
 * waited for the next tick boundary, 0-100 ms, before it even asked for votes: most of the gap
 * without confirms a publisher saw when a queue leader's node was killed (docs/performance.md,
 * "Failover gap (e), session 3"). With ticks longer than LEADER_LOST_CAMPAIGN_MS the host starts
 * that first campaign itself, LEADER_LOST_CAMPAIGN_MS after the hint.
 *
 * Why not at once: the other survivors must have lost the dead leader too. A follower that still
 * counts the leader's lease ignores a (pre-)vote (thesis §4.2.3), and a kill closes the dead
 * node's connections at once, but each survivor notices on its own event loop (0.3-11 ms apart
 * on a loaded machine). Only the campaign's start moves: pre-vote, the vote and the core's timers
 * are untouched, and a group that found a leader meanwhile, or is campaigning already, is left
 * alone. Should this campaign fail, the core's turns go on as before.
 */
import { survivorRank } from "../core/raft.js";
import type { GroupId, NodeId } from "../core/types.js";
import { NONE, Role } from "../core/types.js";

/** Delay between the leader-lost hint and the first survivor's campaign. */
export const LEADER_LOST_CAMPAIGN_MS = 10;

/** What this needs of a group (raft/host/group.ts). */
export interface CampaignGroup {
  readonly id: GroupId;
  readonly node: {
    status(): {
      readonly lead: NodeId;
      readonly role: Role;
      readonly conf: { readonly voters: readonly NodeId[] };
    };
    campaign(): void;
  };
}

/** Runs `fn` after `ms` (setTimeout in the host, a fake clock in tests); returns a cancel. */
export type After = (fn: () => void, ms: number) => () => void;

const realAfter: After = (fn, ms) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export class LeaderLostCampaigns<G extends CampaignGroup = CampaignGroup> {
  /** Groups whose first campaign is due, all at the next timer (one timer for all of them). */
  private readonly due = new Set<G>();
  private cancel: (() => void) | undefined;

  constructor(
    private readonly nodeId: NodeId,
    private readonly tickMs: number,
    /** Called before a due campaign: false when the group is gone (removed, host stopped). */
    private readonly alive: (g: G) => boolean,
    /** Called after a campaign started (the host wakes its loop for the group). */
    private readonly started: (g: G) => void,
    private readonly after: After = realAfter,
  ) {}

  /** The hint was given to `g` (its core forgot `lost`): campaign soon if this node is first in turn. */
  leaderLost(g: G, lost: NodeId): void {
    // With short ticks the core's own first tick comes as soon.
    if (this.tickMs <= LEADER_LOST_CAMPAIGN_MS) return;
    if (survivorRank(g.node.status().conf.voters, lost, this.nodeId, g.id) !== 0) return;
    this.due.add(g);
    this.cancel ??= this.after(() => this.fire(), LEADER_LOST_CAMPAIGN_MS);
  }

  /** Forgets every due campaign (the host stops). */
  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.due.clear();
  }

  private fire(): void {
    this.cancel = undefined;
    const due = [...this.due];
    this.due.clear();
    for (const g of due) {
      if (!this.alive(g)) continue;
      const s = g.node.status();
      // A leader was found meanwhile, or the core's tick already started the campaign.
      if (s.role !== Role.Follower || s.lead !== NONE) continue;
      g.node.campaign();
      this.started(g);
    }
  }
}
