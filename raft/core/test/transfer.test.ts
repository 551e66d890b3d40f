/**
 * Leadership transfer (Ongaro's thesis §3.10): the leader brings the target up to date,
 * then tells it to campaign at once with MsgTimeoutNow.
 */
import { describe, expect, it } from "vitest";
import { NotLeaderError, ProposalDroppedError } from "../errors.js";
import { MessageType, Role } from "../types.js";
import { Network, text } from "./network.js";

const ELECTION = 10;

describe("thesis §3.10 leadership transfer", () => {
  it("an up-to-date target receives TimeoutNow and wins, even inside leader leases", () => {
    // Thesis §3.10: "the prior leader sends a TimeoutNow request to the target server. This
    // request has the same effect as the target server's election timer firing: the target
    // server starts a new election (incrementing its term and becoming a candidate)."
    const net = new Network(["a", "b", "c"], { checkQuorum: true, preVote: true });
    net.elect("a");
    net.raw("a").transferLeader("b");
    net.stabilize();
    expect(net.get("a").sent.some((m) => m.type === MessageType.MsgTimeoutNow && m.to === "b")).toBe(true);
    expect(net.leaders()).toEqual(["b"]);
    expect(net.raw("b").status().term).toBe(2);
    expect(net.raw("a").status()).toMatchObject({ role: Role.Follower, lead: "b" });
  });

  it("a lagging target is caught up first", () => {
    // Thesis §3.10: "The prior leader ... transfers its log entries to the target server".
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.isolate("c");
    for (let i = 0; i < 3; i++) net.propose("a", `m${i}`);
    net.stabilize();
    net.recover();
    net.raw("a").transferLeader("c");
    net.stabilize();
    expect(net.leaders()).toEqual(["c"]);
    expect(net.get("c").applied.map(text)).toEqual(["m0", "m1", "m2"]);
  });

  it("proposals are refused while a transfer is pending", () => {
    // Thesis §3.10: "the prior leader stops accepting new client requests" during a transfer.
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.isolate("c");
    net.propose("a", "x");
    net.stabilize();
    net.raw("a").transferLeader("c"); // c cannot be reached: the transfer stays pending
    net.stabilize();
    expect(net.raw("a").status().leadTransferee).toBe("c");
    expect(() => net.propose("a", "y")).toThrow(ProposalDroppedError);
  });

  it("a transfer that does not finish within an election timeout is aborted", () => {
    // Thesis §3.10: "If the transfer does not complete after about an election timeout, the
    // prior leader aborts the transfer and resumes accepting client requests."
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.isolate("c");
    net.raw("a").transferLeader("c");
    net.tick(ELECTION, ["a", "b"]);
    expect(net.raw("a").status()).toMatchObject({ role: Role.Leader, leadTransferee: "" });
    expect(() => net.propose("a", "y")).not.toThrow();
  });

  it("a follower forwards the request to the leader", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.raw("c").transferLeader("c");
    net.stabilize();
    expect(net.leaders()).toEqual(["c"]);
  });

  it("a follower's proposal fails with the leader as a hint", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    try {
      net.propose("b", "x");
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(NotLeaderError);
      expect((e as NotLeaderError).leaderHint).toBe("a");
    }
  });

  it("a learner cannot be made leader", () => {
    const net = new Network(["a", "b", "c"], {}, ["l"]);
    net.elect("a");
    net.raw("a").transferLeader("l");
    net.stabilize();
    expect(net.leaders()).toEqual(["a"]);
    expect(net.raw("a").status().leadTransferee).toBe("");
  });
});
