/**
 * SIGTERM of a queue leader while clients are busy on it, as real processes: publishers over HTTP
 * (keep-alive) and AMQP (confirms), an AMQP consumer and a server-sent-event stream each holding
 * unacked messages, a long poll that would wait a minute, and an idle keep-alive socket. What a
 * user must see: the node exits 0 well within its shutdown deadline (it used to hang for as long
 * as clients kept their connections), each client is told (AMQP 320 CONNECTION_FORCED, the poll
 * answers, the stream ends, the socket closes), leadership moves to a survivor at once, and
 * every confirmed message is consumed afterwards. And a stop that cannot finish still ends by
 * the node's `shutdownTimeoutMs`, with exit status 1 and the unfinished steps logged; and a
 * SIGTERM that arrives while the node is still starting stops it cleanly once it is up.
 */
import { mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { Agent, request } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import amqplib from "amqplib";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import {
  agreedLeaderOf,
  type ClusterNode,
  drainQueue,
  freePorts,
  leaderOf,
  NodeProcess,
  queueInfo,
  seg,
  TestCluster,
  tryPublish,
  waitFor,
} from "./harness/index.js";

const V = seg("/");
const AUTH = `Basic ${Buffer.from("guest:guest").toString("base64")}`;
/** The node's default `shutdownTimeoutMs`: a clean exit (status 0) came before it by definition. */
const SHUTDOWN_DEADLINE_MS = 15_000;
const FAILOVER_BUDGET_MS = 20_000;

let cluster: TestCluster;
const agents: Agent[] = [];

beforeAll(async () => {
  cluster = await TestCluster.start();
}, 120_000);

afterEach(({ task }) => {
  if (task.result?.state === "fail") console.error(cluster?.tail(60));
});

afterAll(async () => {
  for (const a of agents) a.destroy();
  await cluster?.destroy();
});

interface Opened {
  readonly res: IncomingMessage;
  readonly socket: Socket;
}

/** A request on its own keep-alive agent; resolves with the response (and its socket) once it started. */
function open(node: ClusterNode, method: string, path: string, body?: unknown): Promise<Opened> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return new Promise((resolve, reject) => {
    const req = request(`${node.http.baseUrl}${path}`, {
      method,
      agent,
      headers: { authorization: AUTH, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    });
    req.on("response", (res) => resolve({ res, socket: req.socket as Socket }));
    req.on("error", reject);
    req.end(body !== undefined ? JSON.stringify(body) : undefined);
  });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    res.setEncoding("utf8");
    res.on("data", (c: string) => {
      text += c;
    });
    res.on("end", () => resolve(text));
    res.on("error", reject);
  });
}

const socketClosed = (s: Socket) =>
  s.destroyed ? Promise.resolve() : new Promise<void>((r) => s.once("close", () => r()));

it("SIGTERM of a busy queue leader exits 0 promptly, tells every client, and loses no confirmed message", async () => {
  const n1 = cluster.node("n1");
  for (const q of ["orders", "quiet"])
    expect((await n1.http.put(`/api/queues/${V}/${q}`, {})).status).toBe(201);
  const victimId = await agreedLeaderOf(
    cluster.nodes.map((n) => n.http),
    "orders",
    FAILOVER_BUDGET_MS,
  );
  const victim = cluster.node(victimId);
  const survivor = cluster.nodes.find((n) => n.id !== victimId) as ClusterNode;
  const confirmed = new Set<string>();

  // Publishers on the victim: HTTP with keep-alive (fetch), AMQP with confirms.
  let publishing = true;
  const httpPublisher = (async () => {
    for (let i = 0; publishing; i++)
      if (await tryPublish(victim.http, "orders", `http-${i}`)) confirmed.add(`http-${i}`);
  })();
  const conn = await amqplib.connect(victim.amqpUrl);
  conn.on("error", () => undefined);
  const amqpClosed = new Promise<Error | undefined>((resolve) =>
    conn.on("close", (err?: Error) => resolve(err)),
  );
  const pub = await conn.createConfirmChannel();
  pub.on("error", () => undefined);
  const amqpPublisher = (async () => {
    for (let i = 0; publishing; i++) {
      const payload = `amqp-${i}`;
      const ok = await Promise.race([
        new Promise<boolean>((resolve) => {
          try {
            pub.sendToQueue("orders", Buffer.from(payload), { persistent: true }, (err) =>
              resolve(err == null),
            );
          } catch {
            resolve(false); // the channel closed under us (amqplib throws): not confirmed
          }
        }),
        amqpClosed.then(() => false),
      ]);
      if (ok) confirmed.add(payload);
      else return;
    }
  })();
  // Consumers on the victim holding unacked messages: AMQP and a stream.
  const sub = await conn.createChannel();
  sub.on("error", () => undefined);
  await sub.prefetch(5);
  await sub.consume("orders", () => undefined, { noAck: false });
  const stream = await open(victim, "GET", `/api/queues/${V}/orders/consume/stream?prefetch=5`);
  const streamText = readAll(stream.res);
  streamText.catch(() => undefined); // awaited below; a failure before then must not go unhandled
  // A long poll on an empty queue, and an idle keep-alive socket.
  const poll = open(victim, "POST", `/api/queues/${V}/quiet/consume`, { max: 10, wait_ms: 60_000 });
  poll.catch(() => undefined);
  const health = await open(victim, "GET", "/health");
  await readAll(health.res);
  const idleClosed = socketClosed(health.socket);

  try {
    await waitFor(
      async () => {
        const [orders, quiet] = await Promise.all([
          queueInfo(victim.http, "/", "orders"),
          queueInfo(victim.http, "/", "quiet"),
        ]);
        return orders.consumers === 2 && quiet.consumers === 1 && confirmed.size >= 40;
      },
      { timeoutMs: 30_000, what: "both consumers, the long poll and 40 confirms" },
    );

    const started = Date.now();
    const exit = await victim.proc.stop("SIGTERM", 30_000);
    const tookMs = Date.now() - started;
    console.log(`SIGTERM of a busy leader: exited ${JSON.stringify(exit)} after ${tookMs} ms`);
    expect(exit, victim.proc.tail()).toEqual({ code: 0, signal: null });
    expect(tookMs).toBeLessThan(SHUTDOWN_DEADLINE_MS);
    expect(victim.proc.tail(400)).not.toContain("stopped uncleanly");

    // Every client was told.
    expect(String(await amqpClosed)).toContain("320 (CONNECTION-FORCED)");
    const answered = await poll;
    expect(answered.res.statusCode).toBe(200);
    expect(JSON.parse(await readAll(answered.res))).toEqual([]);
    expect(await streamText).toContain("event: consumer");
    await idleClosed;

    // Handed over before the exit: a survivor leads without waiting for an election timeout.
    const next = await leaderOf(survivor.http, "orders", FAILOVER_BUDGET_MS, victimId);
    expect(next).not.toBe(victimId);
    console.log(`${next} leads, known ${Date.now() - started - tookMs} ms after ${victimId} exited`);
  } finally {
    publishing = false;
    await Promise.all([httpPublisher, amqpPublisher]);
  }

  // Nothing confirmed was lost: what the victim's consumers held came back too.
  const seen = await drainQueue(survivor.http, "orders", confirmed);
  expect(seen.size).toBeGreaterThanOrEqual(confirmed.size);
});

