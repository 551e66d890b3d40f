/**
 * The server-sent-event consumer over a real socket (inject cannot close a stream from the
 * client side): manual ack through the ack endpoint, auto-ack, and a closed stream returning its
 * unacked messages to the queue.
 */
import { type IncomingMessage, request } from "node:http";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BrokerCluster } from "../../broker/test/harness.js";
import { type HttpServer, startHttpServer } from "../server.js";
import { type Door, door, eventually, GUEST } from "./helpers.js";

let cluster: BrokerCluster;
let server: HttpServer;
let d: Door;

interface SseEvent {
  event: string;
  id?: string | undefined;
  data: Record<string, unknown>;
}

/** Opens a stream and collects its events until `close()`. */
async function openStream(
  path: string,
): Promise<{ events: SseEvent[]; res: IncomingMessage; close(): void }> {
  const events: SseEvent[] = [];
  return new Promise((resolve, reject) => {
    const req = request(`${server.address}${path}`, { headers: { authorization: GUEST } }, (res) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const fields = Object.fromEntries(
            block
              .split("\n")
              .filter((l) => !l.startsWith(":"))
              .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
          );
          if (fields.event)
            events.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data ?? "{}") });
        }
      });
      res.on("error", () => undefined);
      resolve({ events, res, close: () => req.destroy() });
    });
    req.on("error", (err) => {
      if (!req.destroyed) reject(err);
    });
    req.end();
  });
}

const counts = async (queue: string) =>
  (
    await d.json<{ messages_ready: number; messages_unacknowledged: number; consumers: number }>(
      "GET",
      `/api/queues/%2F/${queue}`,
    )
  ).body;

beforeAll(async () => {
  cluster = await BrokerCluster.start(1);
  server = await startHttpServer({
    broker: cluster.nodes[0]!.broker,
    config: { host: "127.0.0.1", port: 0, bodyLimit: 1024 * 1024 },
    logger: pino({ level: "silent" }),
  });
  d = door(server.app);
  for (const q of ["s1", "s2", "lp"]) await d.json("PUT", `/api/queues/%2F/${q}`, {});
});
afterAll(async () => {
  await server.close();
  await cluster.close();
});

