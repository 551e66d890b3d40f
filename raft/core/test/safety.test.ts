/**
 * Safety: Raft §5.4 (election restriction, committing entries from previous terms — the
 * Figure 8 scenario, leader completeness) and Warren's durability rule that a leader counts
 * its own copy only once its disk has it.
 */
import { describe, expect, it } from "vitest";
import { RawNode } from "../raw-node.js";
import { EntryType, type Message, MessageType, Role } from "../types.js";
import { bytes, logTerms, Network, seeded, storageWithLog, text } from "./network.js";

const FIVE = ["s1", "s2", "s3", "s4", "s5"];

/**
 * Figure 8 (a)-(c): s1 (term 3 leader) has replicated the term-1 entry at index 2 to a
 * majority (s1, s3, s4), but nothing of its own term yet.
 */
function figure8(): Network {
  const net = new Network(FIVE, { maxSizePerMsg: 1 });
  net.elect("s1"); // term 1, no-op at index 1 everywhere
  // (a) s1 replicates index 2 only to s2.
  for (const f of ["s3", "s4", "s5"]) net.cut("s1", f);
  net.propose("s1", "aa");
  net.stabilize();
  expect(net.raw("s1").status().commit).toBe(1);
  // (b) s1 crashes; s5 wins term 2 with s3 and s4 and appends its no-op at index 2 locally.
  net.isolate("s1");
  net.filter = (m) => !(m.from === "s5" && m.type === MessageType.MsgApp);
  net.elect("s5");
  expect(net.raw("s5").status()).toMatchObject({ role: Role.Leader, term: 2 });
  // (c) s5 crashes; s1 restarts and wins term 3 (s3, s4 voted in term 2 already: a second round).
  net.recover();
  net.isolate("s5");
  net.restart("s1");
  net.filter = (m) =>
    !(m.from === "s1" && m.type === MessageType.MsgApp && (m.entries ?? []).some((e) => e.term === 3));
  net.elect("s1");
  if (net.raw("s1").status().role !== Role.Leader) net.elect("s1");
  expect(net.raw("s1").status()).toMatchObject({ role: Role.Leader, term: 3 });
  // s1 replicates the term-1 entry at index 2 to s3 and s4 (its own term-3 entry is lost).
  const e2 = { index: 2, term: 1, type: EntryType.Normal, data: bytes("aa") };
  for (const f of ["s3", "s4"]) {
    const app: Message = {
      type: MessageType.MsgApp,
      from: "s1",
      to: f,
      term: 3,
      index: 1,
      logTerm: 1,
      entries: [e2],
      commit: 1,
    };
    net.raw(f).step(app);
  }
  net.stabilize();
  expect(net.raw("s1").status().progress?.get("s3")?.match).toBe(2);
  expect(net.raw("s1").status().progress?.get("s4")?.match).toBe(2);
  return net;
}

describe("Raft §5.4.2 committing entries from previous terms (Figure 8)", () => {
  it("a leader does not commit an entry of an earlier term by counting replicas", () => {
    // Raft §5.4.2: "Raft never commits log entries from previous terms by counting replicas.
    // Only log entries from the leader's current term are committed by counting replicas".
    const net = figure8();
    expect(net.raw("s1").status().commit).toBe(1); // index 2 is on a majority, yet not committed
    for (const id of FIVE) expect(net.get(id).applied).toEqual([]);
  });

  it("(d) that entry can indeed still be overwritten by a later leader", () => {
    // Figure 8 (d): "if S1 crashes, S5 could be elected leader (with votes from S2, S3, and
    // S4) and overwrite the entry with its own entry from term 3" (term 2 here).
    const net = figure8();
    net.recover();
    net.isolate("s1");
    net.restart("s5");
    for (let i = 0; i < 3 && net.raw("s5").status().role !== Role.Leader; i++) net.elect("s5");
    expect(net.raw("s5").status().role).toBe(Role.Leader);
    net.stabilize();
    for (const id of ["s2", "s3", "s4", "s5"]) expect(logTerms(net.get(id)).slice(0, 2)).toEqual([1, 2]);
    for (const id of FIVE) expect(net.get(id).applied.map(text)).not.toContain("aa");
  });

  it("(e) once an entry of the leader's term is on a majority, both commit", () => {
    // Raft §5.4.2: "once an entry from the current term has been committed in this way, then
    // all prior entries are committed indirectly because of the Log Matching Property."
    const net = figure8();
    net.filter = (m) => m.to !== "s5" && m.from !== "s5";
    net.tick(1);
    expect(net.raw("s1").status().commit).toBe(3);
    expect(net.get("s3").applied.map(text)).toEqual(["aa"]);
  });
});

