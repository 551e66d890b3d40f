/**
 * Each toxic against its documented behaviour (Toxiproxy README, toxics/*.go), through real
 * loopback TCP peers and toxiproxy-node-client. Timing bounds are one-sided where the machine
 * can only make things slower, with generous upper bounds for a loaded 2-core box.
 */
import { type Proxy as ToxiProxyHandle, Toxiproxy } from "toxiproxy-node-client";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startToxiproxyServer, type ToxiproxyServer } from "../index.js";
import { type Peer, Recorder, seeded, startEcho, startGreeter, staysTrue } from "./helpers.js";

let server: ToxiproxyServer;
let echo: Peer;
let greeter: Peer;
let client: Toxiproxy;
let proxy: ToxiProxyHandle;
let seq = 0;

beforeAll(async () => {
  server = await startToxiproxyServer({ host: "127.0.0.1", port: 0, random: seeded(6) });
  echo = await startEcho();
  greeter = await startGreeter("bye");
  client = new Toxiproxy(server.url);
});
afterAll(async () => {
  await server.close();
  await echo.close();
  await greeter.close();
});
afterEach(async () => {
  await proxy.remove();
});

async function through(upstream: Peer): Promise<number> {
  proxy = await client.createProxy({ name: `p${seq++}`, listen: "127.0.0.1:0", upstream: upstream.address });
  return Number(proxy.listen.slice(proxy.listen.lastIndexOf(":") + 1));
}

type Attrs = Record<string, number>;
async function toxic(type: string, stream: "upstream" | "downstream", attributes: Attrs, toxicity = 1) {
  return proxy.addToxic({ name: `${type}_${stream}`, type: type as never, stream, toxicity, attributes });
}

/** Round trip of `n` bytes through the echo, in ms. */
async function roundTrip(c: Recorder, n: number): Promise<number> {
  const before = c.bytes;
  const t0 = performance.now();
  c.socket.write(Buffer.alloc(n, 7));
  return c.receive(before + n, t0, 15_000);
}

