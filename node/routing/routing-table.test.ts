import { describe, expect, it } from "vitest";
import { RoutingTable } from "./routing-table.js";
import { RoutingError } from "./types.js";

const q = (name: string) => ({ kind: "queue", name }) as const;
const x = (name: string) => ({ kind: "exchange", name }) as const;

function withQueues(...names: string[]): RoutingTable {
  const t = new RoutingTable();
  for (const n of names) t.addQueue(n);
  return t;
}

describe("default exchange", () => {
  it("routes to the queue named by the routing key", () => {
    const t = withQueues("orders");
    expect(t.route("", "orders")).toEqual({ queues: ["orders"], unroutable: false });
  });

  it("is unroutable when no queue has that name, and after the queue is removed", () => {
    const t = withQueues("orders");
    expect(t.route("", "nope")).toEqual({ queues: [], unroutable: true });
    t.removeQueue("orders");
    expect(t.route("", "orders").unroutable).toBe(true);
  });

  it("cannot be declared, bound from or bound to", () => {
    const t = withQueues("q");
    t.declareExchange("e", "direct");
    expect(() => t.declareExchange("", "direct")).toThrow(RoutingError);
    expect(() => t.bind("", q("q"), "q")).toThrow(/default exchange/);
    expect(() => t.bind("e", x(""), "k")).toThrow(/default exchange/);
    expect(t.hasExchange("")).toBe(true);
  });

  it("routes on CC/BCC keys too, each queue once", () => {
    const t = withQueues("a", "b");
    expect(t.route("", ["a", "b", "a", "missing"]).queues).toEqual(["a", "b"]);
  });
});

describe("direct exchange", () => {
  it("routes on exact key equality only", () => {
    const t = withQueues("info", "errors", "all");
    t.declareExchange("logs", "direct");
    t.bind("logs", q("info"), "info");
    t.bind("logs", q("errors"), "error");
    t.bind("logs", q("all"), "info");
    t.bind("logs", q("all"), "error");
    expect(t.route("logs", "info").queues).toEqual(["all", "info"]);
    expect(t.route("logs", "error").queues).toEqual(["all", "errors"]);
    expect(t.route("logs", "Info").unroutable).toBe(true);
    expect(t.route("logs", "info.x").unroutable).toBe(true);
  });

  it("binding the same queue twice with the same key and args is one binding", () => {
    const t = withQueues("q");
    t.declareExchange("d", "direct");
    expect(t.bind("d", q("q"), "k")).toBe(true);
    expect(t.bind("d", q("q"), "k")).toBe(false);
    expect(t.bind("d", q("q"), "k", { "x-note": 1 })).toBe(true);
    expect(t.bindings("d")).toHaveLength(2);
    expect(t.unbind("d", q("q"), "k")).toBe(true);
    expect(t.unbind("d", q("q"), "k")).toBe(false);
    expect(t.route("d", "k").queues).toEqual(["q"]); // the binding with x-note still routes
  });

  it("routes CC keys (sender-selected distribution)", () => {
    const t = withQueues("a", "b");
    t.declareExchange("d", "direct");
    t.bind("d", q("a"), "ka");
    t.bind("d", q("b"), "kb");
    expect(t.route("d", ["ka", "kb"]).queues).toEqual(["a", "b"]);
  });
});

describe("fanout exchange", () => {
  it("routes to every bound queue whatever the key", () => {
    const t = withQueues("a", "b", "c");
    t.declareExchange("f", "fanout");
    t.bind("f", q("a"), "");
    t.bind("f", q("b"), "ignored");
    t.bind("f", q("b"), "other"); // second binding to b: still delivered once
    expect(t.route("f", "anything").queues).toEqual(["a", "b"]);
  });

  it("an exchange with no bindings is unroutable (basic.return for mandatory)", () => {
    const t = new RoutingTable();
    t.declareExchange("f", "fanout");
    expect(t.route("f", "k")).toEqual({ queues: [], unroutable: true });
  });
});

