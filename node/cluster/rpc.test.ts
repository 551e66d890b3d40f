/**
 * Rpc between two nodes over an in-memory transport: answers, errors as data, and deadlines
 * (each call fails at its own deadline, not earlier or later).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { NodeId } from "../../raft/core/types.js";
import { NotLeaderError } from "../../raft/errors.js";
import type { Transport } from "../../raft/transport/index.js";
import { Rpc, RpcTimeoutError, RpcUnreachableError } from "./rpc.js";

type Handler = (from: NodeId, payload: unknown) => void;

/** Two endpoints that deliver each frame on the next microtask, unless `deaf` drops requests. */
function pair(): { a: Transport; b: Transport; deafB: (on: boolean) => void } {
  const handlers = new Map<NodeId, Handler>();
  let deaf = false;
  const endpoint = (self: NodeId): Transport =>
    ({
      on: (_channel: string, h: Handler) => handlers.set(self, h),
      onPeerDown: () => {},
      isPeerUp: () => true,
      send: (to: NodeId, _channel: string, payload: unknown) => {
        if (to === "b" && deaf) return true;
        queueMicrotask(() => handlers.get(to)?.(self, payload));
        return true;
      },
    }) as unknown as Transport;
  return { a: endpoint("a"), b: endpoint("b"), deafB: (on) => (deaf = on) };
}

describe("rpc between nodes", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("answers a call with the handler's result, and a failure as the error class a local call throws", async () => {
    const { a, b } = pair();
    const client = new Rpc(a);
    const server = new Rpc(b);
    server.handle("echo", (_from, args) => args);
    server.handle("refuse", () => {
      throw new NotLeaderError("g1", "c");
    });
    await expect(client.call("b", "echo", { x: 1 }, 1000)).resolves.toEqual({ x: 1 });
    const err = await client.call("b", "refuse", null, 1000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotLeaderError);
    expect((err as NotLeaderError).leaderHint).toBe("c");
  });

  it("fails each unanswered call at its own deadline, whatever order they were made in", async () => {
    const { a, b, deafB } = pair();
    const client = new Rpc(a);
    new Rpc(b).handle("echo", (_from, args) => args);
    deafB(true);
    const outcomes: string[] = [];
    const track = (name: string, p: Promise<unknown>) =>
      p.then(
        () => outcomes.push(`${name} answered`),
        (e: unknown) => outcomes.push(`${name} ${e instanceof RpcTimeoutError ? "timed out" : "failed"}`),
      );
    track("slow", client.call("b", "echo", 1, 1000));
    track("fast", client.call("b", "echo", 2, 100));
    await vi.advanceTimersByTimeAsync(99);
    expect(outcomes).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcomes).toEqual(["fast timed out"]);
    await vi.advanceTimersByTimeAsync(899);
    expect(outcomes).toEqual(["fast timed out"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(outcomes).toEqual(["fast timed out", "slow timed out"]);
  });

  it("does not fail a call that was answered, and keeps the deadlines of the calls after it", async () => {
    const { a, b, deafB } = pair();
    const client = new Rpc(a);
    new Rpc(b).handle("echo", (_from, args) => args);
    await expect(client.call("b", "echo", "first", 100)).resolves.toBe("first");
    deafB(true);
    await vi.advanceTimersByTimeAsync(50);
    let late: unknown;
    client.call("b", "echo", "second", 100).catch((e: unknown) => (late = e));
    // The first call's deadline passes: nothing to fail.
    await vi.advanceTimersByTimeAsync(60);
    expect(late).toBeUndefined();
    await vi.advanceTimersByTimeAsync(40);
    expect(late).toBeInstanceOf(RpcTimeoutError);
  });

  it("fails the calls in flight when closed, and later calls at once", async () => {
    const { a, b, deafB } = pair();
    const client = new Rpc(a);
    new Rpc(b);
    deafB(true);
    const inFlight = client.call("b", "echo", 1, 1000).catch((e: unknown) => e);
    client.close();
    expect(await inFlight).toBeInstanceOf(RpcUnreachableError);
    await expect(client.call("b", "echo", 1, 1000)).rejects.toBeInstanceOf(RpcUnreachableError);
    expect(vi.getTimerCount()).toBe(0);
  });
});
