import { describe, expect, it } from "vitest";
import { WarrenError } from "../../errors.js";
import { unwrapReply } from "../reply.js";
import { bind, declareExchange, declareQueue, Harness } from "./harness.js";

describe("queue.delete (RabbitMQ semantics)", () => {
  it("deleting a queue removes its bindings first and reports the deleted queue", () => {
    const h = new Harness();
    h.ok(declareExchange("x", "direct"));
    const q = h.ok(declareQueue("q", { durable: true })).queue;
    h.ok(bind("x", "q", "a"));
    h.ok(bind("x", "q", "b"));
    const r = h.ok({ type: "queue.delete", vhost: "/", name: "q" });
    expect(r).toMatchObject({ deleted: true, queue: q });
    expect(r.changes.map((c) => c.type)).toEqual(["binding-removed", "binding-removed", "queue-deleted"]);
    expect(r.changes[2]).toEqual({ type: "queue-deleted", queue: q, reason: "deleted" });
    expect(h.machine.queue("/", "q")).toBeUndefined();
    expect(h.machine.bindings()).toEqual([]);
  });

  it("deleting a missing queue is delete-ok, not an error", () => {
    const h = new Harness();
    expect(h.ok({ type: "queue.delete", vhost: "/", name: "nope" })).toMatchObject({
      deleted: false,
      queue: undefined,
    });
  });

  it("if-unused refuses while the queue has consumers", () => {
    const h = new Harness();
    h.ok(declareQueue("q", { durable: true }));
    expect(
      h.fail({
        type: "queue.delete",
        vhost: "/",
        name: "q",
        ifUnused: true,
        observed: { consumers: 1, messages: 0 },
      }),
    ).toEqual({ code: "PRECONDITION_FAILED", message: "queue 'q' in vhost '/' in use" });
    expect(
      h.ok({
        type: "queue.delete",
        vhost: "/",
        name: "q",
        ifUnused: true,
        observed: { consumers: 0, messages: 9 },
      }).deleted,
    ).toBe(true);
  });

  it("if-empty refuses while the queue has messages", () => {
    const h = new Harness();
    h.ok(declareQueue("q", { durable: true }));
    expect(
      h.fail({
        type: "queue.delete",
        vhost: "/",
        name: "q",
        ifEmpty: true,
        observed: { consumers: 0, messages: 3 },
      }),
    ).toEqual({ code: "PRECONDITION_FAILED", message: "queue 'q' in vhost '/' not empty" });
  });

  it("if-unused / if-empty without the observed counts is a node-layer bug, refused", () => {
    const h = new Harness();
    h.ok(declareQueue("q"));
    expect(h.fail({ type: "queue.delete", vhost: "/", name: "q", ifEmpty: true }).code).toBe(
      "INTERNAL_ERROR",
    );
  });

  it("another connection cannot delete an exclusive queue: 405", () => {
    const h = new Harness();
    h.ok(declareQueue("ex", { exclusive: true, connection: "c1" }));
    expect(h.fail({ type: "queue.delete", vhost: "/", name: "ex", connection: "c2" }).code).toBe(
      "RESOURCE_LOCKED",
    );
    expect(h.ok({ type: "queue.delete", vhost: "/", name: "ex", connection: "c1" }).deleted).toBe(true);
  });
});

