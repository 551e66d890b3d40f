/**
 * Small parts on their own: RabbitMQ's password hashing scheme, flow control, the body cache.
 */
import { describe, expect, it } from "vitest";
import { WarrenError } from "../../errors.js";
import { Backpressure } from "../backpressure.js";
import { BodyCache } from "../body-cache.js";
import { Consumers } from "../consumers.js";
import { LeaderAdmission } from "../leader-admission.js";
import { hashPassword, verifyPassword } from "../passwords.js";

describe("rabbit_password_hashing_sha256", () => {
  it("stores base64(salt ++ sha256(salt ++ password)) with a 4-byte salt", () => {
    const salt = Uint8Array.from([0x90, 0x8d, 0xc6, 0x0a]);
    const stored = hashPassword("test12", salt);
    const raw = Buffer.from(stored, "base64");
    expect(raw.length).toBe(36);
    expect([...raw.subarray(0, 4)]).toEqual([...salt]);
    expect(verifyPassword("test12", stored)).toBe(true);
    expect(verifyPassword("test13", stored)).toBe(false);
  });

  it("salts every hash differently and refuses a missing hash", () => {
    expect(hashPassword("guest")).not.toBe(hashPassword("guest"));
    expect(verifyPassword("guest", undefined)).toBe(false);
    expect(verifyPassword("guest", "")).toBe(false);
  });
});

describe("flow control", () => {
  it("blocks publishes while too many bytes are uncommitted, and tells listeners", async () => {
    const bp = new Backpressure(100, 0);
    const seen: boolean[] = [];
    bp.onChange((blocked) => seen.push(blocked));
    const release = await bp.acquire(150, 1000);
    expect(bp.isBlocked()).toBe(true);
    let second = false;
    const waiting = Promise.resolve(bp.acquire(10, 1000)).then((r) => {
      second = true;
      return r;
    });
    await Promise.resolve();
    expect(second).toBe(false);
    release();
    const r2 = await waiting;
    expect(second).toBe(true);
    r2();
    expect(seen).toEqual([true, false]);
    bp.stop();
  });

  it("gives up with RESOURCE_ERROR when blocked past the timeout", async () => {
    const bp = new Backpressure(10, 0);
    const release = await bp.acquire(20, 100);
    const err = await Promise.resolve(bp.acquire(1, 50)).catch((e: unknown) => e);
    expect(WarrenError.is(err, "RESOURCE_ERROR")).toBe(true);
    release();
    bp.stop();
  });
});

describe("the body cache", () => {
  it("evicts the oldest bodies beyond its bounds", () => {
    const cache = new BodyCache(2, 1024);
    const cmd = (n: number) => ({
      type: "enqueue" as const,
      exchange: "",
      routingKeys: ["q"],
      properties: {},
      body: new Uint8Array(n),
    });
    cache.set("g", 1, cmd(10));
    cache.set("g", 2, cmd(10));
    cache.set("g", 3, cmd(10));
    expect(cache.get("g", 1)).toBeUndefined();
    expect(cache.get("g", 3)).toBeDefined();
    cache.set("g", 4, cmd(2000));
    expect(cache.get("g", 2)).toBeUndefined();
    cache.dropGroup("g");
    expect(cache.get("g", 3)).toBeUndefined();
  });

  it("evicts across queues in insertion order; settled and dropped entries free their room", () => {
    const cache = new BodyCache(3, 1 << 20);
    const cmd = () => ({
      type: "enqueue" as const,
      exchange: "",
      routingKeys: ["q"],
      properties: {},
      body: new Uint8Array(8),
    });
    cache.set("a", 1, cmd());
    cache.set("b", 1, cmd());
    cache.set("a", 2, cmd());
    cache.delete("b", 1);
    cache.set("b", 2, cmd());
    expect(cache.entries()).toBe(3);
    expect(cache.get("a", 1)).toBeDefined();
    cache.set("c", 1, cmd());
    expect(cache.get("a", 1)).toBeUndefined();
    expect(cache.get("a", 2)).toBeDefined();
    cache.dropGroup("a");
    cache.set("c", 2, cmd());
    expect([cache.get("b", 2), cache.get("c", 1), cache.get("c", 2)].every((c) => c !== undefined)).toBe(
      true,
    );
    // A long run of enqueue + settle (the common case) and of evictions keeps the bounds exact.
    for (let i = 10; i < 50_000; i++) {
      cache.set("d", i, cmd());
      if (i % 3 !== 0) cache.delete("d", i);
    }
    cache.set("d", 50_001, cmd());
    expect(cache.entries()).toBe(3);
    expect(cache.get("d", 50_001)).toBeDefined();
    expect(cache.get("d", 49_998)).toBeDefined();
    expect(cache.get("d", 49_989)).toBeUndefined();
  });
});

