/**
 * Membership changes (Raft §6, Ongaro's thesis §4.1-§4.2): one voter at a time through
 * ConfChange entries, learners ("non-voting members", thesis §4.2.1) and their promotion,
 * and a leader that removes itself.
 */
import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeConfChange, encodeConfChange } from "../confchange/codec.js";
import { ProposalDroppedError } from "../errors.js";
import { ConfChangeType, EntryType, MessageType, Role } from "../types.js";
import { Network, text } from "./network.js";

const EMPTY = { voters: [], learners: [] };

function addVoter(net: Network, leader: string, node: string): void {
  net.raw(leader).proposeConfChange({ type: ConfChangeType.AddVoter, node });
  net.stabilize();
}

describe("thesis §4.1 single-server changes", () => {
  it("a new voter catches up and then counts in the majority", () => {
    // Thesis §4.1: "Raft restricts the types of changes that are allowed: only one server can
    // be added or removed from the cluster at a time."
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.propose("a", "x");
    net.stabilize();
    net.add("d", EMPTY);
    addVoter(net, "a", "d");
    for (const id of ["a", "b", "c", "d"]) {
      expect(net.raw(id).status().conf).toEqual({ voters: ["a", "b", "c", "d"], learners: [] });
    }
    expect(net.get("d").applied.map(text)).toEqual(["x"]);
    // Four voters: a majority is three. With two of them cut off nothing commits.
    net.isolate("c");
    net.isolate("d");
    net.propose("a", "y");
    net.stabilize();
    expect(net.get("a").applied.map(text)).toEqual(["x"]);
    net.recover();
    net.isolate("c");
    net.tick(1);
    expect(net.get("a").applied.map(text)).toEqual(["x", "y"]);
  });

  it("only one configuration change may be pending at a time", () => {
    // Thesis §4.1: "a leader [must not] begin another membership change until the previous
    // change's entry has committed" (etcd: until it is applied).
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.add("d", EMPTY);
    net.add("e", EMPTY);
    const a = net.raw("a");
    a.proposeConfChange({ type: ConfChangeType.AddVoter, node: "d" });
    expect(() => a.proposeConfChange({ type: ConfChangeType.AddVoter, node: "e" })).toThrow(
      ProposalDroppedError,
    );
    net.stabilize();
    expect(() => a.proposeConfChange({ type: ConfChangeType.AddVoter, node: "e" })).not.toThrow();
    net.stabilize();
    expect(a.status().conf.voters).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("the next change may be proposed once the host applied the previous one, before advance()", () => {
    // A host may apply a committed change while the write of the Ready that handed it out is
    // still running (raft/host applies a leader's earlier commits then). Once applyConfChange
    // returned, the change is in effect and no longer pending.
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.add("d", EMPTY);
    net.add("e", EMPTY);
    const a = net.raw("a");
    a.proposeConfChange({ type: ConfChangeType.AddVoter, node: "d" });
    net.process("a");
    net.deliver();
    net.process("b");
    net.process("c");
    net.deliver();
    const rd = a.ready();
    const cc = rd.committedEntries.find((e) => e.type === EntryType.ConfChange);
    expect(cc).toBeDefined();
    expect(rd.entries).toEqual([]);
    a.applyConfChange(decodeConfChange(cc!.data), cc!.index);
    expect(a.status().conf.voters).toEqual(["a", "b", "c", "d"]);
    expect(() => a.proposeConfChange({ type: ConfChangeType.AddVoter, node: "e" })).not.toThrow();
    if (rd.hardState) net.get("a").storage.setHardState(rd.hardState);
    net.queue.push(...rd.messages);
    a.advance(rd);
    net.stabilize();
    expect(a.status().conf.voters).toEqual(["a", "b", "c", "d", "e"]);
  });

  it("a new leader accepts no change until the entries of earlier terms are applied", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    // "x" reaches b and c, commits on a, but a dies before telling them.
    net.propose("a", "x");
    net.process("a");
    net.deliver();
    net.process("b");
    net.process("c");
    net.deliver();
    net.isolate("a");
    net.queue = [];
    const b = net.raw("b");
    b.campaign();
    net.process("b");
    net.deliver();
    net.process("c");
    net.deliver();
    expect(b.status().role).toBe(Role.Leader);
    // Entry 2 might be a configuration change b does not know applied yet.
    expect(b.status()).toMatchObject({ applied: 1 });
    expect(b.status().role).toBe(Role.Leader);
    expect(() => b.proposeConfChange({ type: ConfChangeType.RemoveNode, node: "c" })).toThrow(
      ProposalDroppedError,
    );
    net.stabilize(); // its no-op commits, entry 2 with it, and gets applied
    expect(() => b.proposeConfChange({ type: ConfChangeType.RemoveNode, node: "c" })).not.toThrow();
  });

  it("a removed voter no longer counts and its messages are ignored", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.raw("a").proposeConfChange({ type: ConfChangeType.RemoveNode, node: "c" });
    net.stabilize();
    expect(net.raw("a").status().conf.voters).toEqual(["a", "b"]);
    expect(net.raw("a").status().progress?.has("c")).toBe(false);
    // Two voters: a and b must both have an entry.
    net.isolate("c");
    net.propose("a", "x");
    net.stabilize();
    expect(net.get("b").applied.map(text)).toEqual(["x"]);
    // A stale acknowledgement from the removed node changes nothing.
    net.raw("a").step({ type: MessageType.MsgAppResp, from: "c", to: "a", term: 1, index: 99 });
    expect(net.raw("a").status().commit).toBe(3);
  });

  it("removing the last voter is refused", () => {
    const net = new Network(["a"]);
    net.elect("a");
    expect(() => net.raw("a").proposeConfChange({ type: ConfChangeType.RemoveNode, node: "a" })).toThrow(
      ProposalDroppedError,
    );
  });

  it("a leader that removes itself steps down once the removal is committed", () => {
    // Thesis §4.2.2: "the leader steps down (returns to follower state) once the Cnew entry
    // is committed."
    const net = new Network(["a", "b", "c"], { checkQuorum: true, preVote: true });
    net.elect("a");
    net.raw("a").proposeConfChange({ type: ConfChangeType.RemoveNode, node: "a" });
    net.stabilize();
    expect(net.raw("a").status().role).toBe(Role.Follower);
    expect(net.raw("b").status().conf.voters).toEqual(["b", "c"]);
    // It handed over to an up-to-date voter: a new leader without waiting for a timeout.
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    expect(["b", "c"]).toContain(leaders[0]);
    net.propose(leaders[0]!, "after");
    net.stabilize();
    expect(net.get("b").applied.map(text)).toEqual(["after"]);
    // The removed node never campaigns: it is not in the configuration.
    net.isolate("a");
    net.tick(5 * 10, ["a"]);
    expect(net.raw("a").status().role).toBe(Role.Follower);
  });
});

