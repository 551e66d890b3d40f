/**
 * Server-level fuzzing over raw sockets, seeded and bounded: random bytes, mutated valid frames,
 * truncated and oversized frames, wrong channels, unknown class/method ids, invalid table types,
 * bodies longer than announced and frames before the handshake. Every bad connection must end
 * with a connection.close of the right kind or a dropped socket, never 541 (an unhandled bug);
 * meanwhile a well-behaved amqplib publisher on another node carries on, and every message it
 * got a confirm for is still in its queue at the end.
 */
import { describe, expect, it } from "vitest";
import { encodeMethodFrame, type Method, PROTOCOL_HEADER } from "../codec/index.js";
import { eventually, unique } from "./harness.js";
import { RawClient } from "./raw-client.js";
import { useAmqpCluster } from "./suite.js";

/** mulberry32: a small seeded PRNG so every run sends the same bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const declare = (queue: string, args: Record<string, unknown> = {}): Method => ({
  name: "queue.declare",
  queue,
  passive: false,
  durable: false,
  exclusive: true,
  autoDelete: true,
  noWait: false,
  arguments: args as never,
});

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
}

function contentHeader(channel: number, classId: number, bodySize: number): Buffer {
  const p = Buffer.alloc(14);
  p.writeUInt16BE(classId, 0);
  p.writeUInt16BE(0, 2);
  p.writeUInt32BE(0, 4);
  p.writeUInt32BE(bodySize, 8);
  p.writeUInt16BE(0, 12);
  return frame(2, channel, p);
}

const publishFrame = (channel: number) =>
  encodeMethodFrame(channel, {
    name: "basic.publish",
    exchange: "",
    routingKey: "fuzz",
    mandatory: false,
    immediate: false,
  });

/** How a fuzz case must end: a close with one of `codes`, or (if `drop`) the socket dropped. */
interface Expect {
  readonly codes: readonly number[];
  readonly drop: boolean;
}

const PROTOCOL_ERRORS = [501, 502, 503, 504, 505, 530, 540];

