/**
 * The first survivor's campaign after the leader-lost hint (leader-lost-campaign.ts): with ticks
 * longer than a few milliseconds (the broker's 100 ms), the survivor the core puts first in turn
 * campaigns LEADER_LOST_CAMPAIGN_MS after the hint instead of at its next tick; the others keep
 * their turns, and a group that found a leader or campaigns already is left alone.
 */
import { describe, expect, it } from "vitest";
import { survivorRank } from "../../core/raft.js";
import type { NodeId } from "../../core/types.js";
import { NONE, Role } from "../../core/types.js";
import { type CampaignGroup, LEADER_LOST_CAMPAIGN_MS, LeaderLostCampaigns } from "../leader-lost-campaign.js";

const VOTERS = ["n1", "n2", "n3"];
const LOST = "n1";

/** A group's core as the host sees it after the hint: no leader, a follower. */
class FakeGroup implements CampaignGroup {
  lead: NodeId = NONE;
  role: Role = Role.Follower;
  campaigns = 0;
  readonly node = {
    status: () => ({ lead: this.lead, role: this.role, conf: { voters: VOTERS } }),
    campaign: () => {
      this.campaigns++;
      this.role = Role.PreCandidate;
    },
  };
  constructor(readonly id: string) {}
}

/** A manual clock: `after` queues, `advance` runs what is due. */
class Clock {
  now = 0;
  private timers: { at: number; fn: () => void }[] = [];
  readonly after = (fn: () => void, ms: number) => {
    const t = { at: this.now + ms, fn };
    this.timers.push(t);
    return () => {
      this.timers = this.timers.filter((x) => x !== t);
    };
  };
  advance(ms: number): void {
    this.now += ms;
    const due = this.timers.filter((t) => t.at <= this.now);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
  }
}

/** The survivor the core lets campaign first in `group` after losing LOST. */
function firstInTurn(group: string): NodeId {
  return VOTERS.find((v) => v !== LOST && survivorRank(VOTERS, LOST, v, group) === 0)!;
}

function setup(self: NodeId, tickMs = 100) {
  const clock = new Clock();
  const started: string[] = [];
  const removed = new Set<string>();
  const c = new LeaderLostCampaigns<FakeGroup>(
    self,
    tickMs,
    (g) => !removed.has(g.id),
    (g) => started.push(g.id),
    clock.after,
  );
  return { clock, started, removed, c };
}

describe("the first survivor's campaign after the leader-lost hint", () => {
  it("starts LEADER_LOST_CAMPAIGN_MS after the hint on the survivor first in turn, not at the next tick", () => {
    const g = new FakeGroup("q:/:a");
    const { clock, started, c } = setup(firstInTurn(g.id));
    c.leaderLost(g, LOST);
    // Not at once: the other survivor may not have lost the leader (and its lease) yet.
    expect(g.campaigns).toBe(0);
    clock.advance(LEADER_LOST_CAMPAIGN_MS - 1);
    expect(g.campaigns).toBe(0);
    clock.advance(1);
    expect(g.campaigns).toBe(1);
    expect(started).toEqual([g.id]);
  });

  it("leaves the other survivors to their turn (the core's timers)", () => {
    const g = new FakeGroup("q:/:a");
    const other = VOTERS.find((v) => v !== LOST && v !== firstInTurn(g.id))!;
    const { clock, c } = setup(other);
    c.leaderLost(g, LOST);
    clock.advance(10 * LEADER_LOST_CAMPAIGN_MS);
    expect(g.campaigns).toBe(0);
  });

  it("spreads the groups a dead node led over the survivors, as the core's turn order does", () => {
    const groups = Array.from({ length: 12 }, (_, i) => new FakeGroup(`q:/:g${i}`));
    let total = 0;
    for (const self of VOTERS.filter((v) => v !== LOST)) {
      const fresh = groups.map((g) => new FakeGroup(g.id));
      const { clock, c } = setup(self);
      for (const g of fresh) c.leaderLost(g, LOST);
      clock.advance(LEADER_LOST_CAMPAIGN_MS);
      const mine = fresh.filter((g) => g.campaigns === 1).map((g) => g.id);
      expect(mine).toEqual(fresh.filter((g) => firstInTurn(g.id) === self).map((g) => g.id));
      total += mine.length;
    }
    // Each group gets exactly one early campaign, from one survivor.
    expect(total).toBe(groups.length);
  });

  it("does not campaign in a group that found a leader, campaigns already, or is gone", () => {
    const led = new FakeGroup("q:/:led");
    const busy = new FakeGroup("q:/:busy");
    const gone = new FakeGroup("q:/:gone");
    const groups = [led, busy, gone];
    for (const self of VOTERS.filter((v) => v !== LOST)) {
      const { clock, removed, c } = setup(self);
      for (const g of groups) c.leaderLost(g, LOST);
      led.lead = "n3";
      busy.role = Role.PreCandidate;
      removed.add(gone.id);
      clock.advance(LEADER_LOST_CAMPAIGN_MS);
    }
    expect(groups.map((g) => g.campaigns)).toEqual([0, 0, 0]);
  });

  it("leaves short ticks to the core (its first tick comes as soon), and forgets everything on stop", () => {
    const g = new FakeGroup("q:/:a");
    const short = setup(firstInTurn(g.id), LEADER_LOST_CAMPAIGN_MS);
    short.c.leaderLost(g, LOST);
    short.clock.advance(LEADER_LOST_CAMPAIGN_MS);
    const stopped = setup(firstInTurn(g.id));
    stopped.c.leaderLost(g, LOST);
    stopped.c.stop();
    stopped.clock.advance(LEADER_LOST_CAMPAIGN_MS);
    expect(g.campaigns).toBe(0);
  });
});
