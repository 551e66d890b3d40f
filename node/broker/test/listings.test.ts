/**
 * Queue listings (GET /api/queues, /metrics, the overview) read each queue's figures as its
 * leader applied them, with no read barrier: a barrier per queue would wake every idle
 * (quiesced) Raft group on every monitoring poll. A single queue's GET still reads behind one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerCluster, declareLed, eventually, publishText, type TestNode } from "./harness.js";

describe("queue listings", () => {
  let c: BrokerCluster;
  /** Read barriers started on the listed queues' groups (all nodes) since the last reset. */
  let barriers = 0;
  const watched = new Set<string>();
  beforeAll(async () => {
    c = await BrokerCluster.start(3);
    for (const n of c.nodes) {
      const readIndex = n.host.readIndex.bind(n.host);
      n.host.readIndex = (group) => {
        if (watched.has(group)) barriers++;
        return readIndex(group);
      };
    }
  });
  afterAll(async () => {
    await c.close();
  });

  it("list every queue's figures from its leader without a read barrier, and leave idle groups quiesced", async () => {
    const names = ["idle-a", "idle-b", "idle-c", "idle-d"];
    for (const name of names) await declareLed(c, c.node("n1").broker, name);
    await publishText(c.node("n2").broker, "idle-b", "one");
    const groups = await Promise.all(
      names.map(async (name) => (await c.node("n1").broker.getQueue("/", name))!.record.group!),
    );
    const leaderOf = (group: string) => c.node(c.node("n1").host.leaderOf(group)!);
    await eventually("every queue group quiesced at its leader", () =>
      groups.every((g) => leaderOf(g).host.status(g).quiesced),
    );

    for (const g of groups) watched.add(g);
    barriers = 0;
    for (const n of c.nodes) {
      const listed = await n.broker.listQueues("/");
      const byName = new Map(listed.map((q) => [q.record.name, q]));
      for (const [i, name] of names.entries()) {
        expect(byName.get(name)).toMatchObject({
          messages: name === "idle-b" ? 1 : 0,
          state: "running",
          leader: leaderOf(groups[i]!).id,
        });
      }
    }
    // Before: one barrier per queue and listing, each waking the group at its leader.
    expect(barriers).toBe(0);
    expect(groups.every((g) => leaderOf(g).host.status(g).quiesced)).toBe(true);

    // One queue's GET still reads behind a barrier (a confirmed message never counts 0).
    expect((await c.node("n3").broker.getQueue("/", "idle-b"))?.messages).toBe(1);
    expect(barriers).toBeGreaterThan(0);
  });

  it("one queue's GET during an election waits for the new leader: a confirmed message is not counted 0", async () => {
    const leaderId = (await declareLed(c, c.node("n1").broker, "elected")).leader!;
    const [s, t] = c.nodes.filter((n) => n.id !== leaderId) as [TestNode, TestNode];
    expect(await publishText(s.broker, "elected", "kept")).toEqual({ kind: "routed", queues: 1 });
    // The survivors cannot reach each other: once the leader is gone no member knows a leader
    // (and none can be elected) as the GET starts. Their links come back while it runs.
    const addrS = s.transport.address();
    const addrT = t.transport.address();
    s.transport.removePeer(t.id);
    t.transport.removePeer(s.id);
    await c.kill(leaderId);
    const got = s.broker.getQueue("/", "elected");
    s.transport.setPeer(t.id, addrT);
    t.transport.setPeer(s.id, addrS);
    // Before: at once `state: "minority"` with every figure 0, for a queue with a majority alive.
    expect(await got).toMatchObject({ messages: 1, messagesReady: 1, state: "running" });
  });
});