describe("AMQP server fuzzing", () => {
  const { c, clients } = useAmqpCluster(3, { frameMax: 8192 });

  async function expectEnd(r: RawClient, e: Expect, what: string): Promise<void> {
    const close = await r.closedWith(8_000).catch((err: unknown) => {
      throw new Error(
        `${what}: ${String(err)}; got ${r.frames.map((f) => (f.type === "method" ? f.method.name : f.type)).join(",")}`,
      );
    });
    if (close === undefined) {
      expect(e.drop, `${what}: dropped without a close`).toBe(true);
    } else {
      expect(close.replyCode, `${what}: ${close.replyText}`).not.toBe(541);
      expect(e.codes, `${what}: ${close.replyCode} ${close.replyText}`).toContain(close.replyCode);
    }
    await eventually(`${what}: socket closed`, () => r.ended, 8_000);
  }

  it("ends every malformed connection properly while a publisher on another node carries on", async () => {
    const q = unique("fuzz-witness");
    const pubConn = await clients.connect(2);
    const pub = await pubConn.createConfirmChannel();
    await pub.assertQueue(q, { durable: true });
    const confirmed: string[] = [];
    let publishing = true;
    let n = 0;
    const publisher = (async () => {
      while (publishing) {
        const body = `m${n++}`;
        pub.sendToQueue(q, Buffer.from(body), { persistent: true });
        try {
          await pub.waitForConfirms();
          confirmed.push(body);
        } catch {
          // A nack (a commit slower than the proposal timeout on a loaded machine) confirms nothing.
        }
      }
    })();

    const random = prng(0x5eed);
    const bytes = (len: number) => Buffer.from(Array.from({ length: len }, () => Math.floor(random() * 256)));
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;

    type Case = {
      name: string;
      handshake: boolean;
      input: () => Buffer[];
      expect: Expect;
      endAfter?: boolean;
    };
    const cases: Case[] = [
      {
        name: "random bytes before the handshake",
        handshake: false,
        input: () => [bytes(1 + Math.floor(random() * 64))],
        expect: { codes: [], drop: true },
      },
      {
        name: "a frame before the protocol header",
        handshake: false,
        input: () => [encodeMethodFrame(0, declare("x"))],
        expect: { codes: [], drop: true },
      },
      {
        name: "random bytes after the protocol header",
        handshake: false,
        input: () => [PROTOCOL_HEADER, bytes(8 + Math.floor(random() * 64))],
        expect: { codes: PROTOCOL_ERRORS, drop: true },
      },
      {
        name: "random frames after the handshake",
        handshake: true,
        input: () => [
          frame(pick([1, 2, 3, 8, 4, 9]), Math.floor(random() * 4), bytes(Math.floor(random() * 40))),
        ],
        expect: { codes: PROTOCOL_ERRORS, drop: true },
      },
      {
        name: "a truncated frame, then the client goes away",
        handshake: true,
        input: () => [encodeMethodFrame(1, declare("t")).subarray(0, 5 + Math.floor(random() * 10))],
        expect: { codes: [], drop: true },
        endAfter: true,
      },
      {
        name: "an oversized frame",
        handshake: true,
        input: () => [frame(3, 1, Buffer.alloc(8192 + Math.floor(random() * 1000)))],
        expect: { codes: [501], drop: true },
      },
      {
        name: "a method on a channel that is not open",
        handshake: true,
        input: () => [encodeMethodFrame(1 + Math.floor(random() * 100), declare("w"))],
        expect: { codes: [504], drop: false },
      },
      {
        name: "a channel above channel_max",
        handshake: true,
        input: () => [encodeMethodFrame(60000, { name: "channel.open" })],
        expect: { codes: [504], drop: false },
      },
      {
        name: "an unknown class/method id",
        handshake: true,
        input: () => {
          const p = Buffer.alloc(4);
          p.writeUInt16BE(pick([11, 99, 60, 200]), 0);
          p.writeUInt16BE(pick([7, 99, 250]), 2);
          return [encodeMethodFrame(1, { name: "channel.open" }), frame(1, 1, p)];
        },
        expect: { codes: [540, 501, 503], drop: false },
      },
      {
        name: "an invalid field table type",
        handshake: true,
        input: () => {
          const f = encodeMethodFrame(1, declare("bad-table", { "x-key": "value" }));
          const at = f.indexOf(Buffer.from("x-key")) + 5;
          f[at] = pick([0x5a, 0x21, 0x7a, 0x01]);
          return [encodeMethodFrame(1, { name: "channel.open" }), f];
        },
        expect: { codes: [502, 501], drop: false },
      },
      {
        name: "a body longer than announced",
        handshake: true,
        input: () => [
          encodeMethodFrame(1, { name: "channel.open" }),
          publishFrame(1),
          contentHeader(1, 60, 3),
          frame(3, 1, bytes(4 + Math.floor(random() * 100))),
        ],
        expect: { codes: [501], drop: false },
      },
      {
        name: "an invalid field type in the content header's headers table",
        handshake: true,
        input: () => {
          const table = Buffer.from([0, 0, 0, 3, 1, 0x6b, pick([0x5a, 0x21, 0x7a, 0x01])]);
          const p = Buffer.alloc(14);
          p.writeUInt16BE(60, 0);
          p.writeUInt32BE(2, 8);
          p.writeUInt16BE(0x2000, 12);
          return [
            encodeMethodFrame(1, { name: "channel.open" }),
            publishFrame(1),
            frame(2, 1, Buffer.concat([p, table])),
            frame(3, 1, Buffer.from("hi")),
          ];
        },
        expect: { codes: [502, 501], drop: false },
      },
      {
        name: "a content header of the wrong class",
        handshake: true,
        input: () => [
          encodeMethodFrame(1, { name: "channel.open" }),
          publishFrame(1),
          contentHeader(1, 50, 3),
        ],
        expect: { codes: [505], drop: false },
      },
      {
        name: "a mutated valid frame sequence",
        handshake: true,
        input: () => {
          const seq = Buffer.concat([
            encodeMethodFrame(1, { name: "channel.open" }),
            encodeMethodFrame(1, declare(`m${Math.floor(random() * 1e6)}`, { "x-max-length": 5, s: "v" })),
            publishFrame(1),
            contentHeader(1, 60, 2),
            frame(3, 1, Buffer.from("hi")),
          ]);
          for (let i = 0; i < 1 + Math.floor(random() * 3); i++)
            seq[Math.floor(random() * seq.length)] = Math.floor(random() * 256);
          return [
            seq,
            encodeMethodFrame(0, {
              name: "connection.close",
              replyCode: 200,
              replyText: "bye",
              classId: 0,
              methodId: 0,
            }),
          ];
        },
        // A mutation may still be valid (the client's own close then ends it: close-ok), or grow
        // a frame's size so the server waits for bytes that never come: the client then leaves.
        expect: { codes: [...PROTOCOL_ERRORS, 403, 404, 405, 406], drop: true },
        endAfter: true,
      },
    ];

    const rounds = 6;
    for (let round = 0; round < rounds; round++) {
      await Promise.all(
        cases.map(async (k, i) => {
          const node = (round + i) % 2;
          const r = k.handshake ? await RawClient.open(c.port(node)) : await RawClient.connect(c.port(node));
          try {
            for (const b of k.input()) r.write(b);
            if (k.endAfter) r.socket.end();
            await expectEnd(r, k.expect, `${k.name} (round ${round})`);
          } finally {
            r.destroy();
          }
        }),
      );
    }

    publishing = false;
    await publisher;
    expect(confirmed.length).toBeGreaterThan(0);
    // Every node still serves, every bad connection is gone, and nothing confirmed was lost.
    for (let i = 0; i < 3; i++) {
      await eventually(
        `node ${i} has only good connections`,
        () => c.servers[i]!.connections() <= (i === 2 ? 1 : 0),
      );
    }
    const reader = await clients.channel(1);
    const bodies = new Set<string>();
    for (;;) {
      const m = await reader.get(q, { noAck: true });
      if (m === false) break;
      bodies.add(m.content.toString());
    }
    for (const b of confirmed) expect(bodies.has(b), `confirmed ${b} kept`).toBe(true);
  });
});
