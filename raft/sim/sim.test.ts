/**
 * The deterministic simulation as part of `npm test`: at least 500 seeds (a CI requirement),
 * replay determinism, and proof that deliberately broken hosts are caught.
 */
import { describe, expect, test } from "vitest";
import { Invariant } from "./checkers.js";
import { failureReport } from "./report.js";
import { type RunOptions, runSeed } from "./run.js";

/** Chaos-phase steps per seed: sized so the 500 seeds take ~20-40 s on a shared 2-core machine. */
const STEPS = 15_000;
const SEEDS = 500;
const CHUNK = 100;

/** Every fifth seed runs five founding voters, the others three. */
const nodesFor = (seed: number): number => (seed % 5 === 0 ? 5 : 3);

describe("deterministic simulation", () => {
  for (let from = 1; from <= SEEDS; from += CHUNK) {
    test(`seeds ${from}..${from + CHUNK - 1} keep every invariant and recover after healing`, () => {
      const failures: string[] = [];
      for (let seed = from; seed < from + CHUNK; seed++) {
        const nodes = nodesFor(seed);
        const r = runSeed({ seed, steps: STEPS, nodes });
        if (!r.ok) failures.push(failureReport(r, { steps: STEPS, nodes }));
      }
      // The first reports in full (seed, invariant, replay command, trace); the rest by seed.
      const shown = failures.slice(0, 3).join("\n\n");
      const more = failures.length > 3 ? `\n\n...and ${failures.length - 3} more failing seeds` : "";
      expect(failures.length, shown + more).toBe(0);
    });
  }

  test("the same seed replays the same run, event for event", () => {
    const lines = (): string[] => {
      const out: string[] = [];
      runSeed({ seed: 4242, steps: 4000, verbose: (l) => out.push(l) });
      return out;
    };
    const a = lines();
    const b = lines();
    expect(a.length).toBeGreaterThan(2000);
    expect(b).toEqual(a);
    const other: string[] = [];
    runSeed({ seed: 4243, steps: 4000, verbose: (l) => other.push(l) });
    expect(other).not.toEqual(a);
  });

  test("a run exercises crashes, partitions, snapshots, membership changes, transfers and reads", () => {
    const totals = {
      crashes: 0,
      partitions: 0,
      snapshotsSent: 0,
      confChanges: 0,
      transfers: 0,
      readsAnswered: 0,
      lostWrites: 0,
    };
    for (let seed = 1; seed <= 20; seed++) {
      const r = runSeed({ seed, steps: STEPS });
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r.stats[k];
    }
    for (const [k, v] of Object.entries(totals)) expect(v, k).toBeGreaterThan(0);
  });
});

/** The first seed in 1..limit whose run fails, or undefined. */
function firstFailure(opts: Omit<RunOptions, "seed">, limit: number) {
  for (let seed = 1; seed <= limit; seed++) {
    const r = runSeed({ seed, steps: STEPS, ...opts });
    if (!r.ok) return r;
  }
  return undefined;
}

describe("the checkers catch a deliberately broken host", () => {
  test("a host that sends votes and acknowledgements before its fsync", () => {
    const r = firstFailure({ bugs: { sendBeforeFsync: true } }, 5);
    expect(r?.violation?.invariant).toBe(Invariant.DurableBeforeSend);
    expect(r?.trace.length).toBeGreaterThan(0);
  });

  test("...is still caught by durability when the send-after-fsync check is off", () => {
    const r = firstFailure(
      { bugs: { sendBeforeFsync: true }, disabledChecks: [Invariant.DurableBeforeSend] },
      20,
    );
    expect([
      Invariant.Durability,
      Invariant.LeaderCompleteness,
      Invariant.StateMachineSafety,
      Invariant.VoteOnce,
    ]).toContain(r?.violation?.invariant);
  });

  test("a node that grants every vote, so two candidates win one term", () => {
    const r = firstFailure(
      { bugs: { grantEveryVote: true }, disabledChecks: [Invariant.DurableBeforeSend, Invariant.VoteOnce] },
      20,
    );
    expect([Invariant.ElectionSafety, Invariant.LeaderCompleteness]).toContain(r?.violation?.invariant);
  });

  test("...and is caught as a double vote (or what follows from it) with the vote checks on", () => {
    const r = firstFailure(
      { bugs: { grantEveryVote: true }, disabledChecks: [Invariant.DurableBeforeSend] },
      20,
    );
    // A grant that flips a rejection either repeats a vote in the term (vote once) or elects a
    // candidate whose log lacks committed entries (leader completeness).
    expect([Invariant.VoteOnce, Invariant.ElectionSafety, Invariant.LeaderCompleteness]).toContain(
      r?.violation?.invariant,
    );
  });
});
