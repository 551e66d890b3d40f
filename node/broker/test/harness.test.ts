/**
 * The broker test harness cleans up after itself: a cluster's data directories are gone after
 * `close()`, also when stopping a node fails.
 */
import { existsSync } from "node:fs";
import { expect, it } from "vitest";
import { BrokerCluster, declareLed, eventually, publishText } from "./harness.js";

it("close() removes every node's data directory", async () => {
  const c = await BrokerCluster.start(1);
  const dirs = c.dataDirs();
  expect(dirs).toHaveLength(1);
  expect(dirs.every((d) => existsSync(d))).toBe(true);
  await c.close();
  expect(dirs.filter((d) => existsSync(d))).toEqual([]);
});

it("close() removes the directories even when a node fails to stop, and reports the failure", async () => {
  const c = await BrokerCluster.start(1);
  const dirs = c.dataDirs();
  const node = c.nodes[0]!;
  const closeTransport = node.transport.close.bind(node.transport);
  node.transport.close = async () => {
    await closeTransport();
    throw new Error("transport refused to close");
  };
  await expect(c.close()).rejects.toThrow("transport refused to close");
  // kill() stopped at the transport: close the storage it did not reach.
  await node.storage.close();
  expect(dirs.filter((d) => existsSync(d))).toEqual([]);
});

it("deposeUnnoticed works right after a commit, while a follower's append ack is still on its way", async () => {
  // A publish resolves once a majority has the entry: the other follower's ack can still be in
  // flight. The transfer must not wait for that ack among the frames the deposed leader holds.
  const c = await BrokerCluster.start(3);
  try {
    const info = await declareLed(c, c.node("n1").broker, "deposed");
    const group = info.record.group!;
    let leader = info.leader!;
    for (let round = 0; round < 6; round++) {
      await publishText(c.node(leader).broker, "deposed", `m${round}`);
      const others = c.nodes.map((n) => n.id).filter((id) => id !== leader);
      const undo = await c.deposeUnnoticed(leader, group, others[round % others.length]!);
      undo();
      // Whoever leads next (the broker may hand a new queue back to its placed leader).
      leader = await eventually("one leader on every node", () => {
        const seen = new Set(c.nodes.map((n) => n.host.leaderOf(group)));
        const [only] = seen;
        return seen.size === 1 && only !== undefined ? only : undefined;
      });
    }
  } finally {
    await c.close();
  }
});