describe("GET /api/queues/{vhost}/{name}/consume/stream", () => {
  it("streams deliveries, acks through the ack endpoint, and a closed stream returns the rest", async () => {
    const s = await openStream("/api/queues/%2F/s1/consume/stream?prefetch=10");
    expect(s.res.statusCode).toBe(200);
    expect(s.res.headers["content-type"]).toContain("text/event-stream");
    for (const p of ["a", "b", "c"]) {
      await d.json("POST", "/api/exchanges/%2F/amq.default/publish", { routing_key: "s1", payload: p });
    }
    await eventually("three messages", () => s.events.filter((e) => e.event === "message").length === 3);
    expect(s.events[0]).toMatchObject({ event: "consumer", data: { queue: "s1" } });
    const msgs = s.events.filter((e) => e.event === "message");
    expect(msgs.map((e) => e.data.payload)).toEqual(["a", "b", "c"]);
    expect(msgs[0]!.id).toBe(msgs[0]!.data.delivery_id);
    const acked = await d.json("POST", "/api/queues/%2F/s1/ack", { delivery_ids: [msgs[0]!.id] });
    expect(acked.body).toEqual({ settled: [msgs[0]!.id], unknown: [] });
    expect(await counts("s1")).toMatchObject({ messages_unacknowledged: 2, consumers: 1 });

    s.close();
    await eventually("the unacked messages back in the queue", async () => {
      const c = await counts("s1");
      return c.messages_ready === 2 && c.messages_unacknowledged === 0 && c.consumers === 0;
    });
    // They come back redelivered.
    const got = await d.json<Array<{ payload: string; redelivered: boolean }>>(
      "POST",
      "/api/queues/%2F/s1/get",
      {
        count: 2,
        ackmode: "ack_requeue_false",
        encoding: "auto",
      },
    );
    expect(got.body.map((m) => [m.payload, m.redelivered])).toEqual([
      ["b", true],
      ["c", true],
    ]);
  });

  it("auto-ack streams settle as they deliver, past the prefetch window", async () => {
    const s = await openStream("/api/queues/%2F/s2/consume/stream?ack=auto&prefetch=2");
    for (let i = 0; i < 6; i++) {
      await d.json("POST", "/api/exchanges/%2F/amq.default/publish", { routing_key: "s2", payload: `m${i}` });
    }
    await eventually("six messages", () => s.events.filter((e) => e.event === "message").length === 6);
    const msgs = s.events.filter((e) => e.event === "message");
    expect(msgs.map((e) => e.data.payload)).toEqual(["m0", "m1", "m2", "m3", "m4", "m5"]);
    expect(msgs.every((e) => e.id === undefined && e.data.delivery_id === undefined)).toBe(true);
    expect(await counts("s2")).toMatchObject({ messages_ready: 0, messages_unacknowledged: 0 });
    s.close();
    await eventually("the consumer gone", async () => (await counts("s2")).consumers === 0);
  });

  it("an expired lease on a stream redelivers the message", async () => {
    await d.json("PUT", "/api/queues/%2F/s4", {});
    const s = await openStream("/api/queues/%2F/s4/consume/stream?lease_ms=150");
    await d.json("POST", "/api/exchanges/%2F/amq.default/publish", { routing_key: "s4", payload: "again" });
    await eventually("a redelivery", () => s.events.filter((e) => e.event === "message").length === 2);
    const [first, second] = s.events.filter((e) => e.event === "message");
    expect(first!.data).toMatchObject({ payload: "again", redelivered: false });
    expect(second!.data).toMatchObject({ payload: "again", redelivered: true, delivery_count: 1 });
    expect(second!.id).not.toBe(first!.id);
    const acked = await d.json("POST", "/api/queues/%2F/s4/ack", { delivery_ids: [second!.id] });
    expect(acked.body).toEqual({ settled: [second!.id], unknown: [] });
    s.close();
    await eventually("an empty queue", async () => {
      const c = await counts("s4");
      return c.messages_ready === 0 && c.messages_unacknowledged === 0 && c.consumers === 0;
    });
  });

  it("a deleted queue ends the stream with a cancelled event", async () => {
    await d.json("PUT", "/api/queues/%2F/s3", {});
    const s = await openStream("/api/queues/%2F/s3/consume/stream");
    const ended = new Promise((r) => s.res.on("end", r));
    await eventually("the consumer", async () => (await counts("s3")).consumers === 1);
    await d.json("DELETE", "/api/queues/%2F/s3");
    await ended;
    expect(s.events.at(-1)?.event).toBe("cancelled");
  });

  it("an unknown queue is a 404 JSON answer, not a stream", async () => {
    const res = await server.app.inject({
      url: "/api/queues/%2F/none/consume/stream",
      headers: { authorization: GUEST },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "Object Not Found", reason: "Not Found" });
  });
});

describe("POST /api/queues/{vhost}/{name}/consume over a socket", () => {
  const post = (path: string, body: unknown) =>
    new Promise<{ req: ReturnType<typeof request>; done: Promise<{ status: number; body: string }> }>(
      (resolve) => {
        const req = request(`${server.address}${path}`, {
          method: "POST",
          headers: { authorization: GUEST, "content-type": "application/json" },
        });
        const done = new Promise<{ status: number; body: string }>((ok, fail) => {
          req.on("response", (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => {
              text += c;
            });
            res.on("end", () => ok({ status: res.statusCode ?? 0, body: text }));
          });
          req.on("error", fail);
        });
        req.end(JSON.stringify(body));
        resolve({ req, done });
      },
    );

  it("a long poll waits for a message", async () => {
    const { done } = await post("/api/queues/%2F/lp/consume", { max: 1, wait_ms: 10_000 });
    await eventually("the poll's consumer", async () => (await counts("lp")).consumers === 1);
    await d.json("POST", "/api/exchanges/%2F/amq.default/publish", { routing_key: "lp", payload: "waited" });
    const res = await done;
    expect(res.status).toBe(200);
    const [m] = JSON.parse(res.body) as Array<{ payload: string; delivery_id: string }>;
    expect(m?.payload).toBe("waited");
    await d.json("POST", "/api/queues/%2F/lp/ack", { delivery_ids: [m!.delivery_id] });
  });

  it("a client that goes away mid-poll leaves no consumer behind", async () => {
    const { req, done } = await post("/api/queues/%2F/lp/consume", { max: 1, wait_ms: 10_000 });
    done.catch(() => undefined);
    await eventually("the poll's consumer", async () => (await counts("lp")).consumers === 1);
    req.destroy();
    await eventually("the consumer gone", async () => (await counts("lp")).consumers === 0);
    await d.json("POST", "/api/exchanges/%2F/amq.default/publish", { routing_key: "lp", payload: "kept" });
    expect(await counts("lp")).toMatchObject({ messages_ready: 1, messages_unacknowledged: 0 });
  });
});
