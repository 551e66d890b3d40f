import { describe, expect, it } from "vitest";
import { bind, declareExchange, declareQueue, Harness, unbind } from "./harness.js";

describe("exchange.declare (RabbitMQ semantics)", () => {
  it("every vhost starts with the pre-declared exchanges", () => {
    const h = new Harness();
    expect(h.machine.exchanges("/").map((x) => [x.name, x.type])).toEqual([
      ["", "direct"],
      ["amq.direct", "direct"],
      ["amq.fanout", "fanout"],
      ["amq.topic", "topic"],
      ["amq.headers", "headers"],
      ["amq.match", "headers"],
    ]);
    expect(h.machine.exchange("/", "amq.topic")).toMatchObject({
      durable: true,
      autoDelete: false,
      system: true,
    });
  });

  it("declares an exchange and reports it as a change", () => {
    const h = new Harness();
    const r = h.ok(declareExchange("logs", "fanout", { durable: true }));
    expect(r.created).toBe(true);
    expect(r.exchange).toMatchObject({
      name: "logs",
      type: "fanout",
      durable: true,
      autoDelete: false,
      internal: false,
    });
    expect(r.changes).toEqual([{ type: "exchange-declared", exchange: r.exchange }]);
  });

  it("an equivalent redeclare is a no-op that returns the existing exchange", () => {
    const h = new Harness();
    const first = h.ok(declareExchange("logs", "topic", { durable: true, arguments: { foo: 1 } }));
    const again = h.ok(declareExchange("logs", "topic", { durable: true, arguments: { bar: 2 } }));
    expect(again.created).toBe(false);
    expect(again.exchange).toBe(first.exchange);
    expect(again.changes).toEqual([]);
  });

  it("a redeclare with another type is 406 naming the property", () => {
    const h = new Harness();
    h.ok(declareExchange("logs", "direct"));
    expect(h.fail(declareExchange("logs", "fanout"))).toEqual({
      code: "PRECONDITION_FAILED",
      message:
        "inequivalent arg 'type' for exchange 'logs' in vhost '/': received 'fanout' but current is 'direct'",
    });
  });

  it("a redeclare with another durable, auto_delete or internal is 406", () => {
    const h = new Harness();
    h.ok(declareExchange("x", "direct", { durable: true }));
    expect(h.fail(declareExchange("x", "direct")).message).toBe(
      "inequivalent arg 'durable' for exchange 'x' in vhost '/': received 'false' but current is 'true'",
    );
    expect(h.fail(declareExchange("x", "direct", { durable: true, autoDelete: true })).message).toBe(
      "inequivalent arg 'auto_delete' for exchange 'x' in vhost '/': received 'true' but current is 'false'",
    );
    expect(h.fail(declareExchange("x", "direct", { durable: true, internal: true })).message).toBe(
      "inequivalent arg 'internal' for exchange 'x' in vhost '/': received 'true' but current is 'false'",
    );
  });

  it("compares only alternate-exchange among the arguments", () => {
    const h = new Harness();
    h.ok(declareExchange("x", "direct", { arguments: { "alternate-exchange": "ae" } }));
    expect(h.fail(declareExchange("x", "direct")).message).toBe(
      "inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received none but current is the value 'ae' of type 'longstr'",
    );
    expect(
      h.fail(declareExchange("x", "direct", { arguments: { "alternate-exchange": "other" } })).message,
    ).toBe(
      "inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received the value 'other' of type 'longstr' but current is the value 'ae' of type 'longstr'",
    );
  });

  it("a passive declare of a missing exchange is 404", () => {
    const h = new Harness();
    expect(h.fail(declareExchange("nope", "direct", { passive: true }))).toEqual({
      code: "NOT_FOUND",
      message: "no exchange 'nope' in vhost '/'",
    });
    h.ok(declareExchange("x", "fanout"));
    // A passive declare does not compare properties.
    expect(h.ok(declareExchange("x", "direct", { passive: true })).exchange.type).toBe("fanout");
  });

  it("names starting with amq. are reserved: 403", () => {
    const h = new Harness();
    expect(h.fail(declareExchange("amq.custom", "direct"))).toEqual({
      code: "ACCESS_REFUSED",
      message: "exchange name 'amq.custom' contains reserved prefix 'amq.*'",
    });
    // Only the exact prefix: "amq" and "amqp.x" are ordinary names.
    h.ok(declareExchange("amqp.x", "direct"));
    h.ok(declareExchange("amq", "direct"));
  });

  it("redeclaring an existing amq.* exchange equivalently is allowed (the reserved check is on creation)", () => {
    const h = new Harness();
    expect(h.ok(declareExchange("amq.topic", "topic", { durable: true })).created).toBe(false);
    expect(h.fail(declareExchange("amq.topic", "topic")).code).toBe("PRECONDITION_FAILED");
  });

  it("the default exchange cannot be declared, passively or not: 403", () => {
    const h = new Harness();
    const refusal = { code: "ACCESS_REFUSED", message: "operation not permitted on the default exchange" };
    expect(h.fail(declareExchange("", "direct", { durable: true }))).toEqual(refusal);
    expect(h.fail(declareExchange("", "direct", { passive: true }))).toEqual(refusal);
  });

  it("an unknown exchange type is refused", () => {
    const h = new Harness();
    expect(h.fail(declareExchange("x", "x-unknown"))).toEqual({
      code: "PRECONDITION_FAILED",
      message: "unknown exchange type 'x-unknown'",
    });
  });

  it("accepts every exchange type Warren routes, including x-consistent-hash", () => {
    const h = new Harness();
    for (const t of ["direct", "fanout", "topic", "headers", "x-consistent-hash"])
      h.ok(declareExchange(`x-${t}`, t));
  });

  it("alternate-exchange must be a string", () => {
    const h = new Harness();
    expect(h.fail(declareExchange("x", "direct", { arguments: { "alternate-exchange": 5 } })).message).toBe(
      "invalid type 'long' for arg 'alternate-exchange' in exchange 'x' in vhost '/'",
    );
  });

  it("x-consistent-hash: hash-header and hash-property are mutually exclusive; properties are checked", () => {
    const h = new Harness();
    expect(
      h.fail(
        declareExchange("c", "x-consistent-hash", {
          arguments: { "hash-header": "h", "hash-property": "message_id" },
        }),
      ).message,
    ).toBe("hash-header and hash-property are mutually exclusive");
    expect(
      h.fail(declareExchange("c", "x-consistent-hash", { arguments: { "hash-property": "app_id" } })).message,
    ).toBe("Unsupported property: app_id");
    h.ok(declareExchange("c", "x-consistent-hash", { arguments: { "hash-property": "message_id" } }));
  });

  it("strips CR and LF from names, as RabbitMQ", () => {
    const h = new Harness();
    expect(h.ok(declareExchange("lo\r\ngs", "direct")).exchange.name).toBe("logs");
  });
});

