/**
 * Persistent state and restarts (Raft Figure 2: "Persistent state on all servers: (Updated
 * on stable storage before responding to RPCs)"), and the host-facing Ready contract.
 */
import { describe, expect, it } from "vitest";
import { RaftInvariantError } from "../errors.js";
import { MessageType, Role } from "../types.js";
import { Network, text } from "./network.js";

describe("Raft Figure 2 persistent state", () => {
  it("a vote is in the Ready's hard state, marked mustSync, together with the response", () => {
    // Figure 2: currentTerm and votedFor are "updated on stable storage before responding".
    const net = new Network(["a", "b", "c"]);
    const b = net.raw("b");
    b.step({ type: MessageType.MsgVote, from: "a", to: "b", term: 1, index: 0, logTerm: 0 });
    const rd = b.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: "a", commit: 0 });
    expect(rd.mustSync).toBe(true);
    expect(rd.messages.map((m) => m.type)).toEqual([MessageType.MsgVoteResp]);
    b.advance(rd);
  });

  it("a restarted node remembers its term and vote and does not vote twice", () => {
    // Raft §5.2: "Each server will vote for at most one candidate in a given term".
    const net = new Network(["a", "b", "c"]);
    net.raw("b").step({ type: MessageType.MsgVote, from: "a", to: "b", term: 1, index: 0, logTerm: 0 });
    net.process("b");
    net.restart("b");
    expect(net.raw("b").status()).toMatchObject({ term: 1, vote: "a" });
    net.queue = [];
    net.raw("b").step({ type: MessageType.MsgVote, from: "c", to: "b", term: 1, index: 0, logTerm: 0 });
    net.process("b");
    expect(net.queue[0]).toMatchObject({ type: MessageType.MsgVoteResp, reject: true });
  });

  it("a restart with `applied` re-delivers only the committed entries after it", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    for (let i = 0; i < 3; i++) net.propose("a", `m${i}`);
    net.stabilize();
    net.get("b").applied.length = 0;
    net.restart("b", { applied: 2 }); // pretend the machine only had entries up to 2
    const rd = net.raw("b").ready();
    expect(rd.committedEntries.map(text)).toEqual(["m1", "m2"]);
  });

  it("commit-only changes need no fsync", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.propose("a", "x");
    net.process("a");
    net.deliver();
    net.process("b");
    net.process("c");
    net.deliver();
    net.process("a"); // commit advanced, broadcast to followers
    net.deliver();
    const rd = net.raw("b").ready();
    expect(rd.hardState?.commit).toBe(2);
    expect(rd.entries).toEqual([]);
    expect(rd.mustSync).toBe(false);
    net.raw("b").advance(rd);
  });

  it("one Ready at a time: hasReady is false until advance, a second ready() throws", () => {
    const net = new Network(["a"]);
    const a = net.raw("a");
    a.campaign();
    const rd = a.ready();
    expect(rd.softState).toEqual({ lead: "a", role: Role.Leader });
    a.propose(new Uint8Array([1]));
    expect(a.hasReady()).toBe(false);
    expect(() => a.ready()).toThrow(RaftInvariantError);
    net.get("a").storage.append(rd.entries);
    a.advance(rd);
    expect(a.hasReady()).toBe(true);
    expect(a.ready().entries.map((e) => e.index)).toEqual([2]);
  });

  it("heartbeats can be taken while a Ready is outstanding; everything else waits for it", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    const a = net.raw("a");
    a.propose(new Uint8Array([1]));
    const rd = a.ready(); // the write of entry 2 is "in flight"
    a.propose(new Uint8Array([2]));
    a.tick(); // heartbeatTick 1: a heartbeat round
    const beats = a.takeHeartbeats();
    expect(beats.map((m) => [m.type, m.to]).sort()).toEqual([
      [MessageType.MsgHeartbeat, "b"],
      [MessageType.MsgHeartbeat, "c"],
    ]);
    // At most what each follower acknowledged: they have not acked entry 2.
    for (const m of beats) expect(m.commit).toBeLessThanOrEqual(1);
    expect(a.takeHeartbeats()).toEqual([]);
    net.get("a").storage.append(rd.entries);
    a.advance(rd);
    // The second proposal's append still comes with the next Ready.
    const next = a.ready();
    expect(next.entries.map((e) => e.index)).toEqual([3]);
    expect(next.messages.some((m) => m.type === MessageType.MsgApp)).toBe(true);
    expect(next.messages.some((m) => m.type === MessageType.MsgHeartbeat)).toBe(false);
  });

  it("rejects an invalid configuration", () => {
    expect(() => new Network(["a"], { electionTick: 1, heartbeatTick: 1 })).toThrow(/electionTick/);
    expect(() => new Network(["a"], { maxInflightMsgs: 0 })).toThrow(/maxInflightMsgs/);
  });
});

describe("host reports", () => {
  it("an unreachable follower goes back to probing", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    const a = net.raw("a");
    expect(a.status().progress?.get("b")?.state).toBe("replicate");
    a.reportUnreachable("b");
    expect(a.status().progress?.get("b")?.state).toBe("probe");
    net.propose("a", "x");
    net.stabilize();
    expect(a.status().progress?.get("b")?.state).toBe("replicate");
  });

  it("a leader-lost report about another node than the leader is ignored", () => {
    const net = new Network(["a", "b", "c"], { checkQuorum: true, preVote: true });
    net.elect("a");
    net.raw("b").step({ type: MessageType.MsgLeaderLost, from: "c", to: "b", term: 0 });
    expect(net.raw("b").status().lead).toBe("a");
    net.raw("b").step({ type: MessageType.MsgLeaderLost, from: "a", to: "b", term: 0 });
    expect(net.raw("b").status().lead).toBe("");
  });

  it("a node with an unapplied configuration change does not campaign", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.raw("a").proposeConfChange({ type: 2, node: "l" });
    net.process("a");
    net.deliver();
    net.hold("b"); // b will learn the commit but not apply it
    net.stabilize();
    net.release("b");
    net.isolate("b");
    const b = net.raw("b");
    // Step the commit in without processing the Ready: the entry is committed, not applied.
    b.step({ type: MessageType.MsgHeartbeat, from: "a", to: "b", term: 1, commit: 2 });
    b.campaign();
    expect(b.status().role).toBe(Role.Follower);
  });
});
