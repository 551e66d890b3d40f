/**
 * A leader-change listener may propose at once: a listener told "this node leads now" that
 * proposes on the spot (node/broker's publish streams resend there) must see its proposal
 * commit, not dropped as "overwritten" by the Ready that was being staged when it ran.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { NodeId } from "../../core/types.js";
import { TestCluster, waitUntil } from "./cluster.js";
import type { ListResult } from "./list-machine.js";

describe("proposing from a leader-change listener", () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it("a proposal made on the new leader inside its own leader-change callback commits", async () => {
    c = await TestCluster.start(["n1", "n2", "n3"]);
    const cluster = c;
    const outcomes: Array<{ node: NodeId; group: string; ok: boolean; error?: string }> = [];
    for (const id of ["n1", "n2", "n3"]) {
      const host = cluster.node(id).host;
      host.onLeaderChange((group, leader) => {
        if (leader !== id) return;
        host.propose<ListResult>(group, { v: `hello from ${id}` }).then(
          () => outcomes.push({ node: id, group, ok: true }),
          (err: Error) => outcomes.push({ node: id, group, ok: false, error: err.message }),
        );
      });
    }
    // Several groups created at once: their leaders are elected in the same batches, so a
    // listener also proposes to groups whose Ready is taken but not yet staged.
    const groups = Array.from({ length: 8 }, (_, i) => `g${i}`);
    await Promise.all(groups.map((g) => cluster.createGroup(g)));
    await waitUntil(
      () => groups.every((g) => outcomes.some((o) => o.group === g)),
      "a first leader's proposal per group to settle",
    );
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    // And a later leader change: transfer each group's leadership to another member.
    outcomes.length = 0;
    for (const g of groups) {
      const leader = await cluster.leaderOf(g);
      const to = ["n1", "n2", "n3"].find((id) => id !== leader)!;
      await cluster.node(leader).host.transferLeadership(g, to);
    }
    await waitUntil(
      () => groups.every((g) => outcomes.some((o) => o.group === g)),
      "the new leaders' proposals to settle",
    );
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  });
});
