/**
 * Leader election: Raft §5.2, with the thesis' pre-vote (§9.6), check-quorum (§6.2) and
 * leader lease (§4.2.3), plus Warren's leader-lost hint for fast failover.
 */
import { describe, expect, it } from "vitest";
import { survivorRank } from "../raft.js";
import { MessageType, Role } from "../types.js";
import { Network } from "./network.js";

const ELECTION = 10;

describe("Raft §5.1 terms", () => {
  it("servers start as followers", () => {
    // Raft §5.2: "When servers start up, they begin as followers."
    const net = new Network(["a", "b", "c"]);
    for (const id of ["a", "b", "c"])
      expect(net.raw(id).status()).toMatchObject({ role: Role.Follower, term: 0 });
  });

  it("a server seeing a larger term adopts it, and a leader or candidate reverts to follower", () => {
    // Raft §5.1: "If one server's current term is smaller than the other's, then it updates
    // its current term to the larger value. If a candidate or leader discovers that its term
    // is out of date, it immediately reverts to follower state."
    for (const type of [MessageType.MsgApp, MessageType.MsgHeartbeat, MessageType.MsgVote]) {
      const net = new Network(["a", "b", "c"]);
      net.elect("a");
      const a = net.raw("a");
      a.step({ type, from: "b", to: "a", term: 5, index: 0, logTerm: 0, commit: 0 });
      expect(a.status()).toMatchObject({ role: Role.Follower, term: 5 });
      expect(a.status().lead).toBe(type === MessageType.MsgVote ? "" : "b");
    }
  });

  it("a request with a stale term is rejected", () => {
    // Raft §5.1: "If a server receives a request with a stale term number, it rejects the request."
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.elect("b"); // term 2
    const b = net.raw("b");
    b.step({
      type: MessageType.MsgApp,
      from: "a",
      to: "b",
      term: 1,
      index: 1,
      logTerm: 1,
      entries: [],
      commit: 1,
    });
    b.step({ type: MessageType.MsgVote, from: "c", to: "b", term: 1, index: 9, logTerm: 9 });
    expect(b.status()).toMatchObject({ role: Role.Leader, term: 2 });
    net.process("b");
    // Nothing is appended or granted (etcd drops such messages silently by default)...
    expect(
      net.queue.filter((m) => m.type === MessageType.MsgVoteResp || m.type === MessageType.MsgAppResp),
    ).toEqual([]);
    // ...and with check-quorum a stale leader is told the newer term, so it steps down.
    const cq = new Network(["a", "b", "c"], { checkQuorum: true });
    cq.elect("a");
    cq.isolate("a");
    cq.elect("b");
    cq.recover();
    cq.tick(1, ["a"]);
    expect(cq.raw("a").status()).toMatchObject({ role: Role.Follower, term: 2 });
  });
});