it("a stop that cannot finish (its only peer frozen) still exits by shutdownTimeoutMs, saying what did not finish", async () => {
  // Two nodes with a 3 s election timeout: the survivor-to-be is frozen, so handing a leadership
  // to it cannot complete before check-quorum (3-6 s) or the hand-off's own cap (6 s), and the
  // transport gives a peer that does not read a grace second; the node's 1 s deadline must end
  // the stop first.
  const slow = await TestCluster.start({
    size: 2,
    env: { WARREN_RAFT_ELECTION_TICK: "30", WARREN_SHUTDOWN_TIMEOUT_MS: "1000" },
    readyTimeoutMs: 90_000,
  });
  try {
    const [a] = slow.nodes as [ClusterNode, ClusterNode];
    // Right after /ready, guest can declare: the first boot creates it with its permissions
    // in one metadata entry, applied before the node says ready.
    const put = await a.http.put(`/api/queues/${V}/frozen-peer`, {});
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const victimId = await agreedLeaderOf(
      slow.nodes.map((n) => n.http),
      "frozen-peer",
      FAILOVER_BUDGET_MS,
    );
    const victim = slow.node(victimId);
    const peer = slow.nodes.find((n) => n.id !== victimId) as ClusterNode;
    process.kill(peer.proc.pid as number, "SIGSTOP");
    try {
      const started = Date.now();
      const exit = await victim.proc.stop("SIGTERM", 30_000);
      const tookMs = Date.now() - started;
      console.log(`SIGTERM with the only peer frozen: exited ${JSON.stringify(exit)} after ${tookMs} ms`);
      const log = victim.proc.tail(400);
      expect(exit, log).toEqual({ code: 1, signal: null });
      const line = log.split("\n").find((l) => l.includes("shutdown deadline passed"));
      console.log(line);
      expect(line, log).toBeDefined();
      expect(line).toContain('"inProgress":');
      // The exit status and the line prove the deadline ended it; this only bounds the wait
      // (one-sided, seconds wide: a loaded machine only adds).
      expect(tookMs).toBeLessThan(6_000);
    } finally {
      process.kill(peer.proc.pid as number, "SIGCONT");
    }
  } catch (err) {
    console.error(slow.tail(40));
    throw err;
  } finally {
    await slow.destroy();
  }
}, 180_000);

it("SIGTERM while the node is still starting (no quorum yet) stops it cleanly once it is up", async () => {
  const dir = await mkdtemp(join(tmpdir(), "warren-early-term-"));
  // Its peers never start: the node waits for a quorum (up to the proposal timeout) before it serves.
  const [http, raft, amqp, p2, p3] = await freePorts(5, "127.0.0.1");
  const proc = new NodeProcess("n1", {
    WARREN_NODE_ID: "n1",
    WARREN_DATA_DIR: join(dir, "n1"),
    WARREN_HTTP_HOST: "127.0.0.1",
    WARREN_HTTP_PORT: String(http),
    WARREN_RAFT_HOST: "127.0.0.1",
    WARREN_RAFT_PORT: String(raft),
    WARREN_AMQP_HOST: "127.0.0.1",
    WARREN_AMQP_PORT: String(amqp),
    WARREN_PEERS: `n2=127.0.0.1:${p2},n3=127.0.0.1:${p3}`,
    WARREN_CLUSTER_SECRET: "an-early-sigterm-test-secret",
    WARREN_LOG_LEVEL: "info",
  });
  try {
    proc.start();
    await waitFor(() => proc.tail(400).includes('"msg":"transport listening"'), {
      timeoutMs: 60_000,
      what: "the node to be starting",
    });
    const exit = await proc.stop("SIGTERM", 30_000);
    const log = proc.tail(400);
    expect(exit, log).toEqual({ code: 0, signal: null });
    expect(log).toContain("signal during startup: stopping once started");
    expect(log).toContain('"msg":"stopped"');
  } finally {
    if (proc.running) await proc.kill();
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);