describe("queues that go away on their own", () => {
  it("a closed connection takes its exclusive queues (and their bindings) with it", () => {
    const h = new Harness();
    h.ok(declareExchange("x", "fanout"));
    h.ok(declareQueue("a", { exclusive: true, connection: "c1" }));
    h.ok(declareQueue("b", { exclusive: true, connection: "c1" }));
    h.ok(declareQueue("c", { exclusive: true, connection: "c2" }));
    h.ok(bind("x", "a", "", { connection: "c1" }));
    const r = h.ok({ type: "connection.closed", connection: "c1" });
    expect(r.deletedQueues).toBe(2);
    expect(r.changes.map((c) => c.type)).toEqual(["binding-removed", "queue-deleted", "queue-deleted"]);
    expect(r.changes.filter((c) => c.type === "queue-deleted").map((c) => c.reason)).toEqual([
      "owner-closed",
      "owner-closed",
    ]);
    expect(h.machine.queues().map((q) => q.name)).toEqual(["c"]);
  });

  it("a node that lost its memory loses its transient queues, not its replicated ones", () => {
    const h = new Harness();
    h.ok(declareQueue("t1", { node: "n2" }));
    h.ok(declareQueue("t2", { node: "n3" }));
    h.ok(declareQueue("ex", { node: "n2", exclusive: true, connection: "n2/1" }));
    h.ok(
      declareQueue("durable", {
        node: "n2",
        durable: true,
        placement: { members: ["n2", "n3"], leader: "n2" },
      }),
    );
    const r = h.ok({ type: "node.down", node: "n2" });
    expect(r.deletedQueues).toBe(2);
    expect(r.changes.map((c) => c.type === "queue-deleted" && [c.queue.name, c.reason])).toEqual([
      ["t1", "home-node-down"],
      ["ex", "home-node-down"],
    ]);
    expect(h.machine.queues().map((q) => q.name)).toEqual(["t2", "durable"]);
  });

  it("auto-delete: the node layer proposes it when the last consumer cancels", () => {
    const h = new Harness();
    const q = h.ok(declareQueue("ad", { autoDelete: true })).queue;
    const r = h.ok({
      type: "queue.delete-internal",
      vhost: "/",
      name: "ad",
      incarnation: q.createdIndex,
      reason: "auto-delete",
    });
    expect(r.deleted).toBe(true);
    expect(r.changes).toEqual([{ type: "queue-deleted", queue: q, reason: "auto-delete" }]);
  });

  it("auto-delete of a queue that is not auto-delete, or of an older incarnation, does nothing", () => {
    const h = new Harness();
    const plain = h.ok(declareQueue("plain")).queue;
    expect(
      h.ok({
        type: "queue.delete-internal",
        vhost: "/",
        name: "plain",
        incarnation: plain.createdIndex,
        reason: "auto-delete",
      }).deleted,
    ).toBe(false);
    const old = h.ok(declareQueue("ad", { autoDelete: true })).queue;
    h.ok({ type: "queue.delete", vhost: "/", name: "ad" });
    h.ok(declareQueue("ad", { autoDelete: true }));
    const late = h.ok({
      type: "queue.delete-internal",
      vhost: "/",
      name: "ad",
      incarnation: old.createdIndex,
      reason: "auto-delete",
    });
    expect(late.deleted).toBe(false);
    expect(h.machine.queue("/", "ad")).toBeDefined();
  });

  it("x-expires: the queue is deleted with reason expired", () => {
    const h = new Harness();
    const q = h.ok(declareQueue("tmp", { durable: true, arguments: { "x-expires": 1000 } })).queue;
    const r = h.ok({
      type: "queue.delete-internal",
      vhost: "/",
      name: "tmp",
      incarnation: q.createdIndex,
      reason: "expired",
    });
    expect(r.changes).toEqual([{ type: "queue-deleted", queue: q, reason: "expired" }]);
  });

  it("a queue declared again after deletion gets a new Raft group", () => {
    const h = new Harness();
    const first = h.ok(declareQueue("q", { durable: true })).queue;
    h.ok({ type: "queue.delete", vhost: "/", name: "q" });
    const second = h.ok(declareQueue("q", { durable: true })).queue;
    expect(second.group).not.toBe(first.group);
  });
});

describe("placement updates", () => {
  it("records new members and leader of a replicated queue", () => {
    const h = new Harness();
    const q = h.ok(declareQueue("q", { durable: true })).queue;
    const r = h.ok({
      type: "queue.update-placement",
      vhost: "/",
      name: "q",
      incarnation: q.createdIndex,
      members: ["n2", "n3", "n4"],
      leader: "n3",
    });
    expect(r.updated).toBe(true);
    expect(h.machine.queue("/", "q")).toMatchObject({
      members: ["n2", "n3", "n4"],
      leader: "n3",
      group: q.group,
    });
    expect(r.changes.map((c) => c.type)).toEqual(["queue-placement-changed"]);
  });

  it("ignores transient queues and old incarnations", () => {
    const h = new Harness();
    const t = h.ok(declareQueue("t")).queue;
    const cmd = {
      type: "queue.update-placement",
      vhost: "/",
      name: "t",
      incarnation: t.createdIndex,
      members: ["n2"],
      leader: "n2",
    } as const;
    expect(h.ok(cmd).updated).toBe(false);
    expect(h.ok({ ...cmd, name: "q", incarnation: 99 }).updated).toBe(false);
  });
});

