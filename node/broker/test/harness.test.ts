/**
 * The broker test harness cleans up after itself: a cluster's data directories are gone after
 * `close()`, also when stopping a node fails.
 */
import { existsSync } from "node:fs";
import { expect, it } from "vitest";
import { BrokerCluster } from "./harness.js";

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
