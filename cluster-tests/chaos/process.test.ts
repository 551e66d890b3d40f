/**
 * Process faults on a real three-node cluster behind Toxiproxy, with clients publishing and
 * consuming on every node throughout: kill -9 of a queue leader, of a follower, of two nodes at
 * once; a rolling restart (SIGTERM, rejoin, next node) and a restart of the whole cluster. Each
 * ends restored and drained, with no confirmed message lost (see checker.ts, docs/chaos.md).
 * SIGSTOP of the leader is in sigstop.test.ts.
 */
import { describe, expect, it } from "vitest";
import { agreedLeader, PHASE_MS, Scenario, WARMUP_MS } from "./scenario.js";
import { ALL_NODES as ALL, others, useChaosCluster } from "./suite.js";

const { cluster, random } = useChaosCluster("process scenarios");

/** A graceful stop must end well within the node's shutdownTimeoutMs (15 s by default). */
const GRACEFUL_STOP_BOUND_MS = 15_000;

/** SIGTERM: the node must exit 0 (clean, before its deadline); returns how long it took. */
async function gracefulStop(id: string): Promise<number> {
  const { exit, ms } = await cluster().stop(id);
  expect(exit, `${id} after SIGTERM\n${cluster().node(id).proc.tail(40)}`).toEqual({ code: 0, signal: null });
  expect(ms).toBeLessThan(GRACEFUL_STOP_BOUND_MS);
  return ms;
}

describe("chaos: process faults", () => {
  it("kill -9 of the queue leader: a new leader confirms within seconds, nothing lost after its restart", async () => {
    const s = await Scenario.begin(cluster(), "kill-leader");
    await s.run(WARMUP_MS);
    const leader = await agreedLeader(cluster(), s.queue, ALL);
    s.fault(`kill-${leader}`);
    await cluster().kill(leader);
    await agreedLeader(cluster(), s.queue, others(leader), leader);
    s.note("new leader agreed");
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    await cluster().restart(leader);
    await agreedLeader(cluster(), s.queue, ALL);
    await s.finish();
  });

  it("kill -9 of a follower: the other two keep confirming", async () => {
    const s = await Scenario.begin(cluster(), "kill-follower");
    const leader = await agreedLeader(cluster(), s.queue, ALL);
    const follower = others(leader)[Math.floor(random() * 2)] as string;
    s.fault(`kill-${follower}`);
    await cluster().kill(follower);
    await s.waitConfirms(10);
    await s.run(PHASE_MS);
    // What a client notices is that confirms go on (above) and nothing is lost (finish). The
    // leader usually stays, but a loaded machine can delay its heartbeats past the election
    // timeout and the survivor may then legitimately win an election: noted, not asserted.
    const after = await agreedLeader(cluster(), s.queue, others(follower), follower);
    s.note(after === leader ? `${leader} still leads;` : `leadership moved ${leader} -> ${after};`);
    await cluster().restart(follower);
    await s.finish();
  });

  it("kill -9 of two nodes at once: nothing is confirmed until one returns, then it recovers", async () => {
    const s = await Scenario.begin(cluster(), "kill-two");
    await s.run(WARMUP_MS);
    const survivor = ALL[Math.floor(random() * 3)] as string;
    const [a, b] = others(survivor) as [string, string];
    s.fault(`kill-${a}+${b}`);
    await Promise.all([cluster().kill(a), cluster().kill(b)]);
    const deadFrom = Date.now();
    await s.run(PHASE_MS);
    const back = Date.now();
    // One node of three is no majority: a publish sent after the kills cannot have committed.
    expect(s.checker.confirmedBetween(deadFrom, back)).toEqual([]);
    s.fault(`restart-${a}`);
    await cluster().restart(a);
    await agreedLeader(cluster(), s.queue, [survivor, a]);
    s.note("leader agreed by the two");
    await s.waitConfirms(10);
    await cluster().restart(b);
    await s.finish();
  });

  it("rolling restart: each node in turn exits 0 on SIGTERM and rejoins; the queue keeps confirming", async () => {
    const s = await Scenario.begin(cluster(), "rolling-restart");
    await s.run(WARMUP_MS);
    for (const id of ALL) {
      s.fault(`sigterm-${id}`);
      const ms = await gracefulStop(id);
      s.note(`${id} exited 0 in ${ms} ms;`);
      // Two of three are a majority: they lead (a leader that stopped handed over) and confirm.
      await agreedLeader(cluster(), s.queue, others(id), id);
      await s.waitConfirms(5);
      s.note(`confirming without ${id}`);
      await cluster().restart(id);
      await agreedLeader(cluster(), s.queue, ALL);
      s.note(`${id} rejoined`);
      await s.waitConfirms(5);
    }
    await s.finish();
  });

  it("restart of the whole cluster under traffic: every node exits 0, all return, nothing confirmed is lost", async () => {
    const s = await Scenario.begin(cluster(), "whole-restart");
    await s.run(WARMUP_MS);
    s.fault("sigterm-all");
    // As `docker compose down`: every node gets SIGTERM at once (no one to hand leadership to).
    const took = await Promise.all(ALL.map((id) => gracefulStop(id)));
    s.note(`all exited 0 (${took.join(", ")} ms);`);
    const downFrom = Date.now();
    await s.run(PHASE_MS / 2);
    // Nothing runs: nothing sent meanwhile can be confirmed.
    expect(s.checker.confirmedBetween(downFrom, Date.now())).toEqual([]);
    s.fault("start-all");
    await cluster().restore();
    await agreedLeader(cluster(), s.queue, ALL);
    s.note("leader agreed after the restart");
    await s.waitConfirms(10);
    await s.finish();
  });
});
