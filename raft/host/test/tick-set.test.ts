/**
 * TickSet: which groups the host's ticker visits. A quiesced group with nothing pending is
 * parked; an input, a silent leader node or a woken core brings it back.
 */
import { describe, expect, it } from "vitest";
import { NONE, Role } from "../../core/types.js";
import type { Group } from "../group.js";
import { TickSet } from "../tick-set.js";

interface FakeGroup {
  id: string;
  role: Role;
  lead: string;
  removed: boolean;
  quiesced: boolean;
  ready: boolean;
  proposals: { size: number };
  reads: { size: number };
  conf: { voters: string[]; learners: string[] };
  node: { isQuiesced(): boolean; hasReady(): boolean };
}

function group(id: string, role: Role, lead: string): FakeGroup {
  const g: FakeGroup = {
    id,
    role,
    lead,
    removed: false,
    quiesced: true,
    ready: false,
    proposals: { size: 0 },
    reads: { size: 0 },
    conf: { voters: ["n1", "n2", "n3"], learners: ["n4"] },
    node: { isQuiesced: () => g.quiesced, hasReady: () => g.ready },
  };
  return g;
}

const asGroup = (g: FakeGroup) => g as unknown as Group;

describe("TickSet", () => {
  it("parks only quiesced groups with nothing pending and a known leader", () => {
    const t = new TickSet();
    const awake = group("a", Role.Follower, "n1");
    awake.quiesced = false;
    const waiting = group("w", Role.Leader, "n1");
    waiting.proposals.size = 1;
    const withReady = group("r", Role.Follower, "n1");
    withReady.ready = true;
    const noLeader = group("x", Role.Follower, NONE);
    const idle = group("i", Role.Follower, "n1");
    for (const g of [awake, waiting, withReady, noLeader, idle]) t.activate(asGroup(g));
    const parked = [awake, waiting, withReady, noLeader, idle].filter((g) => t.maybePark(asGroup(g)));
    expect(parked.map((g) => g.id)).toEqual(["i"]);
    expect([...t.active].map((g) => g.id)).toEqual(["a", "w", "r", "x"]);
  });

  it("files parked followers under their leader's node and wakes them together", () => {
    const t = new TickSet();
    const f1 = group("f1", Role.Follower, "n1");
    const f2 = group("f2", Role.Follower, "n1");
    const f3 = group("f3", Role.Follower, "n2");
    for (const g of [f1, f2, f3]) {
      t.activate(asGroup(g));
      t.maybePark(asGroup(g));
    }
    expect(t.active.size).toBe(0);
    expect([...t.leaderNodes()].sort()).toEqual(["n1", "n2"]);
    expect(t.activateUnder("n1").map((g) => g.id)).toEqual(["f1", "f2"]);
    expect([...t.active].map((g) => g.id)).toEqual(["f1", "f2"]);
    expect([...t.leaderNodes()]).toEqual(["n2"]);
  });

  it("the ping pass lists parked leaders' members and reactivates woken cores", () => {
    const t = new TickSet();
    const leader = group("l", Role.Leader, "n1");
    const follower = group("f", Role.Follower, "n2");
    for (const g of [leader, follower]) {
      t.activate(asGroup(g));
      t.maybePark(asGroup(g));
    }
    // A message woke the follower's core without the host activating it.
    follower.quiesced = false;
    expect([...t.sweep()].sort()).toEqual(["n1", "n2", "n3", "n4"]);
    expect([...t.active].map((g) => g.id)).toEqual(["f"]);
    expect([...t.leaderNodes()]).toEqual([]);
  });

  it("a parked leader with a member's node silent is reactivated (it must run its quorum check)", () => {
    const t = new TickSet();
    const a = group("a", Role.Leader, "n1");
    const b = group("b", Role.Leader, "n1");
    b.conf = { voters: ["n1", "n2"], learners: [] };
    for (const g of [a, b]) {
      t.activate(asGroup(g));
      t.maybePark(asGroup(g));
    }
    // Its own node never counts; n4 (a's learner) and n3 (a's voter) are heard.
    expect(t.activateLeadersWithSilentMember("n1", (p) => p === "n1")).toEqual([]);
    expect(t.activateLeadersWithSilentMember("n1", (p) => p === "n3").map((g) => g.id)).toEqual(["a"]);
    expect([...t.active].map((g) => g.id)).toEqual(["a"]);
    expect(t.activateLeadersWithSilentMember("n1", () => true).map((g) => g.id)).toEqual(["b"]);
  });

  it("an input unparks; a removed group is forgotten and never reactivated", () => {
    const t = new TickSet();
    const g = group("g", Role.Follower, "n1");
    t.activate(asGroup(g));
    t.maybePark(asGroup(g));
    t.activate(asGroup(g));
    expect(t.active.has(asGroup(g))).toBe(true);
    expect([...t.leaderNodes()]).toEqual([]);
    t.maybePark(asGroup(g));
    g.removed = true;
    t.delete(asGroup(g));
    t.activate(asGroup(g));
    expect(t.active.size).toBe(0);
    expect(t.activateUnder("n1")).toEqual([]);
  });
});
