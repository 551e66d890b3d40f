/**
 * Real I/O (issue: "Tests 3"): three hosts in three processes on loopback TCP with LevelDB in
 * temp dirs. Kill -9 one node and restart it, then kill -9 all three and restart them: every
 * acknowledged (committed) entry survives and the replicas' applied sequences converge.
 */
import { afterEach, describe, expect, it } from "vitest";
import { waitUntil } from "./cluster.js";
import { type GroupState, ProcessCluster } from "./process-cluster.js";

const GROUPS = ["g0", "g1", "g2", "g3"];

/** Writes to every group until `stop()`; records what was acknowledged. */
function startWriters(c: ProcessCluster) {
  const acked = new Map<string, string[]>(GROUPS.map((g) => [g, []]));
  let running = true;
  let seq = 0;
  // Three writers per group keep several entries in flight when a node is killed.
  const loops = [...GROUPS, ...GROUPS, ...GROUPS].map(async (g) => {
    while (running) {
      const v = `${g}-${seq++}`;
      if (await c.propose(g, v, Date.now() + 3000)) acked.get(g)!.push(v);
      else await new Promise((r) => setTimeout(r, 20));
    }
  });
  return {
    acked,
    count: () => [...acked.values()].reduce((n, a) => n + a.length, 0),
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function converged(c: ProcessCluster, acked: Map<string, string[]>): Promise<boolean> {
  const states = await c.states();
  if (states.size !== 3) return false;
  for (const g of GROUPS) {
    const views = [...states.values()].map((s) => s[g] as GroupState);
    const first = JSON.stringify(views[0]!.values);
    if (!views.every((v) => JSON.stringify(v.values) === first)) return false;
    const applied = new Set(views[0]!.values.map(([, v]) => v));
    if (!acked.get(g)!.every((v) => applied.has(v))) return false;
  }
  return true;
}

describe("RaftHost with real processes, TCP and LevelDB", () => {
  let cluster: ProcessCluster | undefined;
  afterEach(async () => {
    await cluster?.close();
    cluster = undefined;
  });

  it("keeps every committed entry across kill -9 of one node, then of all three", async () => {
    const c = await ProcessCluster.create(GROUPS, 25);
    cluster = c;
    await Promise.all(c.nodes.map((n) => n.start()));
    const w = startWriters(c);
    await waitUntil(() => w.count() >= 40, "first commits", 20_000);

    // One node crashes and comes back: it recovers from its own log and catches up.
    const states = await c.states();
    const leader = states.get("n1")?.g0?.leader ?? "n1";
    await c.node(leader).kill();
    const afterOne = w.count();
    await waitUntil(() => w.count() >= afterOne + 40, "commits with one node down", 20_000);
    await c.node(leader).start();
    const afterRestart = w.count();
    await waitUntil(() => w.count() >= afterRestart + 40, "commits after the restart", 20_000);

    // All three crash at once: only what was fsynced survives, which must include every ack.
    await Promise.all(c.nodes.map((n) => n.kill()));
    await w.stop();
    await Promise.all(c.nodes.map((n) => n.start()));
    for (const g of GROUPS) {
      expect(await c.propose(g, `${g}-final`, Date.now() + 10_000)).toBe(true);
      w.acked.get(g)!.push(`${g}-final`);
    }

    await waitUntil(
      () => converged(c, w.acked),
      "replicas to converge with every acknowledged entry",
      20_000,
    );
    const final = await c.states();
    for (const g of GROUPS) {
      const values = (final.get("n1")![g] as GroupState).values;
      // Indexes strictly increase: nothing applied twice or out of order after recovery.
      for (let i = 1; i < values.length; i++) expect(values[i]![0]).toBeGreaterThan(values[i - 1]![0]);
      expect(values.length).toBeGreaterThanOrEqual(w.acked.get(g)!.length);
    }
  });
});
