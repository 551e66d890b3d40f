import { describe, expect, it } from "vitest";
import { fieldEquals } from "./field-values.js";
import { compileHeadersPattern, headersMatch } from "./headers-match.js";
import { RoutingTable } from "./routing-table.js";
import type { FieldTable } from "./types.js";
import { validateBinding } from "./validate.js";

function matches(bindingArgs: FieldTable, headers: FieldTable | undefined): boolean {
  return headersMatch(compileHeadersPattern(bindingArgs), headers);
}

describe("headers exchange x-match", () => {
  it("defaults to all: every bound header must be present with an equal value", () => {
    expect(matches({ format: "pdf", type: "report" }, { format: "pdf", type: "report", extra: 1 })).toBe(
      true,
    );
    expect(matches({ format: "pdf", type: "report" }, { format: "pdf" })).toBe(false);
    expect(matches({ format: "pdf", type: "report" }, { format: "pdf", type: "log" })).toBe(false);
  });

  it("any: one bound header present with an equal value is enough", () => {
    expect(matches({ "x-match": "any", format: "pdf", type: "report" }, { type: "report" })).toBe(true);
    expect(matches({ "x-match": "any", format: "pdf", type: "report" }, { type: "log", format: "zip" })).toBe(
      false,
    );
    expect(matches({ "x-match": "any", format: "pdf" }, undefined)).toBe(false);
  });

  it("all with no header arguments matches every message, any with none matches nothing", () => {
    expect(matches({}, undefined)).toBe(true);
    expect(matches({ "x-match": "all" }, { a: 1 })).toBe(true);
    expect(matches({ "x-match": "any" }, { a: 1 })).toBe(false);
  });

  it("ignores binding arguments starting with x- for all and any", () => {
    expect(matches({ "x-tenant": "t1", a: 1 }, { a: 1 })).toBe(true);
    expect(matches({ "x-match": "any", "x-tenant": "t1" }, { "x-tenant": "t1" })).toBe(false);
  });

  it("considers x- arguments for all-with-x and any-with-x (but never x-match itself)", () => {
    expect(matches({ "x-match": "all-with-x", "x-tenant": "t1", a: 1 }, { a: 1 })).toBe(false);
    expect(matches({ "x-match": "all-with-x", "x-tenant": "t1", a: 1 }, { a: 1, "x-tenant": "t1" })).toBe(
      true,
    );
    expect(matches({ "x-match": "any-with-x", "x-tenant": "t1", a: 1 }, { "x-tenant": "t1" })).toBe(true);
    expect(matches({ "x-match": "any-with-x", "x-tenant": "t1" }, { "x-tenant": "t2" })).toBe(false);
    expect(matches({ "x-match": "all-with-x" }, { "x-match": "any" })).toBe(true);
  });

  it("an unrecognised x-match value routes as all (RabbitMQ's legacy fallback) but is refused at bind", () => {
    expect(matches({ "x-match": "most", a: 1 }, { a: 1 })).toBe(true);
    expect(matches({ "x-match": "most", a: 1, b: 2 }, { a: 1 })).toBe(false);
    expect(validateBinding("headers", "", { "x-match": "most" })?.code).toBe("precondition_failed");
    expect(validateBinding("headers", "", { "x-match": 1 })?.code).toBe("precondition_failed");
    expect(validateBinding("headers", "", { "x-match": "any-with-x" })).toBeUndefined();
  });
});

describe("headers exchange: void, empty and missing values", () => {
  it("a void binding value matches any value of a present header, void included", () => {
    expect(matches({ a: null }, { a: "anything" })).toBe(true);
    expect(matches({ a: null }, { a: null })).toBe(true);
    expect(matches({ a: undefined }, { a: 0 })).toBe(true);
  });

  it("a void binding value does not match a missing header", () => {
    expect(matches({ a: null }, { b: 1 })).toBe(false);
    expect(matches({ "x-match": "any", a: null }, {})).toBe(false);
  });

  it("an empty-string binding value matches only a header with an empty value", () => {
    expect(matches({ a: "" }, { a: "" })).toBe(true);
    expect(matches({ a: "" }, {})).toBe(false);
    expect(matches({ a: "" }, { a: null })).toBe(false);
    expect(matches({ a: "" }, { a: "x" })).toBe(false);
  });

  it("a header with a void value does not equal a non-void binding value", () => {
    expect(matches({ a: "x" }, { a: null })).toBe(false);
  });

  it("a missing header fails all but another matching header still satisfies any", () => {
    expect(matches({ a: 1, b: 2 }, { b: 2 })).toBe(false);
    expect(matches({ "x-match": "any", a: 1, b: 2 }, { b: 2 })).toBe(true);
  });
});

