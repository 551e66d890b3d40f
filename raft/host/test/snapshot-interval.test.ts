/**
 * The snapshot interval grows with the live entries a snapshot names (group.ts
 * nextSnapshotInterval): a machine holding a long backlog is not serialized whole every
 * `snapshotEvery` entries.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MAX_SNAPSHOT_INTERVAL_FACTOR, nextSnapshotInterval } from "../group.js";
import { TestCluster, waitUntil } from "./cluster.js";

describe("snapshot interval", () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it("is snapshotEvery for a small state, the live count for a larger one, capped", () => {
    expect(nextSnapshotInterval(4096, 0)).toBe(4096);
    expect(nextSnapshotInterval(4096, 100_000)).toBe(4096 * MAX_SNAPSHOT_INTERVAL_FACTOR);
    expect(nextSnapshotInterval(4096, 10_000)).toBe(10_000);
  });

  it("a group that keeps its entries live snapshots less and less often; one that does not, every snapshotEvery", async () => {
    c = await TestCluster.start(["n1", "n2", "n3"], { snapshotEvery: 8 });
    const cluster = c;
    await cluster.createGroup("kept");
    await cluster.createGroup("plain");
    for (let i = 0; i < 100; i++) {
      await Promise.all([
        cluster.propose("kept", { v: `k${i}`, keep: true }),
        cluster.propose("plain", { v: `p${i}` }),
      ]);
    }
    const ids = ["n1", "n2", "n3"];
    await waitUntil(
      () => ids.every((id) => cluster.node(id).machines.get("kept")!.values.length === 100),
      "every replica to apply the 100 kept commands",
    );
    await waitUntil(
      () => ids.every((id) => cluster.node(id).machines.get("plain")!.values.length === 100),
      "every replica to apply the 100 plain commands",
    );
    for (const id of ids) {
      const n = cluster.node(id);
      // plain: about one snapshot per 8 applied entries (the leader's no-op counts too).
      expect(n.machines.get("plain")!.snapshots).toBeGreaterThanOrEqual(11);
      // kept: after 8, 16, 32 and 64 applied entries (the interval follows the live count).
      const kept = n.machines.get("kept")!.snapshots;
      expect(kept).toBeGreaterThanOrEqual(3);
      expect(kept).toBeLessThanOrEqual(5);
    }
    // Compaction still happened: the first kept body is read back as a live entry.
    const leader = cluster.node(await cluster.leaderOf("kept"));
    const first = leader.machines.get("kept")!.values[0]![0];
    expect(await leader.host.readCommand("kept", first)).toEqual({ v: "k0", keep: true });
  });
});
