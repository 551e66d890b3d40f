/**
 * Log compaction and InstallSnapshot (Raft §7), with Ra-style live entries: the snapshot
 * names entries below it that the state machine still needs; they travel with it.
 */
import { describe, expect, it } from "vitest";
import { CompactedError, SnapshotOutOfDateError, UnavailableError } from "../errors.js";
import { MemoryStorage } from "../storage.js";
import { ProgressState } from "../tracker/progress.js";
import { EntryType, MessageType } from "../types.js";
import { bytes, Network, text } from "./network.js";

const CONF = { voters: ["a", "b", "c"], learners: [] };

function entry(index: number, term: number, data = "x") {
  return { index, term, type: EntryType.Normal, data: bytes(data) };
}

describe("Raft §7 log compaction", () => {
  it("a follower whose next entries were compacted away receives the snapshot", () => {
    // Raft §7: "the leader must occasionally send snapshots to followers that lag behind.
    // This happens when the leader has already discarded the next log entry that it needs to
    // send to a follower."
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.isolate("c");
    for (let i = 0; i < 10; i++) net.propose("a", `m${i}`);
    net.stabilize();
    const snap = net.compact("a", [3, 7]);
    expect(snap.meta).toMatchObject({ index: 11, term: 1 });
    expect(net.get("a").storage.firstIndex()).toBe(12);
    net.recover();
    net.tick(2);
    const c = net.get("c");
    expect(c.snapshots).toHaveLength(1);
    // Live entries are named by the snapshot and travel with it (the host ships their data).
    expect(c.snapshots[0]?.live).toEqual([3, 7]);
    expect(c.storage.snapshot().meta.index).toBe(11);
    expect(c.applied.map(text)).toEqual(net.get("a").applied.map(text));
    // Replication continues from the log after the snapshot.
    net.propose("a", "after");
    net.stabilize();
    expect(c.applied.map(text).at(-1)).toBe("after");
    expect(net.raw("a").status().progress?.get("c")).toMatchObject({
      match: 12,
      state: ProgressState.Replicate,
    });
  });

  it("a follower installing a snapshot discards its whole log", () => {
    // Raft §7: "Usually the snapshot will contain new information not already in the
    // recipient's log. In this case, the follower discards its entire log; it is all
    // superseded by the snapshot and may possibly have uncommitted entries that conflict".
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.isolate("a");
    net.propose("a", "lost"); // a's uncommitted suffix
    net.stabilize();
    net.recover();
    net.isolate("a");
    net.elect("b");
    for (let i = 0; i < 5; i++) net.propose("b", `k${i}`);
    net.stabilize();
    net.compact("b");
    net.recover();
    net.tick(2);
    const a = net.get("a");
    expect(a.snapshots).toHaveLength(1);
    expect(a.applied.map(text)).toEqual(["k0", "k1", "k2", "k3", "k4"]);
    expect(a.storage.lastIndex()).toBe(net.get("b").storage.lastIndex());
  });

  it("a snapshot the follower's log already covers only advances its commit index", () => {
    // Raft §7: "If instead the follower receives a snapshot that describes a prefix of its
    // log ..., then log entries covered by the snapshot are deleted but entries following
    // the snapshot are still valid and must be retained."
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    for (let i = 0; i < 3; i++) net.propose("a", `m${i}`);
    net.stabilize();
    const snap = net.compact("a");
    const b = net.raw("b");
    const before = net.get("b").storage.lastIndex();
    b.step({ type: MessageType.MsgSnap, from: "a", to: "b", term: 1, snapshot: snap });
    net.process("b");
    expect(net.get("b").snapshots).toHaveLength(0);
    expect(net.get("b").storage.lastIndex()).toBe(before);
    expect(net.queue.at(-1)).toMatchObject({ type: MessageType.MsgAppResp, index: b.status().commit });
  });

  it("a failed snapshot send is retried after reportSnapshot(false)", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    net.isolate("c");
    for (let i = 0; i < 3; i++) net.propose("a", `m${i}`);
    net.stabilize();
    net.compact("a");
    net.recover();
    net.drop(MessageType.MsgSnap);
    net.tick(1);
    const a = net.raw("a");
    expect(a.status().progress?.get("c")?.state).toBe(ProgressState.Snapshot);
    net.tick(3);
    // Nothing else is sent while the snapshot is in flight.
    expect(a.status().progress?.get("c")?.state).toBe(ProgressState.Snapshot);
    a.reportSnapshot("c", false);
    expect(a.status().progress?.get("c")?.state).toBe(ProgressState.Probe);
    net.recover();
    net.tick(2);
    expect(net.get("c").snapshots).toHaveLength(1);
    expect(net.get("c").applied.map(text)).toEqual(["m0", "m1", "m2"]);
  });

  it("a restarted node resumes from its snapshot and log", () => {
    const net = new Network(["a", "b", "c"]);
    net.elect("a");
    for (let i = 0; i < 4; i++) net.propose("a", `m${i}`);
    net.stabilize();
    net.compact("b");
    net.propose("a", "tail");
    net.stabilize();
    net.restart("b");
    const st = net.raw("b").status();
    expect(st).toMatchObject({ term: 1, commit: 6, applied: 6 });
    net.propose("a", "more");
    net.stabilize();
    expect(net.get("b").applied.map(text).slice(-2)).toEqual(["tail", "more"]);
  });
});

