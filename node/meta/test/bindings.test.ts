import { describe, expect, it } from "vitest";
import { bind, declareExchange, declareQueue, Harness, unbind } from "./harness.js";

function setup(): Harness {
  const h = new Harness();
  h.ok(declareExchange("x", "topic"));
  h.ok(declareQueue("q"));
  return h;
}

describe("queue.bind / exchange.bind (RabbitMQ semantics)", () => {
  it("adds a binding and reports it", () => {
    const h = setup();
    const r = h.ok(bind("x", "q", "a.#"));
    expect(r.created).toBe(true);
    const binding = {
      vhost: "/",
      source: "x",
      destinationKind: "queue",
      destination: "q",
      routingKey: "a.#",
      arguments: {},
    };
    expect(r.changes).toEqual([{ type: "binding-added", binding }]);
    expect(h.machine.bindings({ vhost: "/" })).toEqual([binding]);
  });

  it("binding twice is a no-op: identity is source, destination, key and arguments (in any key order)", () => {
    const h = setup();
    h.ok(declareExchange("hx", "headers"));
    h.ok(bind("hx", "q", "", { arguments: { "x-match": "any", a: 1, b: "2" } }));
    const again = h.ok(bind("hx", "q", "", { arguments: { b: "2", a: 1, "x-match": "any" } }));
    expect(again.created).toBe(false);
    expect(again.changes).toEqual([]);
    // Different arguments make a different binding.
    expect(h.ok(bind("hx", "q", "", { arguments: { "x-match": "all", a: 1, b: "2" } })).created).toBe(true);
    expect(h.ok(bind("hx", "q", "other", { arguments: { "x-match": "any", a: 1, b: "2" } })).created).toBe(
      true,
    );
    expect(h.machine.bindings({ vhost: "/", source: "hx" })).toHaveLength(3);
  });

  it("binding to or from the default exchange is 403", () => {
    const h = setup();
    const refusal = { code: "ACCESS_REFUSED", message: "operation not permitted on the default exchange" };
    expect(h.fail(bind("", "q", "q"))).toEqual(refusal);
    expect(h.fail(bind("x", "", "k", { destinationKind: "exchange" }))).toEqual(refusal);
    expect(h.fail(unbind("", "q", "q"))).toEqual(refusal);
  });

  it("a missing source exchange is 404, checked before the destination", () => {
    const h = setup();
    expect(h.fail(bind("nope", "nada", "k"))).toEqual({
      code: "NOT_FOUND",
      message: "no exchange 'nope' in vhost '/'",
    });
    expect(h.fail(bind("x", "nada", "k"))).toEqual({
      code: "NOT_FOUND",
      message: "no queue 'nada' in vhost '/'",
    });
    expect(h.fail(bind("x", "nada", "k", { destinationKind: "exchange" }))).toEqual({
      code: "NOT_FOUND",
      message: "no exchange 'nada' in vhost '/'",
    });
  });

  it("binds an exchange to an exchange, and to itself", () => {
    const h = setup();
    h.ok(declareExchange("y", "fanout"));
    expect(h.ok(bind("x", "y", "#", { destinationKind: "exchange" })).created).toBe(true);
    expect(h.ok(bind("y", "y", "", { destinationKind: "exchange" })).created).toBe(true);
    expect(h.machine.bindings({ vhost: "/", destination: { kind: "exchange", name: "y" } })).toHaveLength(2);
  });

  it("headers bindings: x-match must be all, any, all-with-x or any-with-x", () => {
    const h = setup();
    h.ok(declareExchange("hx", "headers"));
    for (const m of ["all", "any", "all-with-x", "any-with-x"])
      h.ok(bind("hx", "q", "", { arguments: { "x-match": m } }));
    expect(h.fail(bind("hx", "q", "", { arguments: { "x-match": "bogus" } }))).toEqual({
      code: "PRECONDITION_FAILED",
      message: 'Invalid x-match field value <<"bogus">>; expected all, any, all-with-x, or any-with-x',
    });
    expect(h.fail(bind("hx", "q", "", { arguments: { "x-match": 1 } })).message).toBe(
      "Invalid x-match field type long (value 1); expected longstr",
    );
  });

  it("x-consistent-hash bindings: the key is a positive integer weight", () => {
    const h = setup();
    h.ok(declareExchange("ch", "x-consistent-hash"));
    h.ok(bind("ch", "q", "10"));
    expect(h.fail(bind("ch", "q", "ten")).message).toBe('The binding key must be an integer: <<"ten">>');
    expect(h.fail(bind("ch", "q", "0")).message).toBe("The binding key must be greater than 0");
  });

  it("another connection cannot bind an exclusive queue: 405", () => {
    const h = setup();
    h.ok(declareQueue("ex", { exclusive: true, connection: "c1" }));
    expect(h.fail(bind("x", "ex", "k", { connection: "c2" })).code).toBe("RESOURCE_LOCKED");
    expect(h.fail(bind("x", "ex", "k")).code).toBe("RESOURCE_LOCKED");
    h.ok(bind("x", "ex", "k", { connection: "c1" }));
    expect(h.fail(unbind("x", "ex", "k", { connection: "c2" })).code).toBe("RESOURCE_LOCKED");
  });

  it("the DLX tutorial: an exclusive server-named queue bound to a topic exchange with #", () => {
    const h = new Harness();
    h.ok(declareExchange("tizi365.dead", "topic", { durable: true }));
    const q = h.ok(
      declareQueue("", { exclusive: true, connection: "n1/3", generatedName: "amq.gen-1f0a9c" }),
    ).queue;
    h.ok(bind("tizi365.dead", q.name, "#", { connection: "n1/3" }));
    h.ok(
      declareQueue("tizi365.demo.hello", {
        durable: true,
        arguments: { "x-dead-letter-exchange": "tizi365.dead" },
      }),
    );
    expect(h.machine.bindings({ vhost: "/", source: "tizi365.dead" })).toMatchObject([
      { destination: "amq.gen-1f0a9c", routingKey: "#" },
    ]);
  });
});

describe("queue.unbind / exchange.unbind (RabbitMQ semantics)", () => {
  it("removes the binding", () => {
    const h = setup();
    h.ok(bind("x", "q", "k"));
    const r = h.ok(unbind("x", "q", "k"));
    expect(r.removed).toBe(true);
    expect(r.changes.map((c) => c.type)).toEqual(["binding-removed"]);
    expect(h.machine.bindings({ vhost: "/" })).toEqual([]);
  });

  it("unbinding a binding, source or destination that does not exist is a silent no-op", () => {
    const h = setup();
    expect(h.ok(unbind("x", "q", "never")).removed).toBe(false);
    expect(h.ok(unbind("nope", "q", "k")).removed).toBe(false);
    expect(h.ok(unbind("x", "nada", "k")).removed).toBe(false);
  });
});

describe("listing bindings", () => {
  it("includes the default exchange's implicit bindings when asked, as RabbitMQ lists them", () => {
    const h = setup();
    h.ok(bind("x", "q", "k"));
    expect(h.machine.bindings({ vhost: "/", includeImplicit: true })).toEqual([
      { vhost: "/", source: "", destinationKind: "queue", destination: "q", routingKey: "q", arguments: {} },
      { vhost: "/", source: "x", destinationKind: "queue", destination: "q", routingKey: "k", arguments: {} },
    ]);
    expect(h.machine.bindings({ vhost: "/", source: "x", includeImplicit: true })).toHaveLength(1);
    expect(
      h.machine.bindings({ vhost: "/", destination: { kind: "queue", name: "q" }, includeImplicit: true }),
    ).toHaveLength(2);
  });
});