describe("Raft §5.2 leader election", () => {
  it("a follower that hears nothing becomes a candidate and requests votes", () => {
    // Raft §5.2: "If a follower receives no communication over a period of time called the
    // election timeout, then it assumes there is no viable leader and begins an election."
    // Raft §5.2: "To begin an election, a follower increments its current term and
    // transitions to candidate state. It then votes for itself and issues RequestVote RPCs".
    const net = new Network(["a", "b", "c"]);
    const a = net.raw("a");
    for (let i = 0; i < 2 * ELECTION && a.status().role === Role.Follower; i++) a.tick();
    const st = a.status();
    expect(st.role).toBe(Role.Candidate);
    expect(st.term).toBe(1);
    expect(st.vote).toBe("a");
    net.process("a");
    const votes = net.queue.filter((m) => m.type === MessageType.MsgVote);
    expect(votes.map((m) => m.to).sort()).toEqual(["b", "c"]);
    expect(votes.every((m) => m.term === 1 && m.index === 0 && m.logTerm === 0)).toBe(true);
  });

  it("the election timeout is randomized in [electionTick, 2*electionTick)", () => {
    // Raft §5.2: "Raft uses randomized election timeouts to ensure that split votes are rare".
    const seen = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const net = new Network(["a", "b", "c"]);
      net.add("x", { voters: ["x", "y", "z"], learners: [] }, seed);
      const x = net.raw("x");
      let ticks = 0;
      while (x.status().role === Role.Follower) {
        x.tick();
        ticks++;
      }
      expect(ticks).toBeGreaterThanOrEqual(ELECTION);
      expect(ticks).toBeLessThan(2 * ELECTION);
      seen.add(ticks);
    }
    expect(seen.size).toBeGreaterThan(3);
  });

  it("a candidate with votes from a majority becomes leader and asserts itself", () => {
    // Raft §5.2: "A candidate wins an election if it receives votes from a majority of the
    // servers in the full cluster for the same term." ... "It then sends heartbeat messages
    // to all of the other servers to establish its authority and prevent new elections."
    const net = new Network(["a", "b", "c", "d", "e"]);
    net.isolate("d");
    net.isolate("e");
    net.elect("a");
    expect(net.leaders()).toEqual(["a"]);
    expect(net.raw("b").status().lead).toBe("a");
    expect(net.raw("c").status().lead).toBe("a");
  });

  it("a candidate without a majority does not become leader", () => {
    const net = new Network(["a", "b", "c", "d", "e"]);
    net.isolate("c");
    net.isolate("d");
    net.isolate("e");
    net.elect("a");
    expect(net.raw("a").status().role).toBe(Role.Candidate);
  });

  it("each server votes for at most one candidate per term, first come first served", () => {
    // Raft §5.2: "Each server will vote for at most one candidate in a given term, on a
    // first-come-first-served basis".
    const net = new Network(["a", "b", "c"]);
    const c = net.raw("c");
    c.step({ type: MessageType.MsgVote, from: "a", to: "c", term: 1, index: 0, logTerm: 0 });
    c.step({ type: MessageType.MsgVote, from: "b", to: "c", term: 1, index: 0, logTerm: 0 });
    // A repeated request from the same candidate is granted again (the answer may have been lost).
    c.step({ type: MessageType.MsgVote, from: "a", to: "c", term: 1, index: 0, logTerm: 0 });
    net.process("c");
    const resps = net.queue.map((m) => [m.to, m.reject]);
    expect(resps).toEqual([
      ["a", false],
      ["b", true],
      ["a", false],
    ]);
    expect(c.status().vote).toBe("a");
  });

  it("a candidate that hears from a leader of its term returns to follower", () => {
    // Raft §5.2: "If the AppendEntries RPC is from another server claiming to be leader and
    // its term is at least as large as the candidate's current term, then the candidate
    // recognizes the leader as legitimate and returns to follower state."
    const net = new Network(["a", "b", "c"]);
    const b = net.raw("b");
    b.campaign();
    expect(b.status()).toMatchObject({ role: Role.Candidate, term: 1 });
    b.step({
      type: MessageType.MsgApp,
      from: "a",
      to: "b",
      term: 1,
      index: 0,
      logTerm: 0,
      entries: [],
      commit: 0,
    });
    expect(b.status()).toMatchObject({ role: Role.Follower, term: 1, lead: "a" });
  });

  it("a candidate rejects an AppendEntries of an older term and stays candidate", () => {
    // Raft §5.2: "If the term in the RPC is smaller than the candidate's current term, then
    // the candidate rejects the RPC and continues in candidate state."
    const net = new Network(["a", "b", "c"]);
    const b = net.raw("b");
    b.campaign();
    b.campaign(); // term 2
    b.step({
      type: MessageType.MsgApp,
      from: "a",
      to: "b",
      term: 1,
      index: 0,
      logTerm: 0,
      entries: [],
      commit: 0,
    });
    expect(b.status()).toMatchObject({ role: Role.Candidate, term: 2 });
  });

  it("split votes resolve: one leader emerges after randomized timeouts", () => {
    // Raft §5.2: "each candidate will time out and start a new election by incrementing its
    // term and initiating another round of RequestVote RPCs".
    const net = new Network(["a", "b", "c", "d"]);
    // a and b campaign at once; c hears a first, d hears b first: 2 votes each out of 4.
    net.raw("a").campaign();
    net.raw("b").campaign();
    net.process("a");
    net.process("b");
    net.queue.sort((x, y) => {
      const rank = (m: typeof x) =>
        m.to === "c" ? (m.from === "a" ? 0 : 1) : m.to === "d" ? (m.from === "b" ? 0 : 1) : 2;
      return rank(x) - rank(y);
    });
    net.stabilize();
    expect(net.leaders()).toEqual([]);
    for (let i = 0; i < 5 * ELECTION && net.leaders().length === 0; i++) net.tick();
    expect(net.leaders()).toHaveLength(1);
    expect(net.raw(net.leaders()[0]!).status().term).toBeGreaterThanOrEqual(2);
  });

  it("the leader sends heartbeats every heartbeatTick", () => {
    // Raft §5.2: "Leaders send periodic heartbeats (AppendEntries RPCs that carry no log
    // entries) to all followers in order to maintain their authority."
    const net = new Network(["a", "b", "c"], { heartbeatTick: 2 });
    net.elect("a");
    const a = net.get("a");
    a.sent.length = 0;
    net.tick(4, ["a"]);
    expect(a.sent.filter((m) => m.type === MessageType.MsgHeartbeat)).toHaveLength(4); // 2 rounds x 2
    // Followers that hear heartbeats never time out.
    net.tick(5 * ELECTION);
    expect(net.leaders()).toEqual(["a"]);
    expect(net.raw("a").status().term).toBe(1);
  });

  it("a stale leader steps down when it hears of a higher term", () => {
    // Raft §5.1: "If a candidate or leader discovers that its term is out of date, it
    // immediately reverts to follower state."
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.isolate("a");
    net.elect("b");
    net.recover();
    net.tick(1);
    expect(net.raw("a").status()).toMatchObject({ role: Role.Follower, lead: "b", term: 2 });
  });
});