describe("MemoryStorage", () => {
  it("answers term and entries like etcd's, with typed errors", () => {
    const s = new MemoryStorage(CONF);
    s.append([entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)]);
    expect([s.firstIndex(), s.lastIndex()]).toEqual([1, 4]);
    expect(s.term(0)).toBe(0);
    expect(s.term(3)).toBe(2);
    expect(() => s.term(5)).toThrow(UnavailableError);
    s.createSnapshot(2, CONF, bytes("state"), [1]);
    s.compact(2);
    expect([s.firstIndex(), s.lastIndex()]).toEqual([3, 4]);
    expect(s.term(2)).toBe(1); // the snapshot's term stays known
    expect(() => s.term(1)).toThrow(CompactedError);
    expect(() => s.entries(2, 4, 100)).toThrow(CompactedError);
    expect(() => s.entries(3, 6, 100)).toThrow(UnavailableError);
    expect(s.entries(3, 5, 0).map((e) => e.index)).toEqual([3]); // always at least one
    expect(s.entries(3, 5, 100).map((e) => e.index)).toEqual([3, 4]);
    expect(() => s.compact(2)).toThrow(CompactedError);
    expect(() => s.createSnapshot(2, CONF, bytes(""), [])).toThrow(SnapshotOutOfDateError);
    expect(s.snapshot()).toMatchObject({ meta: { index: 2, term: 1 }, live: [1] });
  });

  it("truncates a conflicting suffix on append", () => {
    const s = new MemoryStorage(CONF);
    s.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    s.append([entry(2, 2)]);
    expect([s.lastIndex(), s.term(2)]).toEqual([2, 2]);
    expect(() => s.append([entry(5, 2)])).toThrow(/missing log entries/);
  });

  it("applySnapshot replaces the log and the configuration", () => {
    const s = new MemoryStorage(CONF);
    s.append([entry(1, 1), entry(2, 1)]);
    const conf = { voters: ["a", "b"], learners: ["l"] };
    s.applySnapshot({ meta: { index: 10, term: 3, conf }, data: bytes("s"), live: [4, 9] });
    expect([s.firstIndex(), s.lastIndex(), s.term(10)]).toEqual([11, 10, 3]);
    expect(s.initialState().confState).toEqual(conf);
    expect(() => s.applySnapshot({ meta: { index: 5, term: 2, conf }, data: bytes(""), live: [] })).toThrow(
      SnapshotOutOfDateError,
    );
  });

  it("rejects live indexes that are unsorted or above the snapshot", () => {
    const s = new MemoryStorage(CONF);
    s.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    expect(() => s.createSnapshot(2, CONF, bytes(""), [3])).toThrow(/live indexes/);
    expect(() => s.createSnapshot(2, CONF, bytes(""), [2, 1])).toThrow(/live indexes/);
  });
});
