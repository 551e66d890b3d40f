/**
 * A node that joined the running cluster and is restarted WITHOUT `join` (the operator dropped
 * the flag, as etcd ignores `--initial-cluster-state` once the data directory exists) comes back
 * as the member it was: its stored metadata replica, not the flag, says what the cluster is.
 * Both with the metadata log replayed from its first entry (no snapshot: the configuration at
 * index 0 it starts from is not the one the cluster started with) and from a snapshot.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { META_GROUP } from "../meta-client.js";
import { BrokerCluster, declareQueue, drainBodies, eventually, publishText } from "./harness.js";

for (const snapshotEvery of [undefined, 20]) {
  const how = snapshotEvery === undefined ? "its metadata log replayed" : "a metadata snapshot";
  describe(`a joined node restarted without join, from ${how}`, () => {
    let c: BrokerCluster;
    beforeAll(async () => {
      c = await BrokerCluster.start(3, {}, snapshotEvery !== undefined ? { snapshotEvery } : {});
    });
    afterAll(async () => {
      await c.close();
    });

    it("comes back as a voter with its queue replica, and serves metadata changes", async () => {
      const n4 = await c.join("n4");
      await eventually("n4 joined", () => n4.broker.isReady(), 20_000);
      // Enough metadata entries for a snapshot in the second run.
      for (let i = 0; i < 25; i++) await declareQueue(n4.broker, `filler-${i}`);
      await declareQueue(n4.broker, "kept");
      await n4.broker.addQueueMember("guest", "/", "kept", "n4", { timeoutMs: 20_000 });
      for (const body of ["a", "b"]) expect((await publishText(n4.broker, "kept", body)).kind).toBe("routed");

      await c.kill("n4");
      const back = await c.restart("n4", { join: false });
      await eventually("n4 ready again", () => back.broker.isReady(), 20_000);
      expect(back.host.status(META_GROUP).conf.voters).toContain("n4");
      const stored = await back.storage.load(META_GROUP);
      expect(stored.snapshot !== undefined, "n4 recovered from a snapshot").toBe(snapshotEvery !== undefined);
      const members = await eventually("the queue's group settled with n4", async () => {
        const m = await back.broker.queueMembers("/", "kept");
        return m.settled && m.voters.includes("n4") ? m : undefined;
      });
      expect(members.members).toContain("n4");
      const seen = await c.node("n1").broker.listNodes();
      expect(seen.find((n) => n.name === "n4")?.running).toBe(true);
      // A metadata change through the restarted node, and the messages it replicated.
      await declareQueue(back.broker, "after-restart");
      expect((await back.broker.getQueue("/", "after-restart"))?.record.name).toBe("after-restart");
      expect(await drainBodies(back.broker, "kept")).toEqual(["a", "b"]);
    });
  });
}
