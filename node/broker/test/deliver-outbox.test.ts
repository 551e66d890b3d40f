/**
 * Deliveries leaving a queue's leader: grouped per consumer, one transport frame per consumer
 * node, each consumer's messages in order, whatever mix of local and remote consumers.
 */
import { Packr, Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { noopLogger } from "../../../raft/logger.js";
import type { ConsumerRef } from "../../queue/index.js";
import { Consumers } from "../consumers.js";
import type { BrokerContext } from "../context.js";
import { DELIVER_BATCH_CHANNEL, DeliverOutbox } from "../deliver-outbox.js";
import type { Delivery } from "../types.js";

type Handler = (from: string, payload: unknown) => void;

/** Nodes joined by a transport that msgpack-encodes every frame, as the real one does. */
class Net {
  readonly handlers = new Map<string, Handler>();
  readonly frames: { from: string; to: string; channel: string }[] = [];
  private readonly packr = new Packr({ useRecords: false });
  private readonly unpackr = new Unpackr({ useRecords: false, copyBuffers: true });

  node(id: string): { outbox: DeliverOutbox; got: Map<string, number[]>; consumers: Consumers } {
    const transport = {
      on: (channel: string, h: Handler) => this.handlers.set(`${id}:${channel}`, h),
      send: (to: string, channel: string, payload: unknown) => {
        this.frames.push({ from: id, to, channel });
        this.handlers.get(`${to}:${channel}`)?.(id, this.unpackr.unpack(this.packr.pack(payload)));
        return true;
      },
    };
    const ctx = { nodeId: id, logger: noopLogger, transport } as unknown as BrokerContext;
    const consumers = new Consumers(id, () => {});
    const got = new Map<string, number[]>();
    for (const tag of ["a", "b"]) {
      const ids: number[] = [];
      got.set(tag, ids);
      consumers.add({
        connection: `${id}/1`,
        channel: 1,
        tag,
        vhost: "/",
        queue: "q",
        incarnation: 1,
        sink: {
          deliver: (d: Delivery) => {
            expect(d.consumerTag).toBe(tag);
            expect(new TextDecoder().decode(d.body.subarray(0, 8)).replace(/ +$/, "")).toBe(`m${d.id}`);
            ids.push(d.id);
          },
          cancelled: () => {},
        },
        noAck: false,
        window: 100,
        delivered: new Map(),
        sinceCredit: 0,
        cancelled: false,
      });
    }
    return { outbox: new DeliverOutbox(ctx, consumers), got, consumers };
  }
}

function delivery(ref: ConsumerRef, id: number, bytes = 0): Delivery {
  const body = new Uint8Array(Math.max(bytes, 8)).fill(0x20);
  body.set(new TextEncoder().encode(`m${id}`));
  return {
    queue: "q",
    id,
    consumerTag: ref.tag,
    redelivered: false,
    deliveryCount: 0,
    exchange: "",
    routingKey: "q",
    properties: { deliveryMode: 2 },
    body,
  };
}

describe("delivery batches from a queue's leader", () => {
  it("sends one frame per consumer node and keeps each consumer's order", () => {
    const net = new Net();
    const n1 = net.node("n1");
    const n2 = net.node("n2");
    const remoteA: ConsumerRef = { connection: "n2/1", channel: 1, tag: "a" };
    const remoteB: ConsumerRef = { connection: "n2/1", channel: 1, tag: "b" };
    const local: ConsumerRef = { connection: "n1/1", channel: 1, tag: "a" };
    for (let id = 1; id <= 6; id++) {
      const ref = id % 3 === 0 ? local : id % 2 === 0 ? remoteB : remoteA;
      n1.outbox.add(ref, delivery(ref, id));
    }
    n1.outbox.flush();
    expect(net.frames).toEqual([{ from: "n1", to: "n2", channel: DELIVER_BATCH_CHANNEL }]);
    expect(n2.got.get("a")).toEqual([1, 5]);
    expect(n2.got.get("b")).toEqual([2, 4]);
    expect(n1.got.get("a")).toEqual([3, 6]);
    // Nothing is sent twice.
    n1.outbox.flush();
    expect(net.frames).toHaveLength(1);
  });

  it("splits large bodies over several frames, each consumer's order kept", () => {
    const net = new Net();
    const n1 = net.node("n1");
    const n2 = net.node("n2");
    const a: ConsumerRef = { connection: "n2/1", channel: 1, tag: "a" };
    const b: ConsumerRef = { connection: "n2/1", channel: 1, tag: "b" };
    // 10 x 300 KiB: the frame limit of the transport (16 MiB) must never refuse a whole batch.
    for (let id = 1; id <= 10; id++) {
      const ref = id <= 6 ? a : b;
      n1.outbox.add(ref, delivery(ref, id, 300 * 1024));
    }
    n1.outbox.flush();
    expect(net.frames.length).toBeGreaterThan(1);
    expect(n2.got.get("a")).toEqual([1, 2, 3, 4, 5, 6]);
    expect(n2.got.get("b")).toEqual([7, 8, 9, 10]);
  });

  it("drops the same delivery arriving twice (a new leader re-issuing it), not a redelivery", () => {
    const net = new Net();
    const n1 = net.node("n1");
    const n2 = net.node("n2");
    const ref: ConsumerRef = { connection: "n2/1", channel: 1, tag: "a" };
    n1.outbox.add(ref, delivery(ref, 7));
    n1.outbox.flush();
    n1.outbox.add(ref, delivery(ref, 7));
    n1.outbox.add(ref, { ...delivery(ref, 7), redelivered: true, deliveryCount: 1 });
    n1.outbox.flush();
    expect(n2.got.get("a")).toEqual([7, 7]);
  });
});
