/**
 * Restarts: metadata and every confirmed message survive a restart of all three nodes (with
 * frequent snapshots, so recovery goes through snapshot restore + live entries), and a node that
 * was down catches up (a snapshot from the leader rebuilds its routing and queue groups).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeStorage } from "../../../raft/storage/index.js";
import {
  BrokerCluster,
  client,
  durableExchange,
  eventually,
  quorumQueue,
  recorder,
  str,
  text,
} from "./harness.js";

describe("restarting nodes", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3, {}, { snapshotEvery: 8 });
  });
  afterAll(async () => {
    await c.close();
  });

  it("keeps metadata and every confirmed message across a restart of all three nodes", async () => {
    const n1 = c.node("n1");
    const ctx = client(n1);
    await n1.broker.declareExchange(ctx, durableExchange("events", "topic"));
    await n1.broker.declareQueue(ctx, quorumQueue("kept"));
    await n1.broker.bind(ctx, {
      source: "events",
      destinationKind: "queue",
      destination: "kept",
      routingKey: "a.#",
      arguments: {},
    });
    await n1.broker.putUser("guest", "bob", { password: "pw", tags: [] });
    for (let i = 0; i < 30; i++) {
      const out = await n1.broker.publish(ctx, {
        exchange: "events",
        routingKey: "a.b",
        properties: { messageId: `m${i}` },
        body: text(`m${i}`),
        mandatory: false,
      });
      expect(out.kind).toBe("routed");
    }
    // Consume and ack a few so the queue's snapshot has settled and live messages.
    for (let i = 0; i < 5; i++) {
      const got = await n1.broker.get(ctx, 1, "kept", false);
      await n1.broker.settle(ctx, 1, "kept", "ack", [got!.id]);
    }

    await Promise.all(c.nodes.map((n) => c.kill(n.id)));
    await Promise.all(["n1", "n2", "n3"].map((id) => c.restart(id)));
    const n2 = c.node("n2");
    await eventually("the cluster ready again", () => c.nodes.every((n) => n.broker.isReady()));
    expect(n2.broker.getExchange("/", "events")?.type).toBe("topic");
    expect(n2.broker.listBindings({ vhost: "/", source: "events" })).toHaveLength(1);
    expect((await n2.broker.authenticate("bob", "pw", "127.0.0.1")).name).toBe("bob");
    const info = await eventually("the queue led again", async () => {
      const q = await n2.broker.getQueue("/", "kept");
      return q?.state === "running" ? q : undefined;
    });
    expect(info.messages).toBe(25);

    const sink = recorder();
    const ctx2 = client(n2);
    await n2.broker.consume(
      ctx2,
      {
        queue: "kept",
        channel: 1,
        consumerTag: "",
        prefetch: 0,
        noAck: false,
        exclusive: false,
        arguments: {},
      },
      sink,
    );
    await eventually("every message after the restart", () => sink.deliveries.length === 25);
    expect(sink.deliveries.map((d) => str(d.body))).toEqual(
      Array.from({ length: 25 }, (_, i) => `m${i + 5}`),
    );
    // The routing mirror was rebuilt: a new publish routes again.
    const out = await n2.broker.publish(ctx2, {
      exchange: "events",
      routingKey: "a.z",
      properties: {},
      body: text("after"),
      mandatory: true,
    });
    expect(out).toEqual({ kind: "routed", queues: 1 });
  }, 60_000);

  it("lets a node that was down catch up with metadata it missed", async () => {
    const n1 = c.node("n1");
    const ctx = client(n1);
    const orphan = await n1.broker.declareQueue(ctx, quorumQueue("orphan"));
    const orphanGroup = orphan.queue.group!;
    await eventually("the orphan's replica stored on n3", async () =>
      (await c.node("n3").storage.groups()).includes(orphanGroup),
    );
    await c.kill("n3");
    await n1.broker.deleteQueue(ctx, "orphan", { ifUnused: false, ifEmpty: false });
    for (let i = 0; i < 12; i++) {
      await n1.broker.declareQueue(ctx, quorumQueue(`missed-${i}`));
    }
    await n1.broker.deleteQueue(ctx, "missed-0", { ifUnused: false, ifEmpty: false });
    // Data of a queue group that no metadata mentions any more (as a crash between the delete
    // and the removal of its replica leaves behind).
    const ghost = "q:/:ghost:999999";
    const disk = await NodeStorage.open(c.node("n3").dir);
    await disk.load(ghost);
    disk.stage(ghost, { hardState: { term: 1, vote: "", commit: 0 } });
    await disk.flush();
    await disk.close();
    const n3 = await c.restart("n3");
    await eventually(
      "n3 caught up",
      () =>
        n3.broker.getExchange("/", "events") !== undefined &&
        n3.broker.listQueues().then((qs) => qs.length === 12),
    );
    const out = await n3.broker.publish(client(n3), {
      exchange: "",
      routingKey: "missed-11",
      properties: {},
      body: text("x"),
      mandatory: true,
    });
    expect(out).toEqual({ kind: "routed", queues: 1 });
    expect(await n3.broker.getQueue("/", "missed-0")).toBeUndefined();
    // The deleted queue's replica data does not linger on n3 (it learned of the deletion from a
    // snapshot, not from a change event).
    await eventually("the orphan's data removed", async () => {
      const groups = await n3.storage.groups();
      return !groups.includes(orphanGroup) && !groups.includes(ghost);
    });
  }, 60_000);
});
