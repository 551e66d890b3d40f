/**
 * Network faults on a real three-node cluster behind Toxiproxy, with clients publishing and
 * consuming on every node throughout; each scenario ends healed and drained, with no confirmed
 * message lost and nothing delivered that was not published (see checker.ts, docs/chaos.md).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../harness/index.js";
import { ProxiedCluster } from "./proxied-cluster.js";
import { chaosSeed, pick, seededRandom } from "./random.js";
import { agreedLeader, FAILOVER_BUDGET_MS, PHASE_MS, queueInfo, Scenario } from "./scenario.js";

const SEED = chaosSeed();
const random = seededRandom(SEED);
let cluster: ProxiedCluster;

beforeAll(async () => {
  console.log(`chaos network scenarios: CHAOS_SEED=${SEED}`);
  cluster = await ProxiedCluster.start({ random });
}, 120_000);

afterEach(({ task }) => {
  if (task.result?.state === "fail") console.error(`CHAOS_SEED=${SEED}\n${cluster?.tail(60)}`);
});

afterAll(async () => {
  await cluster?.destroy();
});

const others = (id: string) => ["n1", "n2", "n3"].filter((x) => x !== id);

describe("chaos: network partitions", () => {
  it("an isolated queue leader confirms nothing; the majority elects a new one; the old one steps down on healing", async () => {
    const s = await Scenario.begin(cluster, "isolate-leader");
    const old = await agreedLeader(cluster, s.queue, ["n1", "n2", "n3"]);
    await s.run(PHASE_MS);
    const cutAt = s.fault("isolate-leader");
    await cluster.partition([old], others(old));
    const next = await agreedLeader(cluster, s.queue, others(old), old);
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    const healAt = Date.now();
    // Raft: a leader cut off from a majority cannot commit; Warren answers publishes only after commit.
    expect(s.checker.confirmedVia(old, cutAt, healAt)).toEqual([]);
    await cluster.heal();
    await waitFor(async () => (await queueInfo(cluster, old, s.queue)).leader === next || undefined, {
      timeoutMs: FAILOVER_BUDGET_MS,
      what: `${old} to follow ${next}`,
    }).catch(async () => {
      // A new election after healing is allowed; all three must still agree on one leader.
      await agreedLeader(cluster, s.queue, ["n1", "n2", "n3"]);
    });
    await agreedLeader(cluster, s.queue, ["n1", "n2", "n3"]);
    await s.finish();
  });
});
