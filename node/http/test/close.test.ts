/**
 * Closing the HTTP door (what SIGTERM does first after the AMQP door) over real sockets: a
 * waiting long poll answers at once with nothing, a consume stream ends, an idle keep-alive
 * socket is closed, a keep-alive socket whose request was in flight is closed with its response,
 * and whatever the consumers held returns to the queue. Before this, `close()` waited for every
 * long poll's `wait_ms` and for idle keep-alive sockets to time out (72 s), and a node under
 * client traffic never exited.
 */
import { type Agent, Agent as HttpAgent, request as httpRequest } from "node:http";
import type { Socket } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BrokerCluster } from "../../broker/test/harness.js";
import { buildApp } from "../app.js";
import { type HttpServer, startHttpServer } from "../server.js";
import { type Door, door, eventually, GUEST } from "./helpers.js";

const logger = pino({ level: "silent" });
let cluster: BrokerCluster;
let server: HttpServer;
/** A second app on the same broker, to look at the queues once the door under test is closed. */
let probe: Door;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  socket: Socket;
}

/** One request on `agent`; resolves with the response (and its socket) once the body ended. */
function send(agent: Agent, method: string, path: string, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.address}${path}`, {
      method,
      agent,
      headers: {
        authorization: GUEST,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
    });
    req.on("response", (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        text += c;
      });
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          socket: req.socket as Socket,
        }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body !== undefined ? JSON.stringify(body) : undefined);
  });
}

const closed = (socket: Socket) =>
  socket.destroyed ? Promise.resolve() : new Promise<void>((r) => socket.once("close", () => r()));

const queueState = async (name: string) =>
  (
    await probe.json<{ messages_ready: number; messages_unacknowledged: number; consumers: number }>(
      "GET",
      `/api/queues/%2F/${name}`,
    )
  ).body;

beforeAll(async () => {
  cluster = await BrokerCluster.start(1);
  const broker = cluster.nodes[0]!.broker;
  server = await startHttpServer({
    broker,
    config: { host: "127.0.0.1", port: 0, bodyLimit: 1024 * 1024 },
    logger,
  });
  probe = door(buildApp({ broker, config: { bodyLimit: 1024 * 1024 }, logger }));
  for (const q of ["waits", "streamed"]) await probe.json("PUT", `/api/queues/%2F/${q}`, {});
});
afterAll(async () => {
  await server.close();
  await probe.app.close();
  await cluster.close();
});

it("closes promptly with a long poll, a stream, an idle and a busy keep-alive socket open", async () => {
  const idleAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const busyAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const streamAgent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  try {
    // A keep-alive socket left idle after one request.
    const health = await send(idleAgent, "GET", "/health");
    expect(health.status).toBe(200);
    const idleClosed = closed(health.socket);

    // A long poll that would wait a minute, on a keep-alive socket.
    const poll = send(busyAgent, "POST", "/api/queues/%2F/waits/consume", { max: 10, wait_ms: 60_000 });
    // A stream holding one unacked message.
    const streamEnded = new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${server.address}/api/queues/%2F/streamed/consume/stream`, {
        agent: streamAgent,
        headers: { authorization: GUEST },
      });
      req.on("response", (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          text += c;
        });
        res.on("end", () => resolve(text));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
    await eventually("both consumers", async () => {
      const [w, s] = await Promise.all([queueState("waits"), queueState("streamed")]);
      return w.consumers === 1 && s.consumers === 1;
    });
    await probe.json("POST", "/api/exchanges/%2F/amq.default/publish", {
      routing_key: "streamed",
      payload: "held",
    });
    await eventually("the message held by the stream", async () => {
      return (await queueState("streamed")).messages_unacknowledged === 1;
    });

    const started = Date.now();
    // A generous grace: the door must not need it (nothing here is stuck).
    await server.close({ graceMs: 30_000 });
    const tookMs = Date.now() - started;

    const answered = await poll;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toEqual([]);
    expect(answered.headers.connection).toBe("close");
    await closed(answered.socket);
    await idleClosed;
    expect(await streamEnded).toContain("event: consumer");
    // One-sided bound on a loaded machine: far below the poll's 60 s and the 30 s grace.
    expect(tookMs).toBeLessThan(10_000);

    // Nothing stays with the closed door's consumers.
    await eventually("the consumers gone and the stream's message back", async () => {
      const [w, s] = await Promise.all([queueState("waits"), queueState("streamed")]);
      return (
        w.consumers === 0 && s.consumers === 0 && s.messages_ready === 1 && s.messages_unacknowledged === 0
      );
    });
  } finally {
    for (const a of [idleAgent, busyAgent, streamAgent]) a.destroy();
  }
});