describe("exchange.delete (RabbitMQ semantics)", () => {
  it("deleting a missing exchange is a no-op", () => {
    const h = new Harness();
    expect(h.ok({ type: "exchange.delete", vhost: "/", name: "nope" }).deleted).toBe(false);
  });

  it("the default exchange cannot be deleted; system exchanges neither", () => {
    const h = new Harness();
    expect(h.fail({ type: "exchange.delete", vhost: "/", name: "" }).message).toBe(
      "operation not permitted on the default exchange",
    );
    expect(h.fail({ type: "exchange.delete", vhost: "/", name: "amq.direct" })).toEqual({
      code: "ACCESS_REFUSED",
      message: "deletion of system exchange 'amq.direct' in vhost '/' not allowed",
    });
  });

  it("if-unused refuses while the exchange is the source of a binding", () => {
    const h = new Harness();
    h.ok(declareExchange("x", "direct"));
    h.ok(declareQueue("q"));
    h.ok(bind("x", "q", "k"));
    expect(h.fail({ type: "exchange.delete", vhost: "/", name: "x", ifUnused: true })).toEqual({
      code: "PRECONDITION_FAILED",
      message: "exchange 'x' in vhost '/' in use",
    });
    h.ok(unbind("x", "q", "k"));
    expect(h.ok({ type: "exchange.delete", vhost: "/", name: "x", ifUnused: true }).deleted).toBe(true);
  });

  it("if-unused ignores bindings where the exchange is the destination", () => {
    const h = new Harness();
    h.ok(declareExchange("src", "fanout"));
    h.ok(declareExchange("dst", "fanout"));
    h.ok(bind("src", "dst", "", { destinationKind: "exchange" }));
    const r = h.ok({ type: "exchange.delete", vhost: "/", name: "dst", ifUnused: true });
    expect(r.deleted).toBe(true);
    expect(h.machine.bindings({ vhost: "/" })).toEqual([]);
  });

  it("deleting an exchange removes its bindings, then reports the exchange", () => {
    const h = new Harness();
    h.ok(declareExchange("x", "topic"));
    h.ok(declareQueue("q1"));
    h.ok(declareQueue("q2"));
    h.ok(bind("x", "q1", "a.#"));
    h.ok(bind("x", "q2", "b.*"));
    const r = h.ok({ type: "exchange.delete", vhost: "/", name: "x" });
    expect(r.changes.map((c) => c.type)).toEqual(["binding-removed", "binding-removed", "exchange-deleted"]);
    expect(h.machine.bindings()).toEqual([]);
    expect(h.machine.queue("/", "q1")).toBeDefined();
  });
});

