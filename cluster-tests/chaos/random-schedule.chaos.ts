/**
 * The long run's randomised schedule (`npm run test:chaos` only): faults drawn from CHAOS_SEED
 * (printed; set it to replay), each held a drawn time while clients publish and consume, then
 * undone; after every undo the cluster must confirm again, and at the end nothing confirmed is
 * lost and nothing unexpected is delivered.
 */
import { afterAll, afterEach, beforeAll, describe, it } from "vitest";
import { ProxiedCluster } from "./proxied-cluster.js";
import { chaosSeed, seededRandom } from "./random.js";
import { Scenario } from "./scenario.js";
import { applyFault, describeFault, makeSchedule } from "./schedule.js";

const SEED = chaosSeed();
const random = seededRandom(SEED);
const STEPS = Number(process.env.CHAOS_STEPS ?? "12");
const schedule = makeSchedule(random, STEPS, 1_000, 8_000);
let cluster: ProxiedCluster;

beforeAll(async () => {
  console.log(`chaos random schedule: CHAOS_SEED=${SEED} CHAOS_STEPS=${STEPS}`);
  for (const [i, s] of schedule.entries())
    console.log(`  step ${i}: ${describeFault(s.fault)} for ${s.holdMs} ms`);
  cluster = await ProxiedCluster.acquire({ random });
}, 120_000);

afterEach(({ task }) => {
  if (task.result?.state === "fail") console.error(`CHAOS_SEED=${SEED}\n${cluster?.tail(80)}`);
});

afterAll(async () => {
  await cluster?.destroy();
});

describe("chaos: randomised schedule", () => {
  it(
    `survives ${STEPS} random faults (CHAOS_SEED=${SEED}) with nothing confirmed lost`,
    async () => {
      const s = await Scenario.begin(cluster, "random-schedule");
      for (const [i, step] of schedule.entries()) {
        s.fault(`${i}:${describeFault(step.fault)}`);
        await applyFault(cluster, step.fault);
        await s.run(step.holdMs);
        await cluster.restore();
        // Healed: the cluster must serve again within a failover budget.
        await s.waitConfirms(5);
      }
      await s.finish();
    },
    30 * 60_000,
  );
});
