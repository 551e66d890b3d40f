/**
 * Messages over HTTP on one real node: RabbitMQ's publish and get, and Warren's consume API
 * (long-poll leases, ack, nack, lease expiry) with its documented errors.
 */
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../app.js";
import { type Door, door, eventually, type HttpCluster, startHttpCluster } from "./helpers.js";

let hc: HttpCluster;
let d: Door;

interface Msg {
  payload: string;
  payload_bytes: number;
  payload_encoding: string;
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  message_count?: number;
  properties: Record<string, unknown>;
  delivery_id?: string;
  delivery_count?: number;
}

const publish = (queue: string, payload: string, extra: Record<string, unknown> = {}) =>
  d.json<{ routed: boolean }>("POST", "/api/exchanges/%2F/amq.default/publish", {
    routing_key: queue,
    payload,
    ...extra,
  });

const counts = async (queue: string) =>
  (
    await d.json<{ messages_ready: number; messages_unacknowledged: number }>(
      "GET",
      `/api/queues/%2F/${queue}`,
    )
  ).body;

beforeAll(async () => {
  hc = await startHttpCluster(1, 64 * 1024, { maxMessageSize: 16 * 1024 });
  d = hc.doors[0]!;
  for (const q of ["pub", "getq", "cq", "nq", "lq", "bad", "shut"])
    await d.json("PUT", `/api/queues/%2F/${q}`, {});
});
afterAll(async () => {
  await hc.close();
});