describe("thesis §9.6 pre-vote", () => {
  it("a partitioned node does not increase its term, so rejoining does not disrupt", () => {
    // Thesis §9.6: "a candidate would first ask other servers whether its log was up-to-date
    // enough to get their vote. Only if the candidate believed it could get votes from a
    // majority of the cluster would it increment its term and start a normal election."
    const net = new Network(["a", "b", "c"], { preVote: true });
    net.elect("a");
    net.isolate("c");
    net.tick(10 * ELECTION);
    expect(net.raw("c").status().term).toBe(1);
    expect(net.raw("c").status().role).toBe(Role.PreCandidate);
    net.recover();
    net.tick(2);
    expect(net.leaders()).toEqual(["a"]);
    expect(net.raw("a").status().term).toBe(1);
    expect(net.raw("c").status()).toMatchObject({ role: Role.Follower, lead: "a" });
  });

  it("without pre-vote the same partition makes the cluster change leader (contrast)", () => {
    const net = new Network(["a", "b", "c"], { preVote: false });
    net.elect("a");
    net.isolate("c");
    net.tick(10 * ELECTION);
    expect(net.raw("c").status().term).toBeGreaterThan(3);
    net.recover();
    net.tick(4 * ELECTION);
    expect(net.raw(net.leaders()[0]!).status().term).toBeGreaterThan(3);
  });

  it("a pre-vote is granted without changing the voter's term or vote", () => {
    const net = new Network(["a", "b", "c"], { preVote: true });
    const b = net.raw("b");
    b.step({ type: MessageType.MsgPreVote, from: "a", to: "b", term: 1, index: 0, logTerm: 0 });
    net.process("b");
    expect(net.queue[0]).toMatchObject({ type: MessageType.MsgPreVoteResp, reject: false, term: 1 });
    expect(b.status()).toMatchObject({ term: 0, vote: "" });
  });

  it("a pre-candidate with a stale log is refused and never bumps terms", () => {
    // Raft §5.4.1 applies to pre-votes too: the log must be at least as up-to-date.
    const net = new Network(["a", "b", "c"], { preVote: true });
    net.elect("a");
    net.isolate("c");
    for (let i = 0; i < 5; i++) net.propose("a", `x${i}`);
    net.stabilize();
    net.recover();
    net.isolate("a"); // the leader dies; c (behind) and b (up to date) remain
    for (let i = 0; i < 5; i++) net.raw("c").campaign();
    net.stabilize();
    expect(net.raw("c").status()).toMatchObject({ role: Role.PreCandidate, term: 1 });
    expect(net.raw("b").status().term).toBe(1);
    // b, whose log is complete, can win.
    net.elect("b");
    expect(net.leaders()).toContain("b");
  });
});

