import { describe, expect, it } from "vitest";
import { MetaMachine } from "../machine.js";
import { declareQueue, Harness } from "./harness.js";

describe("queue members (rabbitmq-queues add_member / delete_member)", () => {
  it("add_member records the node and keeps the members the group was created with", () => {
    const h = new Harness();
    const q = h.ok(declareQueue("q", { durable: true })).queue;
    const r = h.ok({ type: "queue.add-member", vhost: "/", name: "q", node: "n4" });
    expect(r.changed).toBe(true);
    expect(r.queue).toMatchObject({
      members: ["n1", "n2", "n3", "n4"],
      initialMembers: ["n1", "n2", "n3"],
      group: q.group,
    });
    expect(r.changes).toEqual([{ type: "queue-placement-changed", queue: r.queue }]);
    // Adding it again changes nothing.
    const again = h.ok({ type: "queue.add-member", vhost: "/", name: "q", node: "n4" });
    expect(again.changed).toBe(false);
    expect(again.changes).toEqual([]);
  });

  it("delete_member removes the node, moves the preferred leader, and never removes the last member", () => {
    const h = new Harness();
    h.ok(declareQueue("q", { durable: true, placement: { members: ["n1", "n2"], leader: "n1" } }));
    const r = h.ok({ type: "queue.remove-member", vhost: "/", name: "q", node: "n1" });
    expect(r.queue).toMatchObject({ members: ["n2"], leader: "n2", initialMembers: ["n1", "n2"] });
    expect(h.ok({ type: "queue.remove-member", vhost: "/", name: "q", node: "n1" }).changed).toBe(false);
    expect(h.fail({ type: "queue.remove-member", vhost: "/", name: "q", node: "n2" })).toEqual({
      code: "PRECONDITION_FAILED",
      message: "cannot remove 'n2': it is the last member of queue 'q' in vhost '/'",
    });
  });

  it("refuses missing queues and queues that are not quorum queues", () => {
    const h = new Harness();
    h.ok(declareQueue("t"));
    expect(h.fail({ type: "queue.add-member", vhost: "/", name: "nope", node: "n4" }).code).toBe("NOT_FOUND");
    expect(h.fail({ type: "queue.add-member", vhost: "/", name: "t", node: "n4" })).toEqual({
      code: "PRECONDITION_FAILED",
      message: "queue 't' in vhost '/' is not a quorum queue",
    });
  });
});

describe("cluster nodes (join_cluster / forget_cluster_node)", () => {
  it("a joining node is recorded with its addresses; joining again with the same ones changes nothing", () => {
    const h = new Harness();
    const r = h.ok({ type: "node.join", node: "n4", raft: "10.0.0.4:25672", http: "10.0.0.4:15672" });
    expect(r.joined).toBe(true);
    expect(r.changes).toEqual([{ type: "node-joined", node: r.node }]);
    expect(h.machine.clusterNodes()).toEqual([
      { id: "n4", raft: "10.0.0.4:25672", http: "10.0.0.4:15672", joinedIndex: 1 },
    ]);
    expect(
      h.ok({ type: "node.join", node: "n4", raft: "10.0.0.4:25672", http: "10.0.0.4:15672" }).changes,
    ).toEqual([]);
  });

  it("forgetting a node takes it out of every queue, puts the replacements in, deletes its transient queues", () => {
    const h = new Harness();
    h.ok({ type: "node.join", node: "n4", raft: "h:4" });
    h.ok(declareQueue("a", { durable: true }));
    h.ok(declareQueue("b", { durable: true, placement: { members: ["n3", "n1"], leader: "n3" } }));
    h.ok(declareQueue("c", { durable: true, placement: { members: ["n1", "n2"], leader: "n1" } }));
    h.ok(declareQueue("t", { node: "n3" }));
    const r = h.ok({
      type: "node.forget",
      node: "n3",
      replacements: [{ vhost: "/", name: "a", node: "n4" }],
    });
    expect(r).toMatchObject({ forgotten: true, queues: 2 });
    expect(h.machine.queue("/", "a")?.members).toEqual(["n1", "n2", "n4"]);
    expect(h.machine.queue("/", "b")).toMatchObject({ members: ["n1"], leader: "n1" });
    expect(h.machine.queue("/", "c")?.members).toEqual(["n1", "n2"]);
    expect(h.machine.queue("/", "t")).toBeUndefined();
    expect(r.changes.map((c) => c.type)).toEqual([
      "queue-placement-changed",
      "queue-placement-changed",
      "queue-deleted",
      "node-removed",
    ]);
    expect(h.machine.removedNodes()).toEqual(["n3"]);
    // A removed node never comes back under its old id.
    expect(h.fail({ type: "node.join", node: "n3", raft: "h:3" }).code).toBe("PRECONDITION_FAILED");
    expect(h.fail({ type: "queue.add-member", vhost: "/", name: "a", node: "n3" }).code).toBe(
      "PRECONDITION_FAILED",
    );
  });

  it("refuses to forget the only member of a queue (its messages exist nowhere else)", () => {
    const h = new Harness();
    h.ok(declareQueue("solo", { durable: true, placement: { members: ["n2"], leader: "n2" } }));
    expect(h.fail({ type: "node.forget", node: "n2" })).toEqual({
      code: "PRECONDITION_FAILED",
      message: "cannot forget 'n2': it is the only member of queue 'solo' in vhost '/'",
    });
  });

  it("nodes and removed nodes survive a snapshot", () => {
    const h = new Harness();
    h.ok({ type: "node.join", node: "n4", raft: "h:4" });
    h.ok({ type: "node.forget", node: "n2" });
    const copy = new MetaMachine();
    copy.restore(h.machine.snapshot());
    expect(copy.clusterNodes()).toEqual(h.machine.clusterNodes());
    expect(copy.removedNodes()).toEqual(["n2"]);
  });
});