describe("toxics", () => {
  it("latency delays data by latency ms, also on connections opened before the toxic", async () => {
    const c = new Recorder(await through(echo));
    expect(await roundTrip(c, 10)).toBeLessThan(2000);
    await toxic("latency", "downstream", { latency: 300, jitter: 0 });
    const rtt = await roundTrip(c, 10);
    expect(rtt).toBeGreaterThanOrEqual(295);
    expect(rtt).toBeLessThan(300 + 3000);
    c.destroy();
  });

  it("latency with jitter stays within latency ± jitter and keeps the byte order", async () => {
    const c = new Recorder(await through(echo));
    await toxic("latency", "upstream", { latency: 200, jitter: 100 });
    for (let i = 0; i < 3; i++) {
      const rtt = await roundTrip(c, 5);
      expect(rtt).toBeGreaterThanOrEqual(95);
      expect(rtt).toBeLessThan(300 + 3000);
    }
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) c.socket.write(String.fromCharCode(65 + i));
    await c.receive(15 + 20, t0);
    expect(c.text().slice(15)).toBe("ABCDEFGHIJKLMNOPQRST");
    c.destroy();
  });

  it("two latency toxics on one direction add up", async () => {
    const c = new Recorder(await through(echo));
    await toxic("latency", "downstream", { latency: 200, jitter: 0 });
    await proxy.addToxic({
      name: "more",
      type: "latency",
      stream: "downstream",
      toxicity: 1,
      attributes: { latency: 200, jitter: 0 },
    });
    expect(await roundTrip(c, 10)).toBeGreaterThanOrEqual(395);
    c.destroy();
  });

  it("toxicity 0 leaves connections untouched", async () => {
    const c = new Recorder(await through(echo));
    await toxic("latency", "downstream", { latency: 20_000, jitter: 0 }, 0);
    expect(await roundTrip(c, 10)).toBeLessThan(5000);
    c.destroy();
  });

  it("bandwidth limits throughput to rate KB/s", async () => {
    const c = new Recorder(await through(echo));
    await toxic("bandwidth", "downstream", { rate: 100 }); // 100 KB/s: 60 KB take ~600 ms
    const elapsed = await roundTrip(c, 60_000);
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(elapsed).toBeLessThan(600 + 5000);
    c.destroy();
  });

  it("timeout stops all data and closes the connection after timeout ms", async () => {
    const c = new Recorder(await through(echo));
    await c.connected();
    // The clock starts when the toxic joins the connection, somewhere inside this request.
    const t0 = performance.now();
    await toxic("timeout", "upstream", { timeout: 300 });
    c.socket.write("lost");
    await c.closedWithin(5000);
    expect(c.endedAt! - t0).toBeGreaterThanOrEqual(295);
    expect(c.bytes).toBe(0);
  });

  it("timeout 0 drops data and holds the connection open; removing the toxic closes what it held", async () => {
    const port = await through(echo);
    const c = new Recorder(port);
    await c.connected();
    const t = await toxic("timeout", "upstream", { timeout: 0 });
    c.socket.write("dropped");
    // An assertion over a window (the toxic's promise is "nothing, for as long as it stays").
    await staysTrue(() => c.bytes === 0 && !c.closed, 300);
    await t.remove();
    // As Toxiproxy's TimeoutToxic.Cleanup: the held connection closes, new ones flow again.
    await c.closedWithin(5000);
    expect(c.bytes).toBe(0);
    const fresh = new Recorder(port);
    expect(await roundTrip(fresh, 3)).toBeLessThan(5000);
    fresh.destroy();
  });

  it("updating a timeout toxic restarts its clock without closing", async () => {
    const c = new Recorder(await through(echo));
    await c.connected();
    const t = await toxic("timeout", "upstream", { timeout: 0 });
    await t.update({ ...t.toJson(), attributes: { timeout: 200 } });
    await c.closedWithin(5000);
    expect(c.errorCode).toBeUndefined();
  });

  it("reset_peer resets the connection (ECONNRESET) timeout ms after data arrives", async () => {
    const c = new Recorder(await through(echo));
    await c.connected();
    await toxic("reset_peer", "downstream", { timeout: 200 });
    const t0 = performance.now();
    c.socket.write("hello");
    await c.closedWithin(5000);
    expect(c.errorCode).toBe("ECONNRESET");
    expect(c.endedAt! - t0).toBeGreaterThanOrEqual(150);
  });

  it("slow_close delays the close by delay ms, data still arrives at once", async () => {
    await through(greeter);
    await toxic("slow_close", "downstream", { delay: 500 });
    const c = new Recorder(Number(proxy.listen.split(":")[1]));
    await c.receive(3, c.openedAt);
    expect(c.text()).toBe("bye");
    await c.closedWithin(5000);
    expect(c.endedAt! - c.openedAt).toBeGreaterThanOrEqual(450);
    expect(c.errorCode).toBeUndefined();
  });

  it("limit_data closes the connection once bytes bytes went through", async () => {
    const c = new Recorder(await through(echo));
    await toxic("limit_data", "downstream", { bytes: 10 });
    c.socket.write("0123456789abcdefghij");
    await c.closedWithin(5000);
    expect(c.text()).toBe("0123456789");
  });

  it("slicer cuts data into small packets with delay microseconds between them, bytes intact", async () => {
    const c = new Recorder(await through(echo));
    await toxic("slicer", "downstream", { average_size: 10, size_variation: 4, delay: 20_000 });
    const payload = "abcdefghijklmnopqrstuvwxyz".repeat(4);
    const t0 = performance.now();
    c.socket.write(payload);
    const elapsed = await c.receive(payload.length, t0);
    expect(c.text()).toBe(payload);
    expect(c.chunks.length).toBeGreaterThanOrEqual(4);
    // At least 7 slices of at most 14 bytes, 20 ms apart.
    expect(elapsed).toBeGreaterThanOrEqual(100);
    c.destroy();
  });

  it("removing a toxic releases what it held, in order", async () => {
    const c = new Recorder(await through(echo));
    const t = await toxic("latency", "upstream", { latency: 60_000, jitter: 0 });
    c.socket.write("held");
    await t.remove();
    expect(await c.receive(4, performance.now(), 5000)).toBeLessThan(5000);
    expect(c.text()).toBe("held");
    c.destroy();
  });
});