describe("exchange-to-exchange bindings", () => {
  it("follow chains transitively", () => {
    const t = withQueues("end");
    t.declareExchange("x1", "direct");
    t.declareExchange("x2", "topic");
    t.declareExchange("x3", "fanout");
    t.bind("x1", x("x2"), "a.b");
    t.bind("x2", x("x3"), "a.*");
    t.bind("x3", q("end"), "");
    expect(t.route("x1", "a.b").queues).toEqual(["end"]);
    expect(t.route("x1", "a.c").unroutable).toBe(true);
  });

  it("deliver a queue reached along several paths once (diamond)", () => {
    const t = withQueues("q", "r");
    for (const n of ["top", "left", "right"]) t.declareExchange(n, "fanout");
    t.bind("top", x("left"), "");
    t.bind("top", x("right"), "");
    t.bind("left", q("q"), "");
    t.bind("right", q("q"), "");
    t.bind("right", q("r"), "");
    t.bind("top", q("q"), "");
    expect(t.route("top", "k")).toEqual({ queues: ["q", "r"], unroutable: false });
  });

  it("terminate on cycles, including an exchange bound to itself", () => {
    const t = withQueues("q");
    t.declareExchange("a", "fanout");
    t.declareExchange("b", "fanout");
    t.bind("a", x("b"), "");
    t.bind("b", x("a"), "");
    t.bind("a", x("a"), "");
    expect(t.route("a", "k").unroutable).toBe(true);
    t.bind("b", q("q"), "");
    expect(t.route("a", "k").queues).toEqual(["q"]);
    expect(t.route("b", "k").queues).toEqual(["q"]);
  });

  it("route through internal exchanges reached by a binding", () => {
    const t = withQueues("q");
    t.declareExchange("public", "direct");
    t.declareExchange("hidden", "fanout", {}, { internal: true });
    t.bind("public", x("hidden"), "k");
    t.bind("hidden", q("q"), "");
    expect(t.isInternal("hidden")).toBe(true);
    expect(t.route("public", "k").queues).toEqual(["q"]);
  });

  it("deleting an exchange removes its bindings as source and as destination", () => {
    const t = withQueues("q");
    t.declareExchange("a", "fanout");
    t.declareExchange("b", "fanout");
    t.bind("a", x("b"), "");
    t.bind("b", q("q"), "");
    const removed = t.deleteExchange("b");
    expect(removed).toHaveLength(2);
    expect(t.bindings()).toEqual([]);
    expect(t.route("a", "k").unroutable).toBe(true);
    // Redeclaring does not resurrect bindings.
    t.declareExchange("b", "fanout");
    expect(t.route("a", "k").unroutable).toBe(true);
  });
});

describe("alternate exchanges", () => {
  function aeTable(): RoutingTable {
    const t = withQueues("main", "unrouted", "last-resort");
    t.declareExchange("ae2", "fanout");
    t.declareExchange("ae", "direct", { "alternate-exchange": "ae2" });
    t.declareExchange("x", "direct", { "alternate-exchange": "ae" });
    t.bind("x", q("main"), "main");
    t.bind("ae", q("unrouted"), "known");
    t.bind("ae2", q("last-resort"), "");
    return t;
  }

  it("are not used when the exchange routes the message", () => {
    expect(aeTable().route("x", "main").queues).toEqual(["main"]);
  });

  it("receive messages the exchange does not route", () => {
    expect(aeTable().route("x", "known").queues).toEqual(["unrouted"]);
  });

  it("chain: the alternate's own alternate takes what the alternate cannot route", () => {
    expect(aeTable().route("x", "other")).toEqual({ queues: ["last-resort"], unroutable: false });
  });

  it("a message routed to an exchange that routes nowhere does not go to the first exchange's alternate", () => {
    const t = withQueues("ae-q");
    t.declareExchange("ae", "fanout");
    t.bind("ae", q("ae-q"), "");
    t.declareExchange("x", "fanout", { "alternate-exchange": "ae" });
    t.declareExchange("dead-end", "direct");
    t.bind("x", x("dead-end"), "");
    expect(t.route("x", "k").unroutable).toBe(true);
    // ...but the dead end's own alternate applies.
    t.deleteExchange("dead-end");
    t.declareExchange("dead-end", "direct", { "alternate-exchange": "ae" });
    t.bind("x", x("dead-end"), "");
    expect(t.route("x", "k").queues).toEqual(["ae-q"]);
  });

  it("a missing alternate exchange is ignored: the message is unroutable", () => {
    const t = new RoutingTable();
    t.declareExchange("x", "direct", { "alternate-exchange": "does-not-exist" });
    expect(t.route("x", "k").unroutable).toBe(true);
  });

  it("alternate cycles terminate", () => {
    const t = new RoutingTable();
    t.declareExchange("a", "direct", { "alternate-exchange": "b" });
    t.declareExchange("b", "direct", { "alternate-exchange": "a" });
    expect(t.route("a", "k").unroutable).toBe(true);
  });

  it("an alternate that is the default exchange routes to the queue named by the key", () => {
    const t = withQueues("k");
    t.declareExchange("x", "direct", { "alternate-exchange": "" });
    expect(t.route("x", "k").queues).toEqual(["k"]);
  });

  it("the alternate-exchange argument may arrive as bytes (a longstr)", () => {
    const t = withQueues("q");
    t.declareExchange("ae", "fanout");
    t.bind("ae", q("q"), "");
    t.declareExchange("x", "direct", { "alternate-exchange": new TextEncoder().encode("ae") });
    expect(t.route("x", "k").queues).toEqual(["q"]);
  });

  it("an alternate declared later applies from then on", () => {
    const t = withQueues("q");
    t.declareExchange("x", "direct", { "alternate-exchange": "ae" });
    expect(t.route("x", "k").unroutable).toBe(true);
    t.declareExchange("ae", "fanout");
    t.bind("ae", q("q"), "");
    expect(t.route("x", "k").queues).toEqual(["q"]);
  });
});

