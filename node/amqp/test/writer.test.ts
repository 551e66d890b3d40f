/**
 * The frame writer: one socket write per event-loop turn, confirms gathered before it, nothing
 * of a frame that failed to encode, large bodies written as views of the caller's buffer.
 */
import type { Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { encodeContentFrames, encodeMethodFrame, type Method } from "../codec/index.js";
import { Confirms } from "../confirms.js";
import { FrameWriter } from "../writer.js";

/** The part of a socket the writer uses, recording each write. */
function fakeSocket() {
  const writes: Buffer[] = [];
  const socket = {
    destroyed: false,
    writableLength: 0,
    on: () => socket,
    cork: () => {},
    uncork: () => {},
    end: () => {},
    write: (b: Uint8Array) => {
      writes.push(Buffer.from(b));
      return true;
    },
  };
  return { socket: socket as unknown as Socket, writes };
}

const turn = () => new Promise<void>((r) => setImmediate(r));

const ack = (deliveryTag: number, multiple = false): Method => ({ name: "basic.ack", deliveryTag, multiple });

const deliver = (deliveryTag: number): Method => ({
  name: "basic.deliver",
  consumerTag: "c",
  deliveryTag,
  redelivered: false,
  exchange: "",
  routingKey: "q",
});

describe("frame writer", () => {
  it("writes the frames of one turn in one socket write, in order", async () => {
    const { socket, writes } = fakeSocket();
    const w = new FrameWriter(socket);
    w.method(1, ack(1));
    w.content(1, deliver(2), { deliveryMode: 2 }, Buffer.from("hi"));
    w.method(1, ack(3));
    expect(writes).toEqual([]);
    await turn();
    expect(writes).toHaveLength(1);
    expect(writes[0]).toEqual(
      Buffer.concat([
        encodeMethodFrame(1, ack(1)),
        encodeMethodFrame(1, deliver(2)),
        ...encodeContentFrames(1, 60, { deliveryMode: 2 }, Buffer.from("hi"), 131_072),
        encodeMethodFrame(1, ack(3)),
      ]),
    );
  });

  it("keeps the order of a turn larger than one chunk (many deliveries)", async () => {
    const { socket, writes } = fakeSocket();
    const w = new FrameWriter(socket);
    const expected: Buffer[] = [];
    for (let i = 1; i <= 300; i++) {
      const d: Method = deliver(i);
      const body = Buffer.alloc(1000, i % 251);
      w.content(1, d, { deliveryMode: 2 }, body);
      expected.push(
        encodeMethodFrame(1, d),
        ...encodeContentFrames(1, 60, { deliveryMode: 2 }, body, 131_072),
      );
    }
    await turn();
    expect(Buffer.concat(writes)).toEqual(Buffer.concat(expected));
  });

  it("sends nothing of a frame that does not encode, and carries on", async () => {
    const { socket, writes } = fakeSocket();
    const w = new FrameWriter(socket);
    w.method(1, ack(1));
    expect(() => w.method(1, { name: "basic.cancel", consumerTag: "x".repeat(300), noWait: true })).toThrow();
    w.method(1, ack(2));
    await turn();
    expect(Buffer.concat(writes)).toEqual(
      Buffer.concat([encodeMethodFrame(1, ack(1)), encodeMethodFrame(1, ack(2))]),
    );
  });

  it("writes a large body as views after the frames before it, without copying it", async () => {
    const { socket, writes } = fakeSocket();
    const w = new FrameWriter(socket);
    w.frameMax = 4096;
    const body = Buffer.alloc(10_000, 9);
    const d = deliver(1);
    w.method(1, ack(7));
    w.content(1, d, {}, body);
    await turn();
    expect(Buffer.concat(writes)).toEqual(
      Buffer.concat([
        encodeMethodFrame(1, ack(7)),
        encodeMethodFrame(1, d),
        ...encodeContentFrames(1, 60, {}, body, 4096),
      ]),
    );
    expect(writes.some((b) => b.length === 4088 && b.every((x) => x === 9))).toBe(true);
  });

  it("gathers the confirms of a turn into one multiple ack, before the turn's write", async () => {
    const { socket, writes } = fakeSocket();
    const w = new FrameWriter(socket);
    const c = new Confirms(
      (kind, tag, multiple) => w.method(1, kind === "ack" ? ack(tag, multiple) : ack(0)),
      (flush) => w.defer(flush),
    );
    const seqs = [c.take(), c.take(), c.take()];
    for (const s of seqs.reverse()) c.settle(s, "ack");
    await turn();
    expect(Buffer.concat(writes)).toEqual(encodeMethodFrame(1, ack(3, true)));
  });
});