describe("thesis §6.2 check-quorum and §4.2.3 leader lease", () => {
  it("a leader that hears from no majority within an election timeout steps down", () => {
    // Thesis §6.2: "a leader steps down if an election timeout elapses without a successful
    // round of heartbeats to a majority of its cluster".
    const net = new Network(["a", "b", "c"], { checkQuorum: true });
    net.elect("a");
    net.tick(ELECTION);
    expect(net.leaders()).toEqual(["a"]); // followers answer: it stays
    net.isolate("a");
    net.tick(2 * ELECTION, ["a"]);
    expect(net.raw("a").status()).toMatchObject({ role: Role.Follower, lead: "" });
  });

  it("a follower with a live leader ignores a vote request of a higher term", () => {
    // Thesis §4.2.3: "if a server receives a RequestVote request within the minimum election
    // timeout of hearing from a current leader, it does not update its term or grant its vote."
    const net = new Network(["a", "b", "c"], { checkQuorum: true });
    net.elect("a");
    const b = net.raw("b");
    b.step({ type: MessageType.MsgVote, from: "c", to: "b", term: 5, index: 100, logTerm: 5 });
    expect(b.status()).toMatchObject({ term: 1, vote: "a", lead: "a" });
    net.process("b");
    expect(net.queue.filter((m) => m.type === MessageType.MsgVoteResp)).toEqual([]);
    // Once the lease expired (no word from the leader for an election timeout) it votes.
    for (let i = 0; i < ELECTION; i++) b.tick();
    b.step({ type: MessageType.MsgVote, from: "c", to: "b", term: 5, index: 100, logTerm: 5 });
    expect(b.status()).toMatchObject({ term: 5, vote: "c" });
  });

  it("with pre-vote and check-quorum a rejoining node leaves leader and term untouched", () => {
    const net = new Network(["a", "b", "c"], { checkQuorum: true, preVote: true });
    net.elect("a");
    net.isolate("c");
    net.tick(10 * ELECTION, ["a", "b"]);
    net.tick(10 * ELECTION, ["c"]);
    net.recover();
    net.tick(3 * ELECTION);
    expect(net.leaders()).toEqual(["a"]);
    for (const id of ["a", "b", "c"]) expect(net.raw(id).status()).toMatchObject({ term: 1, lead: "a" });
  });
});