describe("queues and declarations", () => {
  it("removing a queue removes every binding to it", () => {
    const t = withQueues("q", "r");
    t.declareExchange("d", "direct");
    t.declareExchange("f", "fanout");
    t.bind("d", q("q"), "k");
    t.bind("f", q("q"), "");
    t.bind("f", q("r"), "");
    expect(t.removeQueue("q").map((b) => b.source)).toEqual(["d", "f"]);
    expect(t.bindings().map((b) => b.destination.name)).toEqual(["r"]);
    expect(t.route("f", "").queues).toEqual(["r"]);
    expect(t.route("d", "k").unroutable).toBe(true);
  });

  it("redeclaring an exchange with the same properties is a no-op; different ones are refused", () => {
    const t = new RoutingTable();
    expect(t.declareExchange("e", "topic", { a: 1, b: "x" })).toBe(true);
    expect(t.declareExchange("e", "topic", { b: "x", a: 1 })).toBe(false);
    expect(() => t.declareExchange("e", "direct", { a: 1, b: "x" })).toThrow(RoutingError);
    expect(() => t.declareExchange("e", "topic", {})).toThrow(RoutingError);
  });

  it("refuses bindings from unknown exchanges or to unknown destinations", () => {
    const t = withQueues("q");
    t.declareExchange("e", "direct");
    expect(() => t.bind("nope", q("q"), "k")).toThrow(/no exchange 'nope'/);
    expect(() => t.bind("e", q("nope"), "k")).toThrow(/no queue 'nope'/);
    expect(() => t.bind("e", x("nope"), "k")).toThrow(/no exchange 'nope'/);
    expect(t.unbind("nope", q("q"), "k")).toBe(false);
  });

  it("refuses exchange arguments RabbitMQ refuses", () => {
    const t = new RoutingTable();
    expect(() =>
      t.declareExchange("c", "x-consistent-hash", { "hash-header": "h", "hash-property": "message_id" }),
    ).toThrow(/mutually exclusive/);
    expect(() => t.declareExchange("a", "direct", { "alternate-exchange": 5 })).toThrow(/alternate-exchange/);
    expect(() => t.declareExchange("u", "x-bogus" as "direct")).toThrow(/unknown exchange type/);
    expect(t.hasExchange("c")).toBe(false);
  });

  it("keeps its own copy of arguments: mutating the caller's object changes nothing", () => {
    const t = withQueues("q", "ae-q");
    t.declareExchange("ae", "fanout");
    t.bind("ae", q("ae-q"), "");
    const xArgs: Record<string, unknown> = { "alternate-exchange": "ae" };
    t.declareExchange("x", "headers", xArgs);
    const bArgs: Record<string, unknown> = { a: 1 };
    t.bind("x", q("q"), "", bArgs);
    xArgs["alternate-exchange"] = "other";
    bArgs.a = 2;
    expect(t.route("x", "", { a: 1 }).queues).toEqual(["q"]);
    expect(t.route("x", "", { a: 2 }).queues).toEqual(["ae-q"]);
    expect(t.hasBinding("x", q("q"), "", { a: 1 })).toBe(true);
  });

  it("an unknown exchange routes nowhere", () => {
    expect(new RoutingTable().route("ghost", "k")).toEqual({ queues: [], unroutable: true });
  });

  it("lists bindings to a destination and counts everything", () => {
    const t = withQueues("q");
    t.declareExchange("a", "fanout");
    t.declareExchange("b", "direct");
    t.bind("b", q("q"), "k");
    t.bind("a", q("q"), "");
    t.bind("a", x("b"), "");
    expect(t.bindingsTo(q("q")).map((b) => b.source)).toEqual(["a", "b"]);
    expect(t.bindingsTo(x("b"))).toEqual([
      { source: "a", destination: { kind: "exchange", name: "b" }, routingKey: "", args: {} },
    ]);
    expect(t.stats()).toEqual({ exchanges: 2, queues: 1, bindings: 3 });
  });

  it("routing results are independent of the order bindings were made in", () => {
    const build = (order: number[]) => {
      const t = withQueues("q0", "q1", "q2", "q3");
      t.declareExchange("t", "topic");
      const keys = ["#", "a.*", "a.b", "*.b"];
      for (const i of order) t.bind("t", q(`q${i}`), keys[i]!);
      return t;
    };
    expect(build([0, 1, 2, 3]).route("t", "a.b")).toEqual(build([3, 1, 0, 2]).route("t", "a.b"));
  });
});
