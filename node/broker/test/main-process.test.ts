/**
 * `node/main.ts` as real processes: a single node and a three-node cluster configured from the
 * environment; each logs a ready line with its addresses, serves HTTP (any node serves any
 * client) and AMQP, and exits 0 on SIGTERM after a graceful shutdown.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqplib from "amqplib";
import { afterEach, expect, it } from "vitest";
import { eventually } from "./harness.js";

const ROOT = join(import.meta.dirname, "../../..");
const AUTH = { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` };

interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

const procs: Proc[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of procs.splice(0)) p.child.kill("SIGKILL");
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

function spawnNode(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ["--import", "tsx", "node/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, WARREN_LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on("data", (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const p = { child, out: () => out, exited };
  procs.push(p);
  return p;
}

function readyLine(p: Proc): Record<string, unknown> | undefined {
  return p
    .out()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((r) => r.msg === "ready");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

it("runs one node, logs ready, and exits 0 on SIGTERM", async () => {
  const dir = await mkdtemp(join(tmpdir(), "warren-main-"));
  dirs.push(dir);
  const p = spawnNode({
    WARREN_NODE_ID: "solo",
    WARREN_DATA_DIR: dir,
    WARREN_RAFT_HOST: "127.0.0.1",
    WARREN_RAFT_PORT: "0",
    WARREN_HTTP_HOST: "127.0.0.1",
    WARREN_HTTP_PORT: "0",
    WARREN_AMQP_HOST: "127.0.0.1",
    WARREN_AMQP_PORT: "0",
  });
  const ready = await eventually("the ready line", () => readyLine(p), 30_000);
  expect(ready.nodeId).toBe("solo");
  expect(String(ready.http)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  // The AMQP door is part of the process: its bound address is in the ready record, and it speaks AMQP.
  const amqpAddr = String(ready.amqp);
  expect(amqpAddr).toMatch(/^127\.0\.0\.1:\d+$/);
  const conn = await amqplib.connect(`amqp://guest:guest@${amqpAddr}`);
  await conn.close();
  const res = await eventually("the node to answer over HTTP", async () => {
    const r = await fetch(`${String(ready.http)}/api/overview`, { headers: AUTH });
    return r.status === 200 ? r : undefined;
  });
  expect(res.status).toBe(200);
  // RabbitMQ's management API gives the user creating a vhost full permissions on it.
  const put = (path: string, body: unknown) =>
    fetch(`${String(ready.http)}${path}`, {
      method: "PUT",
      headers: { ...AUTH, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  expect((await put("/api/vhosts/made-by-guest", {})).status).toBe(201);
  const perms = await fetch(`${String(ready.http)}/api/permissions/made-by-guest/guest`, { headers: AUTH });
  expect(await perms.json()).toMatchObject({ user: "guest", configure: ".*", write: ".*", read: ".*" });
  expect((await put("/api/queues/made-by-guest/jobs", { durable: true })).status).toBe(201);
  p.child.kill("SIGTERM");
  expect(await p.exited).toBe(0);
}, 60_000);

it("runs a three-node cluster of processes: declare on one, publish via another, get via the third", async () => {
  const ids = ["a", "b", "c"];
  const raft = await Promise.all(ids.map(() => freePort()));
  const http = await Promise.all(ids.map(() => freePort()));
  const nodes: Proc[] = [];
  for (const [i, id] of ids.entries()) {
    const dir = await mkdtemp(join(tmpdir(), `warren-main-${id}-`));
    dirs.push(dir);
    const peers = ids
      .map((p, j) => (j === i ? undefined : `${p}=127.0.0.1:${raft[j]};http=127.0.0.1:${http[j]}`))
      .filter((x) => x !== undefined)
      .join(",");
    nodes.push(
      spawnNode({
        WARREN_NODE_ID: id,
        WARREN_DATA_DIR: dir,
        WARREN_PEERS: peers,
        WARREN_CLUSTER_SECRET: "main-process-test-secret",
        WARREN_RAFT_HOST: "127.0.0.1",
        WARREN_RAFT_PORT: String(raft[i]),
        WARREN_HTTP_HOST: "127.0.0.1",
        WARREN_HTTP_PORT: String(http[i]),
        // Each node its own AMQP listener (the default 5672 would collide).
        WARREN_AMQP_HOST: "127.0.0.1",
        WARREN_AMQP_PORT: "0",
      }),
    );
  }
  await eventually("three ready lines", () => nodes.every((p) => readyLine(p) !== undefined), 30_000);
  const url = (i: number, path: string) => `http://127.0.0.1:${http[i]}${path}`;
  const call = (i: number, method: string, path: string, body?: unknown) =>
    fetch(url(i, path), {
      method,
      headers: { ...AUTH, "content-type": "application/json" },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  await eventually("guest on every node", async () => {
    for (let i = 0; i < 3; i++) if ((await call(i, "GET", "/api/overview")).status !== 200) return false;
    return true;
  });
  expect((await call(0, "PUT", "/api/queues/%2F/jobs", { durable: true })).status).toBe(201);
  await eventually("the queue led and known on node b", async () => {
    const r = await call(1, "GET", "/api/queues/%2F/jobs");
    return r.status === 200 && ((await r.json()) as { leader: string | null }).leader !== null;
  });
  const pub = await call(1, "POST", "/api/exchanges/%2F/amq.default/publish", {
    routing_key: "jobs",
    payload: "job-1",
    payload_encoding: "string",
    properties: {},
  });
  expect(await pub.json()).toEqual({ routed: true });
  const got = await eventually("the message via node c", async () => {
    const r = await call(2, "POST", "/api/queues/%2F/jobs/get", {
      count: 1,
      ackmode: "ack_requeue_false",
      encoding: "auto",
    });
    if (r.status !== 200) return undefined;
    const list = (await r.json()) as { payload: string }[];
    return list.length > 0 ? list : undefined;
  });
  expect(got[0]!.payload).toBe("job-1");

  // /api/nodes on any node: every node's listeners as bound (AMQP on port 0 here, so only the
  // node itself knows it) and its uptime, the answering node's and its peers'.
  const readies = nodes.map((p) => readyLine(p) as Record<string, unknown>);
  const listed = (await (await call(1, "GET", "/api/nodes")).json()) as Array<Record<string, unknown>>;
  expect(listed.map((n) => n.name)).toEqual(ids);
  for (const [i, n] of listed.entries()) {
    expect(n).toMatchObject({
      running: true,
      raft_listener: readies[i]!.raft,
      http_listener: String(readies[i]!.http).replace(/^http:\/\//, ""),
      amqp_listener: readies[i]!.amqp,
    });
    expect(n.amqp_listener).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(n.uptime).toBeGreaterThan(0);
  }

  for (const p of nodes) p.child.kill("SIGTERM");
  expect(await Promise.all(nodes.map((p) => p.exited))).toEqual([0, 0, 0]);
}, 90_000);

it("refuses to start, exit 1, when its AMQP port is taken, and says which port", async () => {
  const dir = await mkdtemp(join(tmpdir(), "warren-main-"));
  dirs.push(dir);
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(0, "127.0.0.1", resolve));
  const addr = squatter.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : 0;
  try {
    const p = spawnNode({
      WARREN_NODE_ID: "solo",
      WARREN_DATA_DIR: dir,
      WARREN_RAFT_HOST: "127.0.0.1",
      WARREN_RAFT_PORT: "0",
      WARREN_HTTP_HOST: "127.0.0.1",
      WARREN_HTTP_PORT: "0",
      WARREN_AMQP_HOST: "127.0.0.1",
      WARREN_AMQP_PORT: String(port),
    });
    expect(await p.exited).toBe(1);
    expect(p.out()).toContain(`refusing to start: cannot listen for AMQP on 127.0.0.1:${port} (EADDRINUSE`);
    expect(readyLine(p)).toBeUndefined();
  } finally {
    squatter.close();
  }
}, 60_000);
