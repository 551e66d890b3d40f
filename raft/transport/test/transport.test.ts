import { Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { NodeId } from "../../core/types.js";
import { eventually, freePort, LOOPBACK, recordingLogger, transports } from "./helpers.js";

const ts = transports();
afterEach(async () => {
  vi.restoreAllMocks();
  await ts.closeAll();
});

type Received = { from: NodeId; channel: string; payload: unknown };

describe("Transport on loopback", () => {
  it("three nodes exchange messages on several channels", async () => {
    const c = await ts.cluster(["n1", "n2", "n3"]);
    const got = new Map<NodeId, Received[]>();
    for (const [id, t] of c) {
      got.set(id, []);
      for (const channel of ["raft", "rpc"]) {
        t.on(channel, (from, payload) => got.get(id)!.push({ from, channel, payload }));
      }
    }
    for (const [id, t] of c) {
      for (const to of c.keys()) {
        if (to === id) continue;
        expect(t.send(to, "raft", { group: "q1", term: 1, data: new Uint8Array([1, 2]) })).toBe(true);
        expect(t.send(to, "rpc", `hello ${to} from ${id}`)).toBe(true);
      }
    }
    await eventually(() => {
      for (const list of got.values()) expect(list).toHaveLength(4);
    });
    const n2 = got.get("n2")!;
    expect(n2).toContainEqual({ from: "n1", channel: "rpc", payload: "hello n2 from n1" });
    expect(n2).toContainEqual({
      from: "n3",
      channel: "raft",
      payload: { group: "q1", term: 1, data: Buffer.from([1, 2]) },
    });
  });

  it("a received byte string keeps only its own bytes alive, never the socket chunk or other frames", async () => {
    const c = await ts.cluster(["n1", "n2"]);
    const got: Uint8Array[] = [];
    c.get("n2")!.on("raft", (_from, p) => got.push((p as { data: Uint8Array }).data));
    // Written in one turn, so they arrive in one or a few socket chunks.
    for (let i = 0; i < 50; i++) c.get("n1")!.send("n2", "raft", { data: new Uint8Array(100).fill(i) });
    await eventually(() => expect(got).toHaveLength(50));
    got.forEach((d, i) => {
      expect([...d]).toEqual(new Array(100).fill(i));
      // Not a view into the socket chunk or Node's buffer pool (a kept entry would pin them).
      expect(d.buffer.byteLength).toBeLessThan(200);
    });
    expect(new Set(got.map((d) => d.buffer)).size).toBe(50);
  });

  it("uses one connection per ordered pair for every channel", async () => {
    const log = recordingLogger();
    const c = await ts.cluster(["n1", "n2"], { logger: log });
    let got = 0;
    for (const ch of ["raft", "rpc", "snap"]) c.get("n2")!.on(ch, () => got++);
    for (let i = 0; i < 300; i++) c.get("n1")!.send("n2", ["raft", "rpc", "snap"][i % 3]!, i);
    await eventually(() => expect(got).toBe(300));
    const accepted = log.records.filter((r) => r.msg === "peer connected" && r.obj.peer === "n1");
    const dialed = log.records.filter((r) => r.msg === "connected to peer" && r.obj.peer === "n2");
    expect([accepted.length, dialed.length]).toEqual([1, 1]);
  });

  it("preserves the order of one peer's messages across channels and turns", async () => {
    const c = await ts.cluster(["n1", "n2"]);
    const seen: [string, number][] = [];
    const n2 = c.get("n2")!;
    n2.on("a", (_from, p) => seen.push(["a", p as number]));
    n2.on("b", (_from, p) => seen.push(["b", p as number]));
    const n1 = c.get("n1")!;
    const total = 3000;
    for (let i = 0; i < total; i++) {
      n1.send("n2", i % 3 === 0 ? "b" : "a", i);
      // Spread the sends over several event-loop turns.
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    await eventually(() => expect(seen).toHaveLength(total));
    expect(seen.map(([, i]) => i)).toEqual(Array.from({ length: total }, (_, i) => i));
    expect(seen.every(([ch, i]) => ch === (i % 3 === 0 ? "b" : "a"))).toBe(true);
  });

  it("carries payloads of every size up to the frame limit, and refuses larger ones", async () => {
    const c = await ts.cluster(["n1", "n2"], { maxFrameBytes: 4 * 1024 * 1024 });
    const got: Uint8Array[] = [];
    c.get("n2")!.on("blob", (_from, p) => got.push(p as Uint8Array));
    const sizes = [0, 1, 100, 2_040, 8_000, 9_000, 70_000, 1_000_000, 3_000_000];
    const blobs = sizes.map((n, k) => new Uint8Array(n).fill(k + 1));
    for (const b of blobs) expect(c.get("n1")!.send("n2", "blob", b)).toBe(true);
    expect(c.get("n1")!.send("n2", "blob", new Uint8Array(5 * 1024 * 1024))).toBe(false);
    await eventually(() => expect(got).toHaveLength(sizes.length));
    // Compare bytes with Buffer.equals: a deep equality over megabytes takes seconds.
    expect(got.map((b) => b.length)).toEqual(sizes);
    expect(got.every((b, k) => Buffer.from(b).equals(blobs[k]!))).toBe(true);
  });

  it("writes the frames of one turn together", async () => {
    const c = await ts.cluster(["n1", "n2"]);
    const n1 = c.get("n1")!;
    const n2 = c.get("n2")!;
    await eventually(() => expect(n1.isPeerUp("n2")).toBe(true));
    let received = 0;
    n2.on("x", () => received++);
    // Node turns corked writes into one `_writev` call (one syscall) on the socket.
    const proto = Socket.prototype as unknown as {
      _writev: (...a: unknown[]) => void;
      _write: (...a: unknown[]) => void;
    };
    const writev = vi.spyOn(proto, "_writev");
    const write = vi.spyOn(proto, "_write");
    for (let i = 0; i < 200; i++) n1.send("n2", "x", i);
    await eventually(() => expect(received).toBe(200));
    expect(write).not.toHaveBeenCalled();
    expect(writev).toHaveBeenCalledTimes(1);
    expect(writev.mock.calls[0]?.[0]).toHaveLength(200);
  });

  it("reconnects after a peer restarts and reports it down and up", async () => {
    const port = await freePort();
    const n1 = ts.make({ nodeId: "n1" });
    await n1.start();
    const events: string[] = [];
    n1.onPeerDown((p, dir) => events.push(dir === "outbound" ? `down:${p}` : `down-inbound:${p}`));
    n1.onPeerUp((p, dir) => events.push(dir === "outbound" ? `up:${p}` : `up-inbound:${p}`));
    n1.setPeer("n2", { host: LOOPBACK, port });

    const first = ts.make({ nodeId: "n2", listen: { host: LOOPBACK, port } });
    await first.start();
    first.setPeer("n1", n1.address());
    await eventually(() => expect(events).toEqual(["up:n2"]));
    await first.close();
    // Both of n2's connections close: the one n1 sends on and the one n2 sent on.
    await eventually(() => expect(events).toContain("down:n2"));
    await eventually(() => expect(events).toContain("down-inbound:n2"));

    const second = ts.make({ nodeId: "n2", listen: { host: LOOPBACK, port } });
    const got: unknown[] = [];
    second.on("raft", (_from, p) => got.push(p));
    await second.start();
    await eventually(() => expect(events.filter((e) => e === "up:n2")).toHaveLength(2));
    expect(n1.send("n2", "raft", "after restart")).toBe(true);
    await eventually(() => expect(got).toEqual(["after restart"]));
  });

  it("a connection lost in one direction is reported with that direction only", async () => {
    const n1 = ts.make({ nodeId: "n1" });
    const n2 = ts.make({ nodeId: "n2" });
    await n1.start();
    await n2.start();
    const events: string[] = [];
    n1.onPeerDown((p, dir) => events.push(`${p}:${dir}`));
    n1.setPeer("n2", n2.address());
    n2.setPeer("n1", n1.address());
    await eventually(() => expect(n1.isPeerUp("n2") && n2.isPeerUp("n1")).toBe(true));
    // n2 stops sending to n1 (its connection to n1 closes); n1 -> n2 still works.
    n2.removePeer("n1");
    await eventually(() => expect(events).toEqual(["n2:inbound"]));
    expect(n1.isPeerUp("n2")).toBe(true);
  });

  it("bounds the queue of a peer that is down: drops new frames, delivers what it accepted", async () => {
    const port = await freePort();
    const n1 = ts.make({ nodeId: "n1", maxQueueBytes: 10_000 });
    await n1.start();
    n1.setPeer("n2", { host: LOOPBACK, port });
    const payload = "x".repeat(1000);
    const accepted: number[] = [];
    let refused = 0;
    for (let i = 0; i < 50; i++) {
      if (n1.send("n2", "raft", [i, payload])) accepted.push(i);
      else refused++;
    }
    expect(accepted.length).toBeGreaterThan(5);
    expect(accepted.length).toBeLessThan(10);
    expect(refused).toBe(50 - accepted.length);
    expect(n1.stats().framesDropped).toBe(refused);
    expect(n1.send("n9", "raft", "unknown peer")).toBe(false);

    const n2 = ts.make({ nodeId: "n2", listen: { host: LOOPBACK, port } });
    const got: number[] = [];
    n2.on("raft", (_from, p) => got.push((p as [number, string])[0]));
    await n2.start();
    await eventually(() => expect(got).toEqual(accepted));
    // The queue drained: sending works again.
    expect(n1.send("n2", "raft", [99, payload])).toBe(true);
    await eventually(() => expect(got.at(-1)).toBe(99));
  });

  it("removePeer stops sending, setPeer redirects to a new address", async () => {
    const c = await ts.cluster(["n1", "n2", "n3"]);
    const n1 = c.get("n1")!;
    n1.removePeer("n2");
    expect(n1.send("n2", "raft", 1)).toBe(false);
    const got: unknown[] = [];
    c.get("n3")!.on("raft", (_f, p) => got.push(p));
    n1.setPeer("n2", c.get("n3")!.address()); // wrong node at that address: handshake refuses it
    n1.send("n3", "raft", "to n3");
    await eventually(() => expect(got).toEqual(["to n3"]));
    expect(n1.isPeerUp("n2")).toBe(false);
  });

  it("start() rejects when the listen port is taken, and close() still works", async () => {
    const [first] = (await ts.cluster(["n1"])).values();
    const second = ts.make({ nodeId: "n2", listen: first!.address() });
    await expect(second.start()).rejects.toThrow(/EADDRINUSE/);
    await second.close();
  });

  it("close() still delivers what send() accepted on a live connection", async () => {
    const c = await ts.cluster(["n1", "n2"]);
    const n1 = c.get("n1")!;
    await eventually(() => expect(n1.isPeerUp("n2")).toBe(true));
    const got: unknown[] = [];
    c.get("n2")!.on("raft", (_f, p) => got.push(p));
    n1.send("n2", "raft", "last words");
    await n1.close();
    await eventually(() => expect(got).toEqual(["last words"]));
  });

  it("setPeer rejects an address it could never dial", () => {
    const t = ts.make({ nodeId: "n1" });
    expect(() => t.setPeer("n2", { host: LOOPBACK, port: 0 })).toThrow(RangeError);
    expect(() => t.setPeer("n2", { host: LOOPBACK, port: 70_000 })).toThrow(RangeError);
    expect(() => t.setPeer("n2", { host: "", port: 7000 })).toThrow(RangeError);
  });

  it("close() releases every socket, server and timer", async () => {
    const timersBefore = countHandles().Timeout ?? 0;
    const c = await ts.cluster(["n1", "n2", "n3"]);
    const down = await freePort();
    c.get("n1")!.setPeer("n4", { host: LOOPBACK, port: down }); // keeps a reconnect timer armed
    for (const [id, t] of c) for (const to of c.keys()) if (to !== id) t.send(to, "raft", 1);
    await eventually(() => expect(c.get("n1")!.isPeerUp("n3")).toBe(true));
    await ts.closeAll();
    // Poll on setImmediate, not on timers, so the poll itself adds no Timeout handle.
    const deadline = Date.now() + 5_000;
    const done = () => {
      const h = countHandles();
      return !h.TCPSocketWrap && !h.TCPServerWrap && (h.Timeout ?? 0) <= timersBefore;
    };
    while (!done() && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    const { Timeout = 0, ...tcp } = countHandles();
    expect(tcp).toEqual({});
    expect(Timeout).toBeLessThanOrEqual(timersBefore);
  });
});

function countHandles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) {
    if (r === "TCPSocketWrap" || r === "TCPServerWrap" || r === "Timeout") out[r] = (out[r] ?? 0) + 1;
  }
  return out;
}
