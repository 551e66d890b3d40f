import { describe, expect, it } from "vitest";
import { chaosSeed, seededRandom } from "./random.js";
import { describeFault, makeSchedule } from "./schedule.js";

describe("chaos schedule", () => {
  it("the same seed gives the same schedule, another seed another", () => {
    const a = makeSchedule(seededRandom(7), 20, 1_000, 8_000);
    expect(makeSchedule(seededRandom(7), 20, 1_000, 8_000)).toEqual(a);
    expect(makeSchedule(seededRandom(8), 20, 1_000, 8_000)).not.toEqual(a);
  });

  it("holds stay in bounds and faults name real, distinct nodes", () => {
    for (const step of makeSchedule(seededRandom(1), 200, 1_000, 8_000)) {
      expect(step.holdMs).toBeGreaterThanOrEqual(1_000);
      expect(step.holdMs).toBeLessThan(8_000);
      const f = step.fault;
      if ("from" in f) expect(f.from).not.toBe(f.to);
      if (f.kind === "kill-two") expect(f.nodes[0]).not.toBe(f.nodes[1]);
      expect(describeFault(f)).toMatch(/n[123]/);
    }
  });

  it("CHAOS_SEED replays; a bad one is refused", () => {
    expect(chaosSeed({ CHAOS_SEED: "123" })).toBe(123);
    expect(() => chaosSeed({ CHAOS_SEED: "x" })).toThrow(/CHAOS_SEED/);
    expect(Number.isInteger(chaosSeed({}))).toBe(true);
  });
});