describe("a queue leader's uncommitted backlog", () => {
  it("holds enqueues over the bound until earlier ones commit, and reports it", async () => {
    const over: boolean[] = [];
    const a = new LeaderAdmission(100, (o) => over.push(o));
    const big = await a.acquire("g", 150, 1000); // an empty backlog takes anything
    expect(over).toEqual([true]);
    let admitted = false;
    const next = Promise.resolve(a.acquire("g", 10, 1000)).then((r) => {
      admitted = true;
      return r;
    });
    // Another group is not held back by this one.
    (await a.acquire("h", 10, 1000))();
    expect(admitted).toBe(false);
    big();
    (await next)();
    expect(admitted).toBe(true);
    expect(over).toEqual([true, false]);
    expect(a.held("g")).toBe(0);
    // With room, admission is immediate (no promise on the publish path).
    const now = a.acquire("g", 10, 1000);
    expect(typeof now).toBe("function");
    (now as () => void)();
  });

  it("refuses with RESOURCE_ERROR when the backlog does not drain in time", async () => {
    const a = new LeaderAdmission(10);
    const held = await a.acquire("g", 20, 1000);
    const err = await Promise.resolve(a.acquire("g", 5, 30)).catch((e: unknown) => e);
    expect(WarrenError.is(err, "RESOURCE_ERROR")).toBe(true);
    held();
  });
});

describe("channel bookkeeping", () => {
  const record = {
    vhost: "/",
    name: "q",
    durable: true,
    autoDelete: false,
    owner: undefined,
    arguments: {},
    type: "quorum" as const,
    group: "q:/:q:1",
    members: ["n1"],
    leader: "n1",
    createdIndex: 1,
    createdAt: 0,
    createdBy: undefined,
  };

  it("forgets a channel that only got messages once they are settled (no leak per HTTP request)", () => {
    const c = new Consumers("n1", () => {});
    c.noteGet("n1/a", 1, record);
    c.noteGet("n1/a", 1, record, 7);
    expect(c.channelsOf("n1/a")).toEqual([1]);
    c.settled("n1/a", 1, record, [7]);
    expect(c.channelsOf("n1/a")).toEqual([]);
    c.noteGet("n1/b", 1, record);
    c.forgetIdle("n1/b", 1, record);
    expect(c.channelsOf("n1/b")).toEqual([]);
  });

  it("keeps a channel that consumed until it closes, and dedupes a re-issued delivery", () => {
    const seen: number[] = [];
    const c = new Consumers("n1", () => {});
    const entry = {
      connection: "n1/a",
      channel: 2,
      tag: "t",
      vhost: "/",
      queue: "q",
      incarnation: 1,
      sink: { deliver: (d: { id: number }) => seen.push(d.id), cancelled: () => {} },
      noAck: false,
      window: 10,
      delivered: new Map<number, number>(),
      sinceCredit: 0,
      cancelled: false,
    };
    c.add(entry);
    c.noteConsume("n1/a", 2, record);
    const delivery = {
      queue: "q",
      id: 5,
      consumerTag: "t",
      redelivered: false,
      deliveryCount: 0,
      exchange: "",
      routingKey: "q",
      properties: {},
      body: new Uint8Array(),
    };
    c.deliver({ connection: "n1/a", channel: 2, tag: "t", delivery });
    c.deliver({ connection: "n1/a", channel: 2, tag: "t", delivery });
    c.deliver({
      connection: "n1/a",
      channel: 2,
      tag: "t",
      delivery: { ...delivery, redelivered: true, deliveryCount: 1 },
    });
    expect(seen).toEqual([5, 5]);
    c.remove("n1/a", 2, "t");
    c.settled("n1/a", 2, record, [5]);
    expect(c.channelsOf("n1/a")).toEqual([2]);
    expect(c.closeChannel("n1/a", 2).map((r) => r.name)).toEqual(["q"]);
    expect(c.channelsOf("n1/a")).toEqual([]);
  });
});
