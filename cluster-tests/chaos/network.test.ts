/**
 * Network faults on a real three-node cluster behind Toxiproxy, with clients publishing and
 * consuming on every node throughout; each scenario ends healed and drained, with no confirmed
 * message lost and nothing delivered that was not published (see checker.ts, docs/chaos.md).
 */
import type { ToxicType } from "toxiproxy-node-client";
import { describe, expect, it } from "vitest";
import { waitFor } from "../harness/index.js";
import { linkName } from "./proxied-cluster.js";
import { LONG, pick } from "./random.js";
import { agreedLeader, FAILOVER_BUDGET_MS, PHASE_MS, queueInfo, Scenario, WARMUP_MS } from "./scenario.js";
import { ALL_NODES as ALL, others, useChaosCluster } from "./suite.js";

const { cluster, random } = useChaosCluster("network scenarios");

/** The same toxic on what the leader sends to each follower (its appends and heartbeats). */
async function onLeaderLinks(
  leader: string,
  toxic: { name: string; type: ToxicType; attributes: Record<string, number>; toxicity?: number },
): Promise<void> {
  for (const f of others(leader))
    await cluster()
      .proxy(linkName(leader, f))
      .addToxic({ ...toxic, stream: "upstream", toxicity: toxic.toxicity ?? 1 });
}

describe("chaos: network partitions", () => {
  it("an isolated queue leader confirms nothing; the majority elects a new one; the old one steps down on healing", async () => {
    const s = await Scenario.begin(cluster(), "isolate-leader");
    const old = await agreedLeader(cluster(), s.queue, ALL);
    await s.run(WARMUP_MS);
    s.fault("isolate-leader");
    await cluster().partition([old], others(old));
    // From here on every link of the old leader is cut (a publish sent before may still commit).
    const cutAt = Date.now();
    const next = await agreedLeader(cluster(), s.queue, others(old), old);
    s.note("new leader agreed");
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    const healAt = Date.now();
    // Raft: a leader cut off from a majority cannot commit; Warren answers publishes only after commit.
    expect(s.checker.confirmedVia(old, cutAt, healAt)).toEqual([]);
    await cluster().heal();
    await waitFor(async () => (await queueInfo(cluster(), old, s.queue)).leader === next || undefined, {
      timeoutMs: FAILOVER_BUDGET_MS,
      what: `${old} to follow ${next}`,
    }).catch(async () => {
      // A new election after healing is allowed; all three must still agree on one leader.
      await agreedLeader(cluster(), s.queue, ALL);
    });
    await agreedLeader(cluster(), s.queue, ALL);
    await s.finish();
  });

  it("2|1 partitions that move around: progress whenever a majority is together, nothing lost", async () => {
    const s = await Scenario.begin(cluster(), "flapping");
    const rounds = LONG ? 10 : 3;
    for (let r = 0; r < rounds; r++) {
      const alone = pick(random, ALL);
      s.fault(`flap-${r}-${alone}`);
      await cluster().heal();
      await cluster().partition([alone], others(alone));
      // The two together always form a majority: they must confirm again within a failover.
      await s.waitConfirms(3);
      await s.run(Math.floor(PHASE_MS * (0.3 + random() * 0.7)));
    }
    await s.finish();
  });

  it("latency with jitter on a leader's link slows confirms but loses nothing", async () => {
    const s = await Scenario.begin(cluster(), "latency");
    const leader = await agreedLeader(cluster(), s.queue, ALL);
    await onLeaderLinks(leader, { name: "lag", type: "latency", attributes: { latency: 150, jitter: 100 } });
    s.fault("latency");
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    await s.finish();
  });

  it("a bandwidth limit on a leader's links slows confirms but loses nothing", async () => {
    const s = await Scenario.begin(cluster(), "bandwidth");
    const leader = await agreedLeader(cluster(), s.queue, ALL);
    await onLeaderLinks(leader, { name: "narrow", type: "bandwidth", attributes: { rate: 16 } });
    s.fault("bandwidth");
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    await s.finish();
  });

  it("connection resets on a leader's links, then slow closes when the leader dies", async () => {
    const s = await Scenario.begin(cluster(), "resets");
    const leader = await agreedLeader(cluster(), s.queue, ALL);
    await onLeaderLinks(leader, {
      name: "rst",
      type: "reset_peer",
      attributes: { timeout: 200 },
      toxicity: 0.5,
    });
    s.fault("reset_peer");
    await s.run(PHASE_MS);
    await cluster().heal();
    await s.waitConfirms(10);
    // Every close is held back 3 s: the followers learn of the kill only by the election timeout.
    for (const a of ALL)
      for (const b of others(a))
        for (const stream of ["upstream", "downstream"] as const)
          await cluster()
            .proxy(linkName(a, b))
            .addToxic({
              name: `late-fin-${stream}`,
              type: "slow_close",
              stream,
              toxicity: 1,
              attributes: { delay: 3_000 },
            });
    const victim = await agreedLeader(cluster(), s.queue, ALL);
    s.fault(`slow_close+kill-${victim}`);
    await cluster().kill(victim);
    await agreedLeader(cluster(), s.queue, others(victim), victim);
    s.note("new leader agreed");
    await s.waitConfirms(10);
    await cluster().restart(victim);
    await s.finish();
  });
});
