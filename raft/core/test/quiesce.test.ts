/**
 * Quiescence (quiesce.ts): an idle group stops its timers and heartbeats on every member, and
 * anything that needs Raft wakes it, with check-quorum and the leader lease intact.
 */
import { describe, expect, it } from "vitest";
import { Role } from "../types.js";
import { Network } from "./network.js";

const ELECTION = 10;
const IDS = ["a", "b", "c"] as const;

/** A three-node group led by `a`, idle, with one entry committed and applied everywhere. */
function idle(): Network {
  const net = new Network([...IDS], { checkQuorum: true, preVote: true });
  net.elect("a");
  net.propose("a", "x");
  net.stabilize();
  // A heartbeat round: every member answered since the last quorum check.
  net.tick(2);
  return net;
}

function sentCount(net: Network): number {
  return IDS.reduce((n, id) => n + net.get(id).sent.length, 0);
}

describe("quiescence", () => {
  it("an idle leader quiesces with its followers; then ticks send nothing and nobody campaigns", () => {
    const net = idle();
    expect(net.raw("a").quiesce()).toBe(true);
    net.stabilize();
    for (const id of IDS) expect(net.raw(id).isQuiesced()).toBe(true);
    const before = sentCount(net);
    net.tick(10 * ELECTION);
    expect(sentCount(net)).toBe(before);
    expect(net.leaders()).toEqual(["a"]);
    for (const id of IDS) expect(net.raw(id).status().term).toBe(1);
  });

  it("a proposal wakes the group and commits as usual", () => {
    const net = idle();
    net.raw("a").quiesce();
    net.stabilize();
    net.propose("a", "y");
    net.stabilize();
    for (const id of IDS) {
      expect(net.raw(id).isQuiesced()).toBe(false);
      expect(net.get(id).applied.map((e) => String.fromCharCode(...e.data))).toEqual(["x", "y"]);
    }
    net.tick(3 * ELECTION);
    expect(net.leaders()).toEqual(["a"]);
  });

  it("a leader does not quiesce while a follower lags or has not answered lately", () => {
    const net = idle();
    net.cut("a", "c");
    net.propose("a", "y");
    net.stabilize();
    expect(net.raw("a").quiesce()).toBe(false);
    net.recover();
    net.stabilize();
    // c is caught up again, but has it answered since the last quorum check? Tick until it did.
    net.tick(ELECTION);
    expect(net.raw("a").quiesce()).toBe(true);
  });

  it("a message to a quiesced follower wakes it, and it wakes its leader: no needless election", () => {
    const net = idle();
    net.raw("a").quiesce();
    net.stabilize();
    // c is cut off from a's messages and campaigns; b (in a's lease) ignores it but wakes.
    net.cut("a", "c");
    net.raw("c").campaign();
    net.stabilize();
    expect(net.raw("b").isQuiesced()).toBe(false);
    expect(net.raw("a").isQuiesced()).toBe(false);
    net.tick(5 * ELECTION);
    expect(net.leaders()).toEqual(["a"]);
    expect(net.raw("b").status()).toMatchObject({ lead: "a", term: 1 });
  });

  it("followers woken by their host after the leader went silent elect a new leader", () => {
    const net = idle();
    net.raw("a").quiesce();
    net.stabilize();
    net.isolate("a"); // frozen or black-holed: nothing closes, nothing arrives
    net.tick(5 * ELECTION, ["b", "c"]);
    expect(net.leaders()).toEqual(["a"]); // quiesced followers wait for their host
    net.raw("b").wake();
    net.raw("c").wake();
    let ticks = 0;
    while (!["b", "c"].some((id) => net.raw(id).status().role === Role.Leader) && ticks++ < 4 * ELECTION)
      net.tick(1, ["b", "c"]);
    expect(["b", "c"].some((id) => net.raw(id).status().role === Role.Leader)).toBe(true);
  });

  it("a quiesced leader that lost its quorum steps down once a proposal wakes it (check-quorum)", () => {
    const net = idle();
    net.raw("a").quiesce();
    net.stabilize();
    net.isolate("a");
    net.propose("a", "lost");
    net.tick(2 * ELECTION, ["a"]);
    expect(net.raw("a").status().role).toBe(Role.Follower);
  });

  it("the leader-lost hint wakes a quiesced follower", () => {
    const net = idle();
    net.raw("a").quiesce();
    net.stabilize();
    net.isolate("a");
    net.raw("b").reportLeaderLost();
    net.raw("c").reportLeaderLost();
    net.tick(2 * ELECTION, ["b", "c"]);
    expect(["b", "c"].some((id) => net.raw(id).status().role === Role.Leader)).toBe(true);
  });
});
