/**
 * The HTTP API of our Toxiproxy server, driven through toxiproxy-node-client (the client the
 * chaos suite uses) and, for error bodies, raw fetch.
 */
import { Toxiproxy } from "toxiproxy-node-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../../harness/poll.js";
import { freePorts } from "../../harness/ports.js";
import { startToxiproxyServer, type ToxiproxyServer } from "../index.js";
import { type Peer, Recorder, startEcho } from "./helpers.js";

let server: ToxiproxyServer;
let echo: Peer;
let client: Toxiproxy;

beforeAll(async () => {
  server = await startToxiproxyServer({ host: "127.0.0.1", port: 0 });
  echo = await startEcho();
  client = new Toxiproxy(server.url);
});
afterAll(async () => {
  await server.close();
  await echo.close();
});

async function raw(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
  });
  const text = await res.text();
  return { status: res.status, json: text === "" ? undefined : JSON.parse(text) };
}

function portOf(listen: string): number {
  return Number(listen.slice(listen.lastIndexOf(":") + 1));
}

describe("toxiproxy API", () => {
  it("reports its version", async () => {
    expect(JSON.parse(await client.getVersion())).toEqual({ version: expect.any(String) });
  });

  it("creates, lists, shows, updates and deletes proxies; the listen address carries the bound port", async () => {
    const p = await client.createProxy({ name: "crud", listen: "127.0.0.1:0", upstream: echo.address });
    expect(p.enabled).toBe(true);
    expect(portOf(p.listen)).toBeGreaterThan(0);
    expect(Object.keys(await client.getAll())).toContain("crud");
    expect((await client.get("crud")).upstream).toBe(echo.address);
    const disabled = await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    expect(disabled.enabled).toBe(false);
    await p.remove();
    await expect(client.get("crud")).rejects.toThrow(/404/);
  });

  it("answers errors with Toxiproxy's status codes and JSON bodies", async () => {
    await client.createProxy({ name: "dup", listen: "127.0.0.1:0", upstream: echo.address });
    await expect(
      client.createProxy({ name: "dup", listen: "127.0.0.1:0", upstream: echo.address }),
    ).rejects.toThrow(/409/);
    expect(await raw("POST", "/proxies", { name: "dup", upstream: echo.address })).toEqual({
      status: 409,
      json: { error: "proxy already exists", status: 409 },
    });
    expect(await raw("GET", "/proxies/nope")).toEqual({
      status: 404,
      json: { error: "proxy not found", status: 404 },
    });
    expect((await raw("POST", "/proxies", { name: "x" })).json).toEqual({
      error: "missing required field: upstream",
      status: 400,
    });
    expect((await raw("POST", "/proxies/dup/toxics", { type: "nonsense" })).json).toEqual({
      error: "invalid toxic type",
      status: 400,
    });
    expect((await raw("POST", "/proxies/dup/toxics", { type: "latency", stream: "sideways" })).status).toBe(
      400,
    );
    expect(
      (await raw("POST", "/proxies/dup/toxics", { type: "latency", attributes: { latency: "x" } })).status,
    ).toBe(400);
    expect((await raw("GET", "/proxies/dup/toxics/none")).json).toEqual({
      error: "toxic not found",
      status: 404,
    });
    expect((await raw("DELETE", "/proxies/nope")).status).toBe(404);
    const badJson = await fetch(`${server.url}/proxies`, { method: "POST", body: "{" });
    expect(badJson.status).toBe(400);
    await (await client.get("dup")).remove();
  });

  it("manages toxics: defaults, show, list, update, conflicts, delete", async () => {
    const p = await client.createProxy({ name: "tox", listen: "127.0.0.1:0", upstream: echo.address });
    const created = await raw("POST", "/proxies/tox/toxics", {
      type: "latency",
      attributes: { latency: 50 },
    });
    expect(created).toEqual({
      status: 200,
      json: {
        name: "latency_downstream",
        type: "latency",
        stream: "downstream",
        toxicity: 1,
        attributes: { latency: 50, jitter: 0 },
      },
    });
    const t = await p.addToxic({
      name: "slow",
      type: "bandwidth",
      stream: "upstream",
      toxicity: 0.5,
      attributes: { rate: 10 },
    });
    expect(t.toJson()).toEqual({
      name: "slow",
      type: "bandwidth",
      stream: "upstream",
      toxicity: 0.5,
      attributes: { rate: 10 },
    });
    await expect(
      p.addToxic({
        name: "slow",
        type: "latency",
        stream: "upstream",
        toxicity: 1,
        attributes: { latency: 1, jitter: 0 },
      }),
    ).rejects.toThrow(/409/);
    const updated = await t.update({ ...t.toJson(), toxicity: 1, attributes: { rate: 20 } });
    expect(updated.attributes).toEqual({ rate: 20 });
    expect(updated.toxicity).toBe(1);
    expect((await p.getToxic("slow")).attributes).toEqual({ rate: 20 });
    // Upstream toxics are listed first, as Toxiproxy walks its chains by direction.
    expect(
      ((await raw("GET", "/proxies/tox/toxics")).json as Array<{ name: string }>).map((x) => x.name),
    ).toEqual(["slow", "latency_downstream"]);
    expect((await client.get("tox")).toJson()).toMatchObject({ name: "tox", enabled: true });
    await updated.remove();
    await expect(p.getToxic("slow")).rejects.toThrow(/404/);
    await p.remove();
  });

  it("populates proxies, keeping unchanged ones and replacing changed ones", async () => {
    const first = await client.populate([
      { name: "pop-a", listen: "127.0.0.1:0", upstream: echo.address },
      { name: "pop-b", listen: "127.0.0.1:0", upstream: echo.address, enabled: false },
    ]);
    expect(first["pop-a"]?.enabled).toBe(true);
    expect(first["pop-b"]?.enabled).toBe(false);
    const again = await client.populate([
      { name: "pop-a", listen: first["pop-a"]!.listen, upstream: echo.address },
    ]);
    expect(again["pop-a"]?.listen).toBe(first["pop-a"]!.listen);
    expect((await raw("POST", "/populate", [{ name: "" }])).status).toBe(400);
    await (await client.get("pop-a")).remove();
    await (await client.get("pop-b")).remove();
  });

  it("enabled=false cuts existing connections and refuses new ones; enabling again lets clients in", async () => {
    const p = await client.createProxy({ name: "toggle", listen: "127.0.0.1:0", upstream: echo.address });
    const port = portOf(p.listen);
    const c = new Recorder(port);
    c.socket.write("ping");
    await c.receive(4, performance.now());
    await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    await c.closedWithin(5000);
    const refused = new Recorder(port);
    await waitFor(() => refused.errorCode, { timeoutMs: 5000, what: "a refused connection" });
    expect(refused.errorCode).toBe("ECONNREFUSED");
    await p.update({ enabled: true, listen: p.listen, upstream: p.upstream });
    const again = new Recorder(port);
    again.socket.write("pong");
    await again.receive(4, performance.now());
    expect(again.text()).toBe("pong");
    again.destroy();
    await p.remove();
  });

  it("closes the client's connection when the upstream refuses", async () => {
    const [dead] = await freePorts(1);
    const p = await client.createProxy({
      name: "dead",
      listen: "127.0.0.1:0",
      upstream: `127.0.0.1:${dead}`,
    });
    const c = new Recorder(portOf(p.listen));
    await c.closedWithin(5000);
    expect(c.bytes).toBe(0);
    await p.remove();
  });

  it("reset re-enables every proxy and removes every toxic", async () => {
    const p = await client.createProxy({ name: "reset", listen: "127.0.0.1:0", upstream: echo.address });
    await p.addToxic({
      name: "t",
      type: "timeout",
      stream: "upstream",
      toxicity: 1,
      attributes: { timeout: 0 },
    });
    await p.update({ enabled: false, listen: p.listen, upstream: p.upstream });
    await client.reset();
    const after = await client.get("reset");
    expect(after.enabled).toBe(true);
    expect(((await raw("GET", "/proxies/reset")).json as { toxics: unknown[] }).toxics).toEqual([]);
    const c = new Recorder(portOf(after.listen));
    c.socket.write("hello");
    await c.receive(5, performance.now());
    c.destroy();
    await after.remove();
  });

  it("passes a large stream through unchanged", async () => {
    const p = await client.createProxy({ name: "bulk", listen: "127.0.0.1:0", upstream: echo.address });
    const payload = Buffer.alloc(4 << 20, 0);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const c = new Recorder(portOf(p.listen));
    c.socket.end(payload);
    await c.receive(payload.length, performance.now(), 30_000);
    await c.closedWithin(5000);
    expect(Buffer.concat(c.chunks).equals(payload)).toBe(true);
    await p.remove();
  });
});
