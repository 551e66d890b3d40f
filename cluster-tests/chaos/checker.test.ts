import { describe, expect, it } from "vitest";
import { Checker, decodeTag, describeReport, encodeTag, type MessageTag } from "./checker.js";

const tag = (publisher: string, seq: number): MessageTag => ({ id: `${publisher}-${seq}`, publisher, seq });

function publish(c: Checker, t: MessageTag, at: number, confirmAt?: number, via = "n1"): string {
  c.recordAttempt(t, "q", via, at);
  if (confirmAt !== undefined) c.recordConfirm(t.id, confirmAt);
  return encodeTag(t);
}

describe("chaos checker", () => {
  it("round-trips a tag and refuses foreign payloads", () => {
    expect(decodeTag(encodeTag(tag("p1", 3)))).toEqual(tag("p1", 3));
    expect(decodeTag("hello")).toBeUndefined();
    expect(decodeTag('{"id":1}')).toBeUndefined();
  });

  it("a clean run reports nothing wrong", () => {
    const c = new Checker();
    const a = publish(c, tag("p1", 0), 0, 10);
    const b = publish(c, tag("p1", 1), 10, 20);
    c.recordDelivery(a, "c1", false, 30);
    c.recordDelivery(b, "c1", false, 31);
    const r = c.report();
    expect(r).toMatchObject({
      attempts: 2,
      confirmed: 2,
      delivered: 2,
      lost: [],
      unexpected: [],
      duplicated: [],
    });
    expect(r.orderViolations).toEqual([]);
    expect(c.undelivered()).toEqual([]);
  });

  it("a confirmed message never delivered is lost; an unconfirmed one is not", () => {
    const c = new Checker();
    publish(c, tag("p1", 0), 0, 10);
    publish(c, tag("p1", 1), 10); // 503 or timeout: may or may not exist
    expect(c.report().lost).toEqual(["p1-0"]);
    expect(c.undelivered()).toEqual(["p1-0"]);
  });

  it("an unconfirmed message that is delivered anyway is fine (it may have been stored)", () => {
    const c = new Checker();
    const p = publish(c, tag("p1", 0), 0);
    c.recordDelivery(p, "c1", false, 5);
    expect(c.report()).toMatchObject({ lost: [], unexpected: [] });
  });

  it("a delivery nobody published is unexpected, as is a forged publisher", () => {
    const c = new Checker();
    publish(c, tag("p1", 0), 0, 1);
    c.recordDelivery("garbage", "c1", false, 2);
    c.recordDelivery(encodeTag({ id: "p1-0", publisher: "p2", seq: 0 }), "c1", false, 3);
    c.recordDelivery(encodeTag(tag("p9", 0)), "c1", false, 4);
    expect(c.report().unexpected).toHaveLength(3);
  });

  it("duplicates are reported", () => {
    const c = new Checker();
    const p = publish(c, tag("p1", 0), 0, 1);
    c.recordDelivery(p, "c1", false, 2);
    c.recordDelivery(p, "c2", true, 3);
    expect(c.report().duplicated).toEqual(["p1-0"]);
  });

  it("order violations are per consumer and publisher, and ignored once a publisher saw a requeue", () => {
    const c = new Checker();
    const m = [0, 1, 2].map((s) => publish(c, tag("p1", s), s, s + 1));
    const n = [0, 1].map((s) => publish(c, tag("p2", s), s, s + 1));
    // Two consumers interleave: each stream is in order.
    c.recordDelivery(m[1] as string, "c2", false, 5);
    c.recordDelivery(m[0] as string, "c1", false, 6);
    c.recordDelivery(m[2] as string, "c1", false, 7);
    // p2 out of order on one consumer.
    c.recordDelivery(n[1] as string, "c1", false, 8);
    c.recordDelivery(n[0] as string, "c1", false, 9);
    expect(c.report().orderViolations).toEqual([{ publisher: "p2", consumer: "c1", after: 1, seq: 0 }]);
    c.recordDelivery(n[0] as string, "c1", true, 10);
    expect(c.report().orderViolations).toEqual([]);
  });

  it("measures the longest confirm gap and the recovery after each fault", () => {
    const c = new Checker();
    publish(c, tag("p1", 0), 0, 100);
    c.markFault("kill", 150);
    publish(c, tag("p1", 1), 120, 200); // sent before the fault: not a recovery
    publish(c, tag("p1", 2), 200); // failed
    publish(c, tag("p1", 3), 900, 1400);
    publish(c, tag("p1", 4), 1400, 1450);
    c.markFault("never", 5000);
    const r = c.report();
    expect(r.longestConfirmGapMs).toBe(1200);
    expect(r.recoveries).toEqual([
      { name: "kill", ms: 1250 },
      { name: "never", ms: undefined },
    ]);
    expect(describeReport(r)).toContain("kill=1250ms");
  });

  it("confirmedVia finds confirms through one node inside a window", () => {
    const c = new Checker();
    publish(c, tag("p1", 0), 10, 20, "n1");
    publish(c, tag("p1", 1), 110, 120, "n1");
    publish(c, tag("p1", 2), 110, 130, "n2");
    publish(c, tag("p1", 3), 150, 250, "n1"); // answered after the window
    expect(c.confirmedVia("n1", 100, 200)).toEqual(["p1-1"]);
    expect(c.confirmedBetween(100, 200).sort()).toEqual(["p1-1", "p1-2"]);
  });

  it("refuses a reused id and a confirm of an unknown one", () => {
    const c = new Checker();
    publish(c, tag("p1", 0), 0);
    expect(() => publish(c, tag("p1", 0), 1)).toThrow(/twice/);
    expect(() => c.recordConfirm("nope", 1)).toThrow(/unknown/);
  });
});