describe("leader lost: the host's fast-failover hint", () => {
  it("followers told the leader is gone elect a new one within a few ticks", () => {
    const net = new Network(["a", "b", "c"], { checkQuorum: true, preVote: true });
    net.elect("a");
    net.propose("a", "before");
    net.stabilize();
    net.isolate("a"); // the leader's process died
    net.raw("b").reportLeaderLost();
    net.raw("c").reportLeaderLost();
    let ticks = 0;
    while (!["b", "c"].some((id) => net.raw(id).status().role === Role.Leader)) {
      net.tick(1, ["b", "c"]);
      ticks++;
      expect(ticks).toBeLessThan(2 * ELECTION);
    }
    // Well under one election timeout ([10, 20) ticks), even if the two survivors split a vote.
    expect(ticks).toBeLessThan(ELECTION);
    const leader = ["b", "c"].find((id) => net.raw(id).status().role === Role.Leader)!;
    net.propose(leader, "after");
    net.stabilize();
    expect(net.raw("b").status().commit).toBe(net.raw("c").status().commit);
  });

  /** a leads a, b, c (pre-vote, check-quorum); then a is cut off and b and c get the hint. */
  function leaderLostByBoth(seed: number): Network {
    const conf = { voters: ["a", "b", "c"], learners: [] };
    const opts = { checkQuorum: true, preVote: true };
    const net = new Network([], opts);
    for (const [i, id] of ["a", "b", "c"].entries()) net.add(id, conf, seed * 3 + i, opts);
    net.elect("a");
    net.isolate("a");
    net.raw("b").reportLeaderLost();
    net.raw("c").reportLeaderLost();
    return net;
  }

  /** Ticks only `id` until it campaigns for real (term 2), within two election timeouts. */
  function tickUntilCandidate(net: Network, id: string): void {
    let ticks = 0;
    while (net.raw(id).status().role !== Role.Candidate && ticks++ < 2 * ELECTION) net.tick(1, [id]);
    expect(net.raw(id).status()).toMatchObject({ role: Role.Candidate, term: 2 });
  }

  it("two followers told at the same time do not split the vote (id tie-break in pre-vote)", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const net = leaderLostByBoth(seed);
      let ticks = 0;
      while (net.leaders().filter((id) => id !== "a").length === 0 && ticks < 2 * ELECTION) {
        net.tick(1, ["b", "c"]);
        ticks++;
      }
      const leader = net.leaders().find((id) => id !== "a")!;
      expect({ seed, term: net.raw(leader).status().term }).toEqual({ seed, term: 2 });
      expect(ticks).toBeLessThanOrEqual(4);
    }
  });

  it("the survivors campaign in turn: one after a single tick, and groups spread over the survivors", () => {
    for (let seed = 1; seed <= 10; seed++) {
      const net = leaderLostByBoth(seed);
      net.tick(1, ["b", "c"]);
      // Exactly one of them campaigned.
      const moved = ["b", "c"].filter((id) => net.raw(id).status().role !== Role.Follower);
      expect({ seed, moved: moved.length }).toEqual({ seed, moved: 1 });
    }
    // Every survivor computes the same order; over many groups each comes first about as often.
    const first = new Map<string, number>();
    for (let g = 0; g < 200; g++) {
      const ranks = ["b", "c", "d", "e"].map((id) =>
        survivorRank(["a", "b", "c", "d", "e"], "a", id, `q:/:${g}`),
      );
      expect([...ranks].sort()).toEqual([0, 1, 2, 3]);
      const id = ["b", "c", "d", "e"][ranks.indexOf(0)]!;
      first.set(id, (first.get(id) ?? 0) + 1);
    }
    for (const id of ["b", "c", "d", "e"]) expect(first.get(id) ?? 0).toBeGreaterThan(25);
    // A node that is not a voter (a learner) comes after all of them.
    expect(survivorRank(["a", "b", "c"], "a", "z", "q")).toBe(2);
  });

  it("without the hint the lease keeps the old leader's followers waiting a full timeout", () => {
    const net = new Network(["a", "b", "c"], { checkQuorum: true, preVote: true });
    net.elect("a");
    net.isolate("a");
    net.tick(ELECTION - 1, ["b", "c"]);
    expect(net.leaders()).toEqual(["a"]); // only a, which is cut off, believes it leads
  });

  it("a spurious hint does not disrupt a live leader", () => {
    const net = new Network(["a", "b", "c"], { checkQuorum: true, preVote: true });
    net.elect("a");
    net.raw("b").reportLeaderLost();
    expect(net.raw("b").status().lead).toBe("");
    net.tick(3 * ELECTION);
    expect(net.leaders()).toEqual(["a"]);
    expect(net.raw("b").status()).toMatchObject({ lead: "a", term: 1 });
  });

  it("a candidate waits a full election timeout for its votes, even after the hint", () => {
    // Raft §5.2: a candidate that neither wins nor loses "times out and starts a new election"
    // after an election timeout. The hint only starts the campaign sooner: each vote costs an
    // fsync at the voter, and on a loaded disk a candidate that gave up after the hint's short
    // timeout abandoned term after term before its votes arrived (one-way chaos stall).
    for (let seed = 1; seed <= 10; seed++) {
      const net = leaderLostByBoth(seed);
      // c's disk stalls from the moment b's vote request reaches it: its answer waits.
      net.filter = (m) => {
        if (m.type === MessageType.MsgVote && m.to === "c") net.hold("c");
        return true;
      };
      tickUntilCandidate(net, "b");
      net.tick(ELECTION - 1, ["b"]);
      expect({ seed, ...net.raw("b").status() }).toMatchObject({ seed, role: Role.Candidate, term: 2 });
      net.release("c");
      net.stabilize();
      expect({ seed, ...net.raw("b").status() }).toMatchObject({ seed, role: Role.Leader, term: 2 });
    }
  });

  it("a candidate's election timeout starts when its vote requests leave, after its own fsync", () => {
    // Time spent making its own term and vote durable is not taken from the voters.
    for (let seed = 1; seed <= 10; seed++) {
      const net = leaderLostByBoth(seed);
      // b's own disk stalls once it became a candidate, then c's once the request reaches it.
      net.filter = (m) => {
        if (m.type === MessageType.MsgPreVoteResp && m.to === "b" && !m.reject) net.hold("b");
        if (m.type === MessageType.MsgVote && m.to === "c") net.hold("c");
        return true;
      };
      tickUntilCandidate(net, "b");
      net.tick(ELECTION - 2, ["b"]);
      net.release("b");
      net.stabilize();
      net.tick(ELECTION - 2, ["b"]);
      expect({ seed, ...net.raw("b").status() }).toMatchObject({ seed, role: Role.Candidate, term: 2 });
      net.release("c");
      net.stabilize();
      expect({ seed, ...net.raw("b").status() }).toMatchObject({ seed, role: Role.Leader, term: 2 });
    }
  });

  it("without pre-vote, a stale node given the hint retries at the normal pace (sim finding F1)", () => {
    // Each of its elections bumps the others' terms; retrying every few ticks would keep the
    // up-to-date nodes from ever timing out themselves.
    const net = new Network(["a", "b", "c"], { checkQuorum: true, preVote: false });
    net.elect("a");
    net.isolate("c");
    for (let i = 0; i < 5; i++) net.propose("a", `x${i}`);
    net.stabilize();
    net.recover();
    net.isolate("a"); // a dies; c is behind
    net.raw("c").reportLeaderLost();
    net.tick(6 * ELECTION, ["b", "c"]);
    expect(net.raw("b").status().role).toBe(Role.Leader);
  });
});