describe("Raft §5.4.1 election restriction", () => {
  it("a voter denies its vote to a candidate whose log is less up-to-date", () => {
    // Raft §5.4.1: "If the logs have last entries with different terms, then the log with the
    // later term is more up-to-date. If the logs end with the same term, then whichever log
    // is longer is more up-to-date." The voter's log: terms [1, 1, 2] (last index 3, term 2).
    const cases: [index: number, logTerm: number, granted: boolean][] = [
      [2, 2, false],
      [3, 2, true],
      [4, 2, true],
      [9, 1, false],
      [1, 3, true],
    ];
    for (const [index, logTerm, granted] of cases) {
      const conf = { voters: ["a", "b", "c"], learners: [] };
      const b = new RawNode(cfg("b"), storageWithLog(conf, [1, 1, 2]));
      b.step({ type: MessageType.MsgVote, from: "a", to: "b", term: 5, index, logTerm });
      const resp = b.ready().messages[0];
      expect({ index, logTerm, granted: resp?.reject !== true }).toEqual({ index, logTerm, granted });
      expect(b.status().vote).toBe(granted ? "a" : "");
    }
  });

  it("a node missing committed entries cannot become leader (leader completeness)", () => {
    // Raft §5.4: "Leader Completeness: if a log entry is committed in a given term, then that
    // entry will be present in the logs of the leaders for all higher-numbered terms."
    const net = new Network(FIVE);
    net.elect("s1");
    net.isolate("s5");
    for (let i = 0; i < 3; i++) net.propose("s1", `c${i}`);
    net.stabilize();
    net.recover();
    net.isolate("s1");
    net.cut("s5", "s1");
    net.drop(MessageType.MsgApp); // s5 never catches up
    net.drop(MessageType.MsgHeartbeat);
    for (let i = 0; i < 5; i++) net.elect("s5");
    expect(net.raw("s5").status().role).not.toBe(Role.Leader);
    net.recover();
    net.isolate("s1");
    net.elect("s2");
    expect(net.raw("s2").status().role).toBe(Role.Leader);
    net.stabilize();
    for (const id of ["s2", "s3", "s4", "s5"])
      expect(net.get(id).applied.map(text)).toEqual(["c0", "c1", "c2"]);
  });
});

describe("durability: the leader counts itself only after persist", () => {
  it("an entry acknowledged by one follower does not commit before the leader's own fsync", () => {
    // Thesis §10.2.1: "the leader can write to its disk in parallel with replicating to the
    // followers" ... its own entry counts toward the majority only once it is durable.
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.isolate("c");
    const a = net.raw("a");
    net.propose("a", "x");
    const rd = a.ready(); // the host starts its fsync and sends MsgApp at once (allowed for a leader)
    for (const m of rd.messages) net.queue.push(m);
    net.deliver();
    net.process("b"); // b persists and acknowledges
    net.deliver();
    expect(a.status().commit).toBe(1); // a majority acknowledged: b, and a's unfinished write does not count
    a.step({ type: MessageType.MsgHeartbeatResp, from: "b", to: "a", term: 1 }); // more input changes nothing
    expect(a.status().commit).toBe(1);
    net.get("a").storage.append(rd.entries); // the fsync completes
    a.advance(rd);
    expect(a.status().commit).toBe(2);
    net.stabilize();
    expect(net.get("a").applied.map(text)).toEqual(["x"]);
  });

  it("two followers' fsyncs form a majority without the leader's", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    const a = net.raw("a");
    net.propose("a", "x");
    const rd = a.ready();
    for (const m of rd.messages) net.queue.push(m);
    net.deliver();
    net.process("b");
    net.process("c");
    net.deliver();
    expect(a.status().commit).toBe(2);
    // ...but the leader applies it only after its own write (the next Ready comes after advance).
    expect(a.hasReady()).toBe(false);
    net.get("a").storage.append(rd.entries);
    a.advance(rd);
    net.stabilize();
    expect(net.get("a").applied.map(text)).toEqual(["x"]);
  });

  it("a single-node group commits only after advance() reports the entry durable", () => {
    const net = new Network(["a"]);
    net.elect("a");
    const a = net.raw("a");
    net.propose("a", "x");
    const rd = a.ready();
    expect(rd.committedEntries).toEqual([]);
    expect(a.status().commit).toBe(1);
    net.get("a").storage.append(rd.entries);
    a.advance(rd);
    expect(a.status().commit).toBe(2);
    expect(a.ready().committedEntries.map(text)).toEqual(["x"]);
  });
});

function cfg(id: string) {
  return {
    id,
    electionTick: 10,
    heartbeatTick: 1,
    preVote: false,
    checkQuorum: false,
    maxSizePerMsg: 1 << 20,
    maxInflightMsgs: 16,
    random: seeded(5),
  };
}
