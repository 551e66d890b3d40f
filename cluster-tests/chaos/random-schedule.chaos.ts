/**
 * The long run's randomised schedule (`npm run test:chaos` only): faults drawn from CHAOS_SEED
 * (printed; set it to replay), each held a drawn time while clients publish and consume, then
 * undone; after every undo the cluster must confirm again, and at the end nothing confirmed is
 * lost and nothing unexpected is delivered.
 */
import { beforeAll, describe, it } from "vitest";
import { Scenario } from "./scenario.js";
import { applyFault, describeFault, makeSchedule } from "./schedule.js";
import { useChaosCluster } from "./suite.js";

const STEPS = Number(process.env.CHAOS_STEPS ?? "12");
const { cluster, seed, random } = useChaosCluster(`random schedule, CHAOS_STEPS=${STEPS}`);
// Drawn before the cluster starts (its Toxiproxy draws from the same generator afterwards).
const schedule = makeSchedule(random, STEPS, 1_000, 8_000);

beforeAll(() => {
  for (const [i, s] of schedule.entries())
    console.log(`  step ${i}: ${describeFault(s.fault)} for ${s.holdMs} ms`);
});

describe("chaos: randomised schedule", () => {
  it(
    `survives ${STEPS} random faults (CHAOS_SEED=${seed}) with nothing confirmed lost`,
    async () => {
      const s = await Scenario.begin(cluster(), "random-schedule");
      for (const [i, step] of schedule.entries()) {
        s.fault(`${i}:${describeFault(step.fault)}`);
        await applyFault(cluster(), step.fault);
        await s.run(step.holdMs);
        await cluster().restore();
        // Healed: the cluster must serve again within a failover budget.
        await s.waitConfirms(5);
      }
      await s.finish();
    },
    30 * 60_000,
  );
});