describe("publish (RabbitMQ's management route)", () => {
  it("answers routed after commit and maps properties and encodings", async () => {
    const r = await publish("pub", Buffer.from([0xff, 0x00, 0x01]).toString("base64"), {
      payload_encoding: "base64",
      properties: {
        delivery_mode: 2,
        content_type: "application/octet-stream",
        headers: { "x-n": 1 },
        message_id: "m1",
      },
    });
    expect(r).toEqual({ status: 200, body: { routed: true } });
    expect((await counts("pub")).messages_ready).toBe(1);
    const [m] = (
      await d.json<Msg[]>("POST", "/api/queues/%2F/pub/get", {
        count: 1,
        ackmode: "ack_requeue_false",
        encoding: "auto",
      })
    ).body;
    expect(m).toMatchObject({
      payload: "/wAB",
      payload_encoding: "base64",
      payload_bytes: 3,
      redelivered: false,
      exchange: "",
      routing_key: "pub",
      message_count: 0,
      properties: {
        delivery_mode: 2,
        content_type: "application/octet-stream",
        headers: { "x-n": 1 },
        message_id: "m1",
      },
    });
  });

  it("an unroutable message is routed:false; an unknown exchange is 404", async () => {
    expect((await publish("no-such-queue", "x")).body).toEqual({ routed: false });
    const res = await d.json("POST", "/api/exchanges/%2F/nope/publish", { routing_key: "", payload: "x" });
    expect(res).toEqual({ status: 404, body: { error: "Object Not Found", reason: "Not Found" } });
  });

  it("bad requests get 400/413 and the node keeps serving", async () => {
    const missing = await d.json<{ error: string; reason: string }>(
      "POST",
      "/api/exchanges/%2F/amq.default/publish",
      { payload: "x" },
    );
    expect(missing).toEqual({
      status: 400,
      body: { error: "bad_request", reason: "body must have required property 'routing_key'" },
    });
    const wrongType = await d.json("POST", "/api/exchanges/%2F/amq.default/publish", {
      routing_key: "bad",
      payload: { a: 1 },
    });
    expect(wrongType.status).toBe(400);
    const badEnc = await d.json("POST", "/api/exchanges/%2F/amq.default/publish", {
      routing_key: "bad",
      payload: "x",
      payload_encoding: "gzip",
    });
    expect(badEnc.status).toBe(400);
    const badMode = await d.json("POST", "/api/exchanges/%2F/amq.default/publish", {
      routing_key: "bad",
      payload: "x",
      properties: { delivery_mode: 7 },
    });
    expect(badMode.status).toBe(400);
    const huge = await d.json<{ error: string }>("POST", "/api/exchanges/%2F/amq.default/publish", {
      routing_key: "bad",
      payload: "x".repeat(100 * 1024),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error).toBe("bad_request");
    // Under the body limit but over max_message_size: refused by the broker as RabbitMQ does (406).
    const big = await d.json<{ error: string; reason: string }>(
      "POST",
      "/api/exchanges/%2F/amq.default/publish",
      {
        routing_key: "bad",
        payload: "x".repeat(20 * 1024),
      },
    );
    expect(big.status).toBe(400);
    expect(big.body.reason).toBe(
      "406 PRECONDITION_FAILED - message size 20480 is larger than configured max size 16384",
    );
    expect((await counts("bad")).messages_ready).toBe(0);
    expect((await publish("bad", "still serving")).body).toEqual({ routed: true });
  });
});

describe("get (RabbitMQ's management route)", () => {
  it("ack_requeue_true leaves messages in the queue, redelivered", async () => {
    await publish("getq", "one");
    await publish("getq", "two");
    const first = await d.json<Msg[]>("POST", "/api/queues/%2F/getq/get", {
      count: 5,
      ackmode: "ack_requeue_true",
      encoding: "auto",
    });
    expect(first.body.map((m) => [m.payload, m.redelivered, m.message_count])).toEqual([
      ["one", false, 1],
      ["two", false, 0],
    ]);
    expect((await counts("getq")).messages_ready).toBe(2);
    const again = await d.json<Msg[]>("POST", "/api/queues/%2F/getq/get", {
      count: 1,
      ackmode: "ack_requeue_false",
      encoding: "base64",
      truncate: 2,
    });
    expect(again.body).toEqual([
      expect.objectContaining({
        payload: Buffer.from("on").toString("base64"),
        payload_bytes: 3,
        payload_encoding: "base64",
        redelivered: true,
      }),
    ]);
    expect((await counts("getq")).messages_ready).toBe(1);
  });

  it("reject_requeue_false removes the message; an empty queue gives []", async () => {
    const r = await d.json<Msg[]>("POST", "/api/queues/%2F/getq/get", {
      count: 1,
      ackmode: "reject_requeue_false",
      encoding: "auto",
    });
    expect(r.body.map((m) => m.payload)).toEqual(["two"]);
    expect(
      (
        await d.json("POST", "/api/queues/%2F/getq/get", {
          count: 1,
          ackmode: "ack_requeue_false",
          encoding: "auto",
        })
      ).body,
    ).toEqual([]);
  });

  it("an unknown queue is 404, an unknown ackmode 400", async () => {
    expect(
      (
        await d.json("POST", "/api/queues/%2F/none/get", {
          count: 1,
          ackmode: "ack_requeue_false",
          encoding: "auto",
        })
      ).status,
    ).toBe(404);
    expect(
      (await d.json("POST", "/api/queues/%2F/getq/get", { count: 1, ackmode: "keep", encoding: "auto" }))
        .status,
    ).toBe(400);
  });
});

describe("consume with leases (beyond RabbitMQ)", () => {
  it("leases messages under delivery ids; ack removes them", async () => {
    await publish("cq", "c1");
    await publish("cq", "c2");
    const { status, body } = await d.json<Msg[]>("POST", "/api/queues/%2F/cq/consume", {
      max: 10,
      wait_ms: 200,
      lease_ms: 60_000,
    });
    expect(status).toBe(200);
    expect(body.map((m) => m.payload)).toEqual(["c1", "c2"]);
    expect(body.every((m) => typeof m.delivery_id === "string" && m.redelivered === false)).toBe(true);
    expect(await counts("cq")).toMatchObject({ messages_ready: 0, messages_unacknowledged: 2 });
    const acked = await d.json("POST", "/api/queues/%2F/cq/ack", {
      delivery_ids: [body[0]!.delivery_id, "bogus"],
    });
    expect(acked.body).toEqual({ settled: [body[0]!.delivery_id], unknown: ["bogus"] });
    await d.json("POST", "/api/queues/%2F/cq/ack", { delivery_ids: [body[1]!.delivery_id] });
    expect(await counts("cq")).toMatchObject({ messages_ready: 0, messages_unacknowledged: 0 });
    // a delivery id settles once
    expect(
      (await d.json("POST", "/api/queues/%2F/cq/ack", { delivery_ids: [body[1]!.delivery_id] })).body,
    ).toEqual({
      settled: [],
      unknown: [body[1]!.delivery_id],
    });
  });

  it("long-polls until a message arrives", async () => {
    const pending = d.json<Msg[]>("POST", "/api/queues/%2F/cq/consume", { max: 1, wait_ms: 10_000 });
    await eventually(
      "the poll's consumer",
      async () => (await d.json<{ consumers: number }>("GET", "/api/queues/%2F/cq")).body.consumers === 1,
    );
    await publish("cq", "late");
    const { body } = await pending;
    expect(body.map((m) => m.payload)).toEqual(["late"]);
    await d.json("POST", "/api/queues/%2F/cq/ack", { delivery_ids: [body[0]!.delivery_id] });
  });

  it("returns [] after wait_ms on an empty queue and leaves no consumer", async () => {
    const t0 = Date.now();
    expect((await d.json("POST", "/api/queues/%2F/cq/consume", { max: 5, wait_ms: 100 })).body).toEqual([]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    await eventually(
      "no consumers",
      async () => (await d.json<{ consumers: number }>("GET", "/api/queues/%2F/cq")).body.consumers === 0,
    );
  });

  it("nack requeues (redelivered) or rejects", async () => {
    await publish("nq", "n1");
    const [m1] = (await d.json<Msg[]>("POST", "/api/queues/%2F/nq/consume", { max: 1 })).body;
    expect(
      (await d.json("POST", "/api/queues/%2F/nq/nack", { delivery_ids: [m1!.delivery_id] })).body,
    ).toEqual({
      settled: [m1!.delivery_id],
      unknown: [],
    });
    const [m2] = (await d.json<Msg[]>("POST", "/api/queues/%2F/nq/consume", { max: 1 })).body;
    expect(m2).toMatchObject({ payload: "n1", redelivered: true, delivery_count: 1 });
    expect(m2!.properties.headers).toMatchObject({ "x-delivery-count": 1 });
    await d.json("POST", "/api/queues/%2F/nq/nack", { delivery_ids: [m2!.delivery_id], requeue: false });
    expect(await counts("nq")).toMatchObject({ messages_ready: 0, messages_unacknowledged: 0 });
  });

  it("an expired lease returns the message to the queue, redelivered", async () => {
    await publish("lq", "leased");
    const [m] = (await d.json<Msg[]>("POST", "/api/queues/%2F/lq/consume", { max: 1, lease_ms: 100 })).body;
    expect(m?.payload).toBe("leased");
    await eventually("the lease to expire", async () => (await counts("lq")).messages_ready === 1);
    const late = await d.json("POST", "/api/queues/%2F/lq/ack", { delivery_ids: [m!.delivery_id] });
    expect(late.body).toEqual({ settled: [], unknown: [m!.delivery_id] });
    const [again] = (await d.json<Msg[]>("POST", "/api/queues/%2F/lq/consume", { max: 1 })).body;
    expect(again).toMatchObject({ payload: "leased", redelivered: true });
    await d.json("POST", "/api/queues/%2F/lq/ack", { delivery_ids: [again!.delivery_id] });
  });

  it("bad consume requests are 400 and an unknown queue is 404", async () => {
    expect((await d.json("POST", "/api/queues/%2F/cq/consume", { max: 0 })).status).toBe(400);
    expect((await d.json("POST", "/api/queues/%2F/cq/consume", { wait_ms: "soon" })).status).toBe(400);
    expect((await d.json("POST", "/api/queues/%2F/cq/ack", { delivery_ids: [] })).status).toBe(400);
    expect((await d.json("POST", "/api/queues/%2F/none/consume", { max: 1 })).status).toBe(404);
  });

  it("closing the door returns leased messages to their queue", async () => {
    const other = door(
      buildApp({
        broker: hc.cluster.nodes[0]!.broker,
        config: { bodyLimit: 1024 },
        logger: pino({ level: "silent" }),
      }),
    );
    await publish("shut", "s");
    const got = await other.json<Msg[]>("POST", "/api/queues/%2F/shut/consume", {
      max: 1,
      lease_ms: 600_000,
    });
    expect(got.body.map((m) => m.payload)).toEqual(["s"]);
    expect(other.app.warren.sessions.leaseCount()).toBe(1);
    await other.app.close();
    expect(await counts("shut")).toMatchObject({ messages_ready: 1, messages_unacknowledged: 0 });
  });
});
