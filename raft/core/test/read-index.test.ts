/**
 * Linearizable reads without log writes (Ongaro's thesis §6.4, ReadIndex).
 */
import { describe, expect, it } from "vitest";
import { MessageType } from "../types.js";
import { bytes, Network } from "./network.js";

const ctx = (s: string) => bytes(s);

describe("thesis §6.4 ReadIndex", () => {
  it("the leader answers with its commit index after a heartbeat round to a majority", () => {
    // Thesis §6.4: "1. If the leader has not yet marked an entry from its current term
    // committed, it waits until it has done so. 2. The leader saves its current commit index
    // in a local variable readIndex. 3. The leader needs to make sure it hasn't been
    // superseded by a newer leader of which it is unaware. It issues a new round of
    // heartbeats and waits for their acknowledgments from a majority of the cluster."
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.propose("a", "x");
    net.stabilize();
    const a = net.get("a");
    a.sent.length = 0;
    a.node.readIndex(ctx("r1"));
    net.process("a");
    expect(a.readStates).toEqual([]); // not before the heartbeat round
    const hbs = net.queue.filter((m) => m.type === MessageType.MsgHeartbeat);
    expect(hbs).toHaveLength(2);
    // The round carries a context the leader generated for this read.
    const round = String.fromCharCode(...(hbs[0]?.context ?? []));
    expect(round).not.toBe("");
    expect(hbs.every((m) => String.fromCharCode(...(m.context ?? [])) === round)).toBe(true);
    net.stabilize();
    expect(a.readStates).toEqual([{ index: 2, context: ctx("r1") }]);
    // No log write was needed.
    expect(a.node.status().commit).toBe(2);
  });

  it("a leader cut off from the majority never answers (it may have been superseded)", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.isolate("a");
    net.raw("a").readIndex(ctx("r"));
    net.tick(3, ["a"]);
    expect(net.get("a").readStates).toEqual([]);
  });

  it("one heartbeat round answers every read that arrived before it", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    const a = net.get("a");
    a.node.readIndex(ctx("r1"));
    a.node.readIndex(ctx("r2"));
    net.stabilize();
    expect(a.readStates.map((r) => String.fromCharCode(...r.context))).toEqual(["r1", "r2"]);
  });

  it("a follower's read is forwarded to the leader and answered to the follower", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.propose("a", "x");
    net.stabilize();
    const c = net.get("c");
    c.node.readIndex(ctx("f"));
    net.stabilize();
    expect(c.readStates).toEqual([{ index: 2, context: ctx("f") }]);
    expect(c.sent.some((m) => m.type === MessageType.MsgReadIndex && m.to === "a")).toBe(true);
  });

  it("a new leader defers reads until an entry of its term is committed", () => {
    // Thesis §6.4 step 1: the new leader's commit index may be stale until its no-op commits.
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.isolate("a");
    const b = net.get("b");
    b.node.campaign();
    net.process("b");
    net.deliver();
    net.process("c");
    net.deliver(); // b is leader; its no-op is not committed yet
    b.node.readIndex(ctx("early"));
    expect(b.readStates).toEqual([]);
    net.stabilize();
    expect(b.readStates).toEqual([{ index: 2, context: ctx("early") }]);
  });

  it("a single-voter leader answers at once", () => {
    const net = new Network(["a"]);
    net.elect("a");
    net.get("a").node.readIndex(ctx("s"));
    net.stabilize();
    expect(net.get("a").readStates).toEqual([{ index: 1, context: ctx("s") }]);
  });

  it("equal contexts from different nodes are answered separately", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.get("b").node.readIndex(ctx("same"));
    net.get("c").node.readIndex(ctx("same"));
    net.get("a").node.readIndex(ctx("same"));
    net.stabilize();
    for (const id of ["a", "b", "c"])
      expect(net.get(id).readStates).toEqual([{ index: 1, context: ctx("same") }]);
  });
});