describe("header value comparison (Erlang ==)", () => {
  it("numbers compare by value across integer, float and bigint", () => {
    expect(fieldEquals(1, 1.0)).toBe(true);
    expect(fieldEquals(1n, 1)).toBe(true);
    expect(fieldEquals(2n ** 40n, 2 ** 40)).toBe(true);
    expect(fieldEquals(1, 1.5)).toBe(false);
    expect(matches({ n: 5 }, { n: 5n })).toBe(true);
  });

  it("a number never equals its text", () => {
    expect(fieldEquals(1, "1")).toBe(false);
    expect(matches({ n: "5" }, { n: 5 })).toBe(false);
  });

  it("long strings and byte strings compare by their bytes", () => {
    expect(fieldEquals("héllo", new TextEncoder().encode("héllo"))).toBe(true);
    expect(fieldEquals(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(fieldEquals("a", new Uint8Array([98]))).toBe(false);
  });

  it("booleans are not numbers", () => {
    expect(fieldEquals(true, 1)).toBe(false);
    expect(fieldEquals(true, true)).toBe(true);
  });

  it("a timestamp equals the integer of its seconds", () => {
    expect(fieldEquals(new Date(5000), 5)).toBe(true);
    expect(fieldEquals(new Date(5000), new Date(5999))).toBe(true);
  });

  it("arrays and tables compare element by element", () => {
    expect(fieldEquals([1, "a", [2]], [1.0, "a", [2n]])).toBe(true);
    expect(fieldEquals([1, 2], [2, 1])).toBe(false);
    expect(fieldEquals({ a: 1, b: [1] }, { b: [1], a: 1 })).toBe(true);
    expect(fieldEquals({ a: 1 }, { a: 1, b: 2 })).toBe(false);
  });
});

describe("headers exchange through the routing table", () => {
  it("routes to each matching binding's queue and ignores the routing key", () => {
    const t = new RoutingTable();
    t.declareExchange("h", "headers");
    for (const q of ["pdf", "any-report", "tenant"]) t.addQueue(q);
    t.bind("h", { kind: "queue", name: "pdf" }, "ignored", { "x-match": "all", format: "pdf" });
    t.bind("h", { kind: "queue", name: "any-report" }, "", {
      "x-match": "any",
      type: "report",
      format: "zip",
    });
    t.bind("h", { kind: "queue", name: "tenant" }, "", { "x-match": "all-with-x", "x-tenant": "t1" });
    expect(t.route("h", "whatever", { format: "pdf", type: "report" }).queues).toEqual(["any-report", "pdf"]);
    expect(t.route("h", "", { "x-tenant": "t1" }).queues).toEqual(["tenant"]);
    expect(t.route("h", "", undefined)).toEqual({ queues: [], unroutable: true });
  });

  it("two bindings differing only in arguments are distinct; unbinding one keeps the other", () => {
    const t = new RoutingTable();
    t.declareExchange("h", "headers");
    t.addQueue("q");
    const q = { kind: "queue", name: "q" } as const;
    expect(t.bind("h", q, "", { a: 1 })).toBe(true);
    expect(t.bind("h", q, "", { b: 2 })).toBe(true);
    expect(t.bind("h", q, "", { a: 1 })).toBe(false);
    expect(t.unbind("h", q, "", { a: 1 })).toBe(true);
    expect(t.route("h", "", { a: 1 }).unroutable).toBe(true);
    expect(t.route("h", "", { b: 2 }).queues).toEqual(["q"]);
  });
});