describe("thesis §4.2.1 learners (non-voting members)", () => {
  it("a learner receives the log but neither votes in nor counts toward a majority", () => {
    // Thesis §4.2.1: "the new servers join the cluster as non-voting members (the leader
    // replicates log entries to them, but they are not considered for majorities)."
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.add("l", EMPTY);
    net.raw("a").proposeConfChange({ type: ConfChangeType.AddLearner, node: "l" });
    net.stabilize();
    net.propose("a", "x");
    net.stabilize();
    expect(net.get("l").applied.map(text)).toEqual(["x"]);
    expect(net.raw("l").status().conf).toEqual({ voters: ["a", "b", "c"], learners: ["l"] });
    // a + learner are not a majority of {a, b, c}.
    net.isolate("b");
    net.isolate("c");
    net.propose("a", "y");
    net.stabilize();
    expect(net.raw("a").status().commit).toBe(net.raw("l").status().commit);
    expect(net.get("a").applied.map(text)).toEqual(["x"]);
    // A learner never campaigns, however long it waits.
    net.recover();
    net.isolate("l");
    net.tick(10 * 10, ["l"]);
    expect(net.raw("l").status()).toMatchObject({ role: Role.Follower, term: 1 });
  });

  it("promoting a caught-up learner makes it a voter that keeps its progress", () => {
    const net = new Network(["a", "b", "c"], {}, ["l"]);
    net.elect("a");
    for (let i = 0; i < 3; i++) net.propose("a", `x${i}`);
    net.stabilize();
    const before = net.raw("a").status().progress?.get("l")?.match;
    expect(before).toBe(4);
    net.raw("a").proposeConfChange({ type: ConfChangeType.AddVoter, node: "l" });
    net.stabilize();
    expect(net.raw("l").status().conf).toEqual({ voters: ["a", "b", "c", "l"], learners: [] });
    // Now a voter: it can lead.
    net.isolate("a");
    net.elect("l");
    expect(net.raw("l").status().role).toBe(Role.Leader);
  });

  it("a learner's vote is not counted by a candidate", () => {
    const net = new Network(["a", "b", "c"], {}, ["l"]);
    net.isolate("b");
    net.isolate("c");
    net.elect("a"); // only the learner answers
    expect(net.raw("a").status().role).toBe(Role.Candidate);
  });
});

describe("ConfChange entry encoding", () => {
  it("is MessagePack, readable by msgpackr both ways", () => {
    const cc = { type: ConfChangeType.AddLearner, node: "nœud-1" };
    expect(unpack(encodeConfChange(cc))).toEqual(cc);
    expect(decodeConfChange(pack(cc))).toEqual(cc);
    const long = { type: ConfChangeType.RemoveNode, node: "n".repeat(300) };
    expect(decodeConfChange(pack(long))).toEqual(long);
    expect(unpack(encodeConfChange(long))).toEqual(long);
    const many = Array.from({ length: 20 }, (_, i) => `node-${i}`);
    const withConf = { type: ConfChangeType.AddVoter, node: "x", conf: { voters: many, learners: ["l"] } };
    expect(unpack(encodeConfChange(withConf))).toEqual(withConf);
    expect(decodeConfChange(pack(withConf))).toEqual(withConf);
  });

  it("conf change entries are typed so the host knows to apply them", () => {
    const net = new Network(["a", "b"]);
    net.elect("a");
    const at = net.raw("a").proposeConfChange({ type: ConfChangeType.AddLearner, node: "z" });
    const rd = net.raw("a").ready();
    expect(rd.entries.find((e) => e.index === at.index)?.type).toBe(EntryType.ConfChange);
  });
});
