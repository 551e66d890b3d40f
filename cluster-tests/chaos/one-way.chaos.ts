/**
 * One-way partitions, in `npm run test:chaos` only (not in `npm test`): on the current build a
 * one-way cut can stall a queue group for good (a leader steps down with "quorum not active"
 * while it and one follower still talk both ways, and no new leader is elected; nothing is lost).
 * That is an open Warren bug, recorded in docs/chaos.md and the issue notes; this scenario keeps
 * its full assertions and moves back into network.test.ts once the bug is fixed.
 * Replay: `CHAOS_SEED=N npm run test:chaos -- cluster-tests/chaos/one-way.chaos.ts`.
 */
import { describe, it } from "vitest";
import { agreedLeader, PHASE_MS, Scenario } from "./scenario.js";
import { others, useChaosCluster } from "./suite.js";

const { cluster } = useChaosCluster("one-way scenario");

describe("chaos: one-way partitions", () => {
  it("one-way partitions (a node hears its peer but not back) do not stop the majority", async () => {
    const s = await Scenario.begin(cluster(), "one-way");
    const leader = await agreedLeader(cluster(), s.queue, ["n1", "n2", "n3"]);
    const [f1, f2] = others(leader) as [string, string];
    // The follower no longer hears the leader, the leader still hears it.
    s.fault(`${leader}-/->${f1}`);
    await cluster().cut(leader, f1);
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    await cluster().heal();
    // The leader no longer hears the other follower (its acks and votes), the follower hears it.
    s.fault(`${f2}-/->${leader}`);
    await cluster().cut(f2, leader);
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    await s.finish();
  });
});
