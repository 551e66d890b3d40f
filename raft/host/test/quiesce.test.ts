/**
 * Quiescence on real hosts (loopback TCP, LevelDB): idle groups stop ticking and heartbeating,
 * a proposal wakes its group, and a leader whose node goes silent without closing anything
 * (SIGSTOP, a black hole) is still replaced.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Role } from "../../core/types.js";
import { TestCluster, waitUntil } from "./cluster.js";

const IDS = ["n1", "n2", "n3"];
const GROUPS = Array.from({ length: 10 }, (_, i) => `q${i}`);

function allQuiesced(c: TestCluster, groups: readonly string[]): boolean {
  for (const n of c.nodes.values()) for (const g of groups) if (!n.host.status(g).quiesced) return false;
  return true;
}

describe("RaftHost: idle groups quiesce", () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  it("idle groups stop producing Readies on every node; a proposal wakes its group and commits", async () => {
    c = await TestCluster.start(IDS);
    const cluster = c;
    for (const g of GROUPS) await cluster.createGroup(g);
    for (const g of GROUPS) await cluster.propose(g, { v: `${g}-0` });
    await waitUntil(() => allQuiesced(cluster, GROUPS), "every group quiesced on every node");

    // Over the next 30 ticks (300 ms), the quiesced groups do nothing: at most the odd Ready.
    const readies = () => [...cluster.nodes.values()].reduce((n, x) => n + x.host.loopStats().readies, 0);
    const before = readies();
    const until = Date.now() + 300;
    await waitUntil(() => Date.now() >= until, "30 ticks");
    expect(readies() - before).toBeLessThan(GROUPS.length);
    expect(allQuiesced(cluster, GROUPS)).toBe(true);

    await cluster.propose("q3", { v: "q3-1" });
    await waitUntil(
      () => [...cluster.nodes.values()].every((n) => n.machines.get("q3")?.values.length === 2),
      "q3's second entry applied everywhere",
    );
    // Idle again: back to sleep.
    await waitUntil(() => allQuiesced(cluster, GROUPS), "q3 quiesced again");
  });

  it("a quiesced group whose leader's node goes silent elects a new leader", async () => {
    c = await TestCluster.start(IDS);
    const cluster = c;
    await cluster.createGroup("q");
    await cluster.propose("q", { v: "before" });
    await waitUntil(() => allQuiesced(cluster, ["q"]), "q quiesced");
    const old = await cluster.leaderOf("q");
    // Frozen: its connections stay open, nothing it sends arrives, nothing it gets is handled.
    const frozen = cluster.node(old);
    frozen.transport.send = () => true;
    const others = IDS.filter((id) => id !== old);
    await waitUntil(
      () => others.some((id) => cluster.node(id).host.status("q").role === Role.Leader),
      "a new leader among the others",
    );
    const leader = others.find((id) => cluster.node(id).host.status("q").role === Role.Leader)!;
    await cluster.node(leader).host.propose("q", { v: "after" });
    const values = cluster.node(leader).machines.get("q")?.values ?? [];
    expect(values.map(([, v]) => v)).toEqual(["before", "after"]);
  });

  it("a quiesced leader that reaches its followers but no longer hears them is replaced", async () => {
    c = await TestCluster.start(IDS);
    const cluster = c;
    await cluster.createGroup("q");
    await cluster.propose("q", { v: "before" });
    await waitUntil(() => allQuiesced(cluster, ["q"]), "q quiesced");
    const old = await cluster.leaderOf("q");
    const others = IDS.filter((id) => id !== old);
    // The followers' links to the leader break (silently: nothing closes); the leader's
    // pings still reach them. Nobody proposes at the old leader, as no client reaches it.
    for (const id of others) {
      const t = cluster.node(id).transport;
      const send = t.send.bind(t);
      t.send = (to, channel, payload) => (to === old ? true : send(to, channel, payload));
    }
    await waitUntil(() => {
      const leads = others.map((id) => cluster.node(id).host.leaderOf("q"));
      return leads[0] !== undefined && leads[0] !== old && leads[0] === leads[1];
    }, "the followers agree on a new leader among themselves");
    const leader = cluster.node(others[0]!).host.leaderOf("q")!;
    await cluster.node(leader).host.propose("q", { v: "after" });
    const values = cluster.node(leader).machines.get("q")?.values ?? [];
    expect(values.map(([, v]) => v)).toEqual(["before", "after"]);
  });
});