describe("auto-delete exchanges (RabbitMQ semantics)", () => {
  it("an auto-delete exchange is deleted when its last binding is removed, not before it has one", () => {
    const h = new Harness();
    h.ok(declareExchange("ad", "direct", { autoDelete: true }));
    h.ok(declareQueue("q"));
    h.ok(bind("ad", "q", "a"));
    h.ok(bind("ad", "q", "b"));
    expect(h.ok(unbind("ad", "q", "a")).changes.map((c) => c.type)).toEqual(["binding-removed"]);
    const last = h.ok(unbind("ad", "q", "b"));
    expect(last.changes.map((c) => c.type)).toEqual(["binding-removed", "exchange-deleted"]);
    expect(last.changes[1]).toMatchObject({ reason: "auto-delete" });
    expect(h.machine.exchange("/", "ad")).toBeUndefined();
  });

  it("deleting the last bound queue deletes the auto-delete exchange", () => {
    const h = new Harness();
    h.ok(declareExchange("ad", "fanout", { autoDelete: true }));
    h.ok(declareQueue("q"));
    h.ok(bind("ad", "q"));
    const r = h.ok({ type: "queue.delete", vhost: "/", name: "q" });
    expect(r.changes.map((c) => c.type)).toEqual(["binding-removed", "queue-deleted", "exchange-deleted"]);
  });

  it("auto-deletion cascades through exchange-to-exchange bindings", () => {
    const h = new Harness();
    h.ok(declareExchange("a", "fanout", { autoDelete: true }));
    h.ok(declareExchange("b", "fanout", { autoDelete: true }));
    h.ok(declareQueue("q"));
    h.ok(bind("a", "b", "", { destinationKind: "exchange" }));
    h.ok(bind("b", "q"));
    const r = h.ok(unbind("b", "q"));
    // b loses its last binding and goes; with it goes a -> b, a's last binding, so a goes too.
    expect(r.changes.map((c) => c.type)).toEqual([
      "binding-removed",
      "binding-removed",
      "exchange-deleted",
      "exchange-deleted",
    ]);
    expect(h.machine.exchange("/", "a")).toBeUndefined();
    expect(h.machine.exchange("/", "b")).toBeUndefined();
  });
});
