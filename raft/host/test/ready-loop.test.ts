/**
 * The ready loop's pipelining, on an in-process cluster of three nodes (loopback TCP, LevelDB):
 * what may and may not happen while a node's batch write is in flight.
 */
import { Level } from "level";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TestCluster, waitUntil } from "./cluster.js";
import type { ListResult } from "./list-machine.js";

const IDS = ["n1", "n2", "n3"];
/** Releases held writes, so a failing test still lets the cluster close. */
let releaseHeld: (() => void) | undefined;

/**
 * Holds back the synced LevelDB batch writes of the database in `dir` (only that node's) until
 * `release()`; writes of the other nodes go through.
 */
function holdWrites(dir: string) {
  const original = Level.prototype.batch;
  const held: Array<() => void> = [];
  let holding = true;
  vi.spyOn(Level.prototype, "batch").mockImplementation(function (this: Level, ...args: unknown[]) {
    const chain = (original as (...a: unknown[]) => { write(o?: unknown): Promise<void> }).apply(this, args);
    if (this.location !== dir) return chain as unknown as ReturnType<Level["batch"]>;
    const write = chain.write.bind(chain);
    chain.write = (o) => {
      if (!holding) return write(o);
      return new Promise<void>((resolve, reject) => held.push(() => write(o).then(resolve, reject)));
    };
    return chain as unknown as ReturnType<Level["batch"]>;
  } as unknown as Level["batch"]);
  const release = () => {
    holding = false;
    for (const go of held.splice(0)) go();
  };
  releaseHeld = release;
  return { count: () => held.length, release };
}

describe("ReadyLoop pipelining", () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    releaseHeld?.();
    releaseHeld = undefined;
    vi.restoreAllMocks();
    await c?.close();
    c = undefined;
  });

  it("a leader applies a proposal committed by its followers' fsyncs while its own write is still in flight", async () => {
    // A long election timeout, so that a loaded machine cannot turn this into an election test.
    c = await TestCluster.start(IDS, { electionTick: 300 });
    const cluster = c;
    await cluster.createGroup("q");
    const leader = cluster.node(await cluster.leaderOf("q", 30_000));
    await cluster.propose("q", { v: "warm-up" });

    const writes = holdWrites(leader.dir);
    const result = leader.host.propose<ListResult>("q", { v: "a" });
    let resolved = false;
    void result.then(() => {
      resolved = true;
    });
    // The leader's batch holding "a" is stuck in LevelDB; both followers persist and ack it,
    // which is a majority: the proposal resolves without the leader's fsync.
    await waitUntil(() => resolved, "the proposal to resolve from the followers' acks");
    expect(writes.count()).toBeGreaterThan(0);
    expect((await result).v).toBe("a");
    // No election was needed: the leader it was proposed on committed it.
    expect(await cluster.leaderOf("q")).toBe(leader.id);
    writes.release();
    await cluster.propose("q", { v: "b" });
    await waitUntil(
      () =>
        IDS.every(
          (id) =>
            cluster
              .node(id)
              .machines.get("q")
              ?.values.map(([, v]) => v)
              .join() === "warm-up,a,b",
        ),
      "every replica to apply warm-up, a, b in order",
    );
  });

  it("a leader whose own write outlasts the election timeout keeps its followers: heartbeats leave during the write", async () => {
    // Election timeout 10-20 ticks of 10 ms; the leader's write is held for far longer.
    c = await TestCluster.start(IDS, { electionTick: 10, heartbeatTick: 2 });
    const cluster = c;
    await cluster.createGroup("q");
    const leader = cluster.node(await cluster.leaderOf("q", 30_000));
    await cluster.propose("q", { v: "warm-up" });
    const term = leader.host.status("q").term;
    const followers = IDS.filter((id) => id !== leader.id).map((id) => cluster.node(id));

    const writes = holdWrites(leader.dir);
    // Count the leader's non-empty raft payloads (its heartbeats) from here on.
    const original = leader.transport.send.bind(leader.transport);
    let sent = 0;
    vi.spyOn(leader.transport, "send").mockImplementation((to, channel, payload) => {
      if (Array.isArray(payload) && payload.length > 0) sent++;
      return original(to, channel, payload);
    });
    const result = leader.host.propose<ListResult>("q", { v: "a" });
    await waitUntil(() => writes.count() > 0, "the leader's write to be held");
    const termMoved = () => followers.some((f) => f.host.status("q").term !== term);
    // 60 payloads over two followers = 30 heartbeat rounds = 60 ticks, three times the longest
    // election timeout. Before heartbeats could leave during a write, the leader sent nothing
    // here and a follower was elected in a new term instead.
    await waitUntil(() => sent >= 60 || termMoved(), "60 payloads from the leader or a new term");
    expect(termMoved()).toBe(false);
    expect(writes.count()).toBeGreaterThan(0); // still the same write
    expect(await cluster.leaderOf("q")).toBe(leader.id);
    expect((await result).v).toBe("a");
    writes.release();
    await cluster.propose("q", { v: "b" });
    expect(leader.host.status("q").term).toBe(term);
  });
});
