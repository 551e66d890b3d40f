/**
 * Every checker must be able to fail: each test feeds the checker a history that breaks
 * exactly one invariant and expects that invariant to be named, and a valid history to pass.
 */
import { describe, expect, test } from "vitest";
import type { Entry } from "../core/types.js";
import { type DurableView, Invariant, SafetyChecker, Violation } from "./checkers.js";
import { SimDisk } from "./disk.js";

const ent = (index: number, term: number, data = `c${index}`): Entry => ({
  index,
  term,
  type: 0,
  data: new TextEncoder().encode(data),
});

function violationOf(fn: () => void): Invariant | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof Violation) return err.invariant;
    throw err;
  }
  return undefined;
}

function diskWith(entries: Entry[], hs = { term: 1, vote: "", commit: 0 }): SimDisk {
  const d = new SimDisk();
  d.write({ kind: "entries", entries });
  d.write({ kind: "hardState", hardState: hs });
  d.fsync();
  return d;
}

describe("SafetyChecker", () => {
  test("election safety: a second leader in a term is caught", () => {
    const c = new SafetyChecker();
    c.observeLeader(3, "n1");
    c.observeLeader(3, "n1");
    c.observeLeader(4, "n2");
    expect(violationOf(() => c.observeLeader(3, "n2"))).toBe(Invariant.ElectionSafety);
  });

  test("vote once: granting two candidates in one term is caught, and so is an unsynced vote", () => {
    const c = new SafetyChecker();
    const disk = diskWith([], { term: 2, vote: "n1", commit: 0 });
    c.observeVoteGranted("n3", 2, "n1", disk);
    expect(violationOf(() => c.observeVoteGranted("n3", 2, "n2", disk))).toBe(Invariant.VoteOnce);
    const behind = diskWith([], { term: 1, vote: "", commit: 0 });
    expect(violationOf(() => c.observeVoteGranted("n2", 2, "n1", behind))).toBe(Invariant.DurableBeforeSend);
  });

  test("an append acknowledgement beyond the durable log is caught; a stale older-term one is not", () => {
    const c = new SafetyChecker();
    const disk = diskWith([ent(1, 2), ent(2, 2)], { term: 2, vote: "", commit: 0 });
    c.observeAppendAck("n2", 2, 2, disk);
    expect(violationOf(() => c.observeAppendAck("n2", 2, 3, disk))).toBe(Invariant.DurableBeforeSend);
    expect(violationOf(() => c.observeAppendAck("n2", 1, 9, disk))).toBeUndefined();
  });

  test("hard state: a durable term going back, or a vote changing within a term, is caught", () => {
    const c = new SafetyChecker();
    c.observeHardState("n1", { term: 1, vote: "", commit: 0 }, { term: 1, vote: "n2", commit: 0 });
    c.observeHardState("n1", { term: 1, vote: "n2", commit: 0 }, { term: 2, vote: "", commit: 3 });
    expect(
      violationOf(() =>
        c.observeHardState("n1", { term: 2, vote: "", commit: 0 }, { term: 1, vote: "", commit: 0 }),
      ),
    ).toBe(Invariant.HardState);
    expect(
      violationOf(() =>
        c.observeHardState("n1", { term: 2, vote: "n2", commit: 0 }, { term: 2, vote: "n3", commit: 0 }),
      ),
    ).toBe(Invariant.HardState);
  });

  test("log matching: same index and term with another payload or another predecessor is caught", () => {
    const c = new SafetyChecker();
    c.observeDurableAppend("n1", [
      { entry: ent(1, 1), prevTerm: 0 },
      { entry: ent(2, 1), prevTerm: 1 },
    ]);
    c.observeDurableAppend("n2", [{ entry: ent(2, 1), prevTerm: 1 }]);
    expect(violationOf(() => c.observeDurableAppend("n3", [{ entry: ent(2, 1, "x"), prevTerm: 1 }]))).toBe(
      Invariant.LogMatching,
    );
    expect(violationOf(() => c.observeDurableAppend("n3", [{ entry: ent(2, 1), prevTerm: 0 }]))).toBe(
      Invariant.LogMatching,
    );
  });

  test("state machine safety: a different entry or a different history at an index is caught", () => {
    const c = new SafetyChecker();
    c.observeApplied("n1", ent(1, 1), 111, 1);
    c.observeApplied("n2", ent(1, 1), 111, 1);
    expect(violationOf(() => c.observeApplied("n3", ent(1, 1, "y"), 111, 1))).toBe(
      Invariant.StateMachineSafety,
    );
    expect(violationOf(() => c.observeApplied("n3", ent(1, 1), 222, 1))).toBe(Invariant.StateMachineSafety);
    expect(
      violationOf(() => c.observeRestore("n3", { index: 1, term: 1, hash: 999, count: 1, live: [] }, [])),
    ).toBe(Invariant.StateMachineSafety);
  });

  test("live entries: a snapshot naming other live indexes than its machine state is caught", () => {
    const c = new SafetyChecker();
    c.observeApplied("n1", ent(1, 1), 5, 1);
    const state = { index: 1, term: 1, hash: 5, count: 1, live: [1] };
    c.observeRestore("n2", state, [1]);
    expect(violationOf(() => c.observeRestore("n2", state, []))).toBe(Invariant.LiveEntries);
  });

  test("leader completeness: a new leader missing a committed entry is caught", () => {
    const c = new SafetyChecker();
    c.observeApplied("n1", ent(1, 1), 1, 1);
    c.observeApplied("n1", ent(2, 1), 2, 1);
    const full = [0, 1, 1];
    c.checkLeaderCompleteness("n2", 2, 1, (i) => full[i]);
    const short = [0, 1];
    expect(violationOf(() => c.checkLeaderCompleteness("n3", 3, 1, (i) => short[i]))).toBe(
      Invariant.LeaderCompleteness,
    );
    const wrong = [0, 1, 2];
    expect(violationOf(() => c.checkLeaderCompleteness("n3", 3, 1, (i) => wrong[i]))).toBe(
      Invariant.LeaderCompleteness,
    );
  });

  test("leader completeness: a leader observed late need not hold what a newer term committed", () => {
    const c = new SafetyChecker();
    c.observeApplied("n1", ent(1, 1), 1, 1);
    c.observeApplied("n3", ent(2, 5), 2, 5); // committed in term 5
    const stale = [0, 1, 4];
    c.checkLeaderCompleteness("n2", 4, 1, (i) => stale[i]); // n2 won term 4 before term 5
    expect(violationOf(() => c.checkLeaderCompleteness("n2", 6, 1, (i) => stale[i]))).toBe(
      Invariant.LeaderCompleteness,
    );
  });

  test("durability: a commit not on enough fsynced disks, or a committed entry truncated, is caught", () => {
    const c = new SafetyChecker();
    const e = ent(1, 1);
    const disks = new Map<string, DurableView>([
      ["n1", diskWith([e])],
      ["n2", diskWith([e])],
      ["n3", diskWith([])],
    ]);
    const conf = { voters: ["n1", "n2", "n3"], learners: [] };
    c.checkCommitDurable("n1", [e], conf, (id) => disks.get(id));
    disks.set("n2", diskWith([]));
    expect(violationOf(() => c.checkCommitDurable("n1", [e], conf, (id) => disks.get(id)))).toBe(
      Invariant.Durability,
    );
    // With four voters two copies meet every quorum of three: not a violation.
    const four = { voters: ["n1", "n2", "n3", "n4"], learners: [] };
    disks.set("n2", diskWith([e]));
    c.checkCommitDurable("n1", [e], four, (id) => disks.get(id));
    c.observeApplied("n1", e, 1, 3); // committed by term 3
    c.observeLost("n3", [{ index: 1, term: 2, byTerm: 5 }]); // another entry: not this one
    c.observeLost("n3", [{ index: 1, term: 1, byTerm: 2 }]); // a late message of an older leader
    expect(violationOf(() => c.observeLost("n2", [{ index: 1, term: 1, byTerm: 3 }]))).toBe(
      Invariant.Durability,
    );
  });

  test("read index: a read answered below a commit acknowledged before it was issued is caught", () => {
    const c = new SafetyChecker();
    c.observeAck(5);
    c.observeReadIssued("r1", "n2");
    c.observeAck(9);
    c.observeReadState("n2", "r1", 5);
    c.observeReadIssued("r2", "n2");
    expect(violationOf(() => c.observeReadState("n2", "r2", 8))).toBe(Invariant.ReadIndex);
  });

  test("a disabled invariant is not enforced (for self-tests of the others)", () => {
    const c = new SafetyChecker(new Set([Invariant.ElectionSafety]));
    c.observeLeader(1, "n1");
    expect(violationOf(() => c.observeLeader(1, "n2"))).toBeUndefined();
  });
});