describe("virtual hosts", () => {
  it("the default vhost / exists from the start", () => {
    expect(new Harness().machine.vhosts().map((v) => v.name)).toEqual(["/"]);
  });

  it("creating a vhost declares its system exchanges; creating it again keeps its contents", () => {
    const h = new Harness();
    const r = h.ok({ type: "vhost.create", name: "prod", description: "production", tags: ["a"] });
    expect(r.created).toBe(true);
    expect(r.changes.map((c) => c.type)).toEqual(["vhost-created", ...Array(6).fill("exchange-declared")]);
    expect(h.machine.exchanges("prod")).toHaveLength(6);
    h.ok({ ...declareQueue("q"), vhost: "prod" });
    const again = h.ok({ type: "vhost.create", name: "prod", description: "prod!" });
    expect(again).toMatchObject({ created: false, changes: [] });
    expect(again.vhost).toMatchObject({ description: "prod!", tags: ["a"] });
    expect(h.machine.queue("prod", "q")).toBeDefined();
  });

  it("deleting a vhost deletes everything in it and nothing else", () => {
    const h = new Harness();
    h.ok({ type: "vhost.create", name: "v" });
    h.ok({ ...declareExchange("x", "fanout"), vhost: "v" });
    h.ok({ ...declareQueue("q", { durable: true }), vhost: "v" });
    h.ok({ ...bind("x", "q"), vhost: "v" });
    h.ok(declareQueue("keep"));
    const r = h.ok({ type: "vhost.delete", name: "v" });
    const types = r.changes.map((c) => c.type);
    expect(types[0]).toBe("binding-removed");
    expect(types.filter((t) => t === "queue-deleted")).toHaveLength(1);
    expect(types.filter((t) => t === "exchange-deleted")).toHaveLength(7);
    expect(types.at(-1)).toBe("vhost-deleted");
    expect(h.machine.vhost("v")).toBeUndefined();
    expect(h.machine.exchanges("v")).toEqual([]);
    expect(h.machine.queue("/", "keep")).toBeDefined();
  });

  it("deleting a missing vhost is 404", () => {
    expect(new Harness().fail({ type: "vhost.delete", name: "nope" })).toEqual({
      code: "NOT_FOUND",
      message: "vhost 'nope' not found",
    });
  });
});

describe("commands that break the contract are refused as data, never thrown", () => {
  it("refuses malformed commands with INTERNAL_ERROR and leaves the state alone", () => {
    const h = new Harness();
    const bad: unknown[] = [
      null,
      { type: "nope" },
      { type: "queue.declare", vhost: "/", node: "n1" },
      { type: "queue.declare", vhost: "/", name: 5, node: "n1" },
      {
        type: "binding.add",
        vhost: "/",
        source: "x",
        destinationKind: "topic",
        destination: "q",
        routingKey: "",
      },
      { type: "exchange.declare", vhost: "/", name: "x", exchangeType: "direct", arguments: [1] },
      { type: "queue.delete", vhost: "/", name: "q", observed: { consumers: "1", messages: 0 } },
    ];
    for (const cmd of bad) {
      // biome-ignore lint/suspicious/noExplicitAny: malformed on purpose
      expect(h.fail(cmd as any).code).toBe("INTERNAL_ERROR");
    }
  });
});

describe("replies for the doors", () => {
  it("unwrapReply returns the payload or throws the WarrenError the doors render", () => {
    const h = new Harness();
    expect(unwrapReply(h.run(declareQueue("q")).reply).created).toBe(true);
    let thrown: unknown;
    try {
      unwrapReply(h.run(declareQueue("q", { durable: true })).reply);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(WarrenError);
    expect((thrown as WarrenError).amqp?.replyText).toBe(
      "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'true' but current is 'false'",
    );
  });
});
