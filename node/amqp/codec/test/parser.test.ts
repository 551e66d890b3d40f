import "./fc-config.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AmqpFrameError, AmqpProtocolHeaderError } from "../errors.js";
import { encodeContentFrames, encodeHeartbeat, encodeMethodFrame, PROTOCOL_HEADER } from "../frame.js";
import type { Method } from "../generated/methods.js";
import { type Frame, FrameParser } from "../parser.js";

const publish: Method = {
  name: "basic.publish",
  exchange: "ex",
  routingKey: "rk",
  mandatory: true,
  immediate: false,
};
const ack: Method = { name: "basic.ack", deliveryTag: 42, multiple: true };

function collect(parser: FrameParser, chunks: readonly Buffer[]): Frame[] {
  const out: Frame[] = [];
  for (const c of chunks) for (const f of parser.push(c)) if (f.type !== "protocol-header") out.push(f);
  return out;
}

/** Plain data for comparing frames (header frames are class instances with a lazy getter). */
function plain(f: Frame): unknown {
  if (f.type === "header") {
    return { ...f, properties: f.properties, rawProperties: f.rawProperties.toString("hex") };
  }
  // Strings: deep equality of big Buffers is slow in vitest.
  if (f.type === "body") return { ...f, payload: f.payload.toString("base64") };
  return f;
}

function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

const frameStream = fc
  .array(
    fc.oneof(
      fc.constant([encodeMethodFrame(1, ack)]),
      fc.constant([encodeHeartbeat()]),
      fc
        .tuple(fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 20_000 }))
        .map(([ch, body]) => [
          encodeMethodFrame(ch, publish),
          ...encodeContentFrames(ch, 60, { contentType: "x/y", headers: { n: ch } }, body, 4096),
        ]),
    ),
    { maxLength: 8 },
  )
  .map((parts) => Buffer.concat(parts.flat()));

describe("FrameParser", () => {
  it("yields the same frames however the byte stream is cut into chunks", () => {
    fc.assert(
      fc.property(frameStream, fc.array(fc.nat(), { maxLength: 30 }), (bytes, cuts) => {
        const whole = collect(new FrameParser({ frameMax: 4096, expectProtocolHeader: false }), [bytes]);
        const parser = new FrameParser({ frameMax: 4096, expectProtocolHeader: false });
        const pieces = collect(parser, splitAt(bytes, cuts));
        expect(pieces.map(plain)).toEqual(whole.map(plain));
        expect(parser.pending).toBe(0);
      }),
      { numRuns: 150 },
    );
  });

  it("checks the protocol header first, even split byte by byte", () => {
    const parser = new FrameParser();
    const bytes = Buffer.concat([PROTOCOL_HEADER, encodeMethodFrame(0, { name: "connection.close-ok" })]);
    const seen: string[] = [];
    for (let i = 0; i < bytes.length; i++)
      for (const f of parser.push(bytes.subarray(i, i + 1))) seen.push(f.type);
    expect(seen).toEqual(["protocol-header", "method"]);
  });

  it("accepts the 0-9 header as RabbitMQ does", () => {
    const parser = new FrameParser();
    expect([...parser.push(Buffer.from("AMQP\x01\x01\x00\x09", "latin1"))]).toEqual([
      { type: "protocol-header" },
    ]);
  });

  it("reports a wrong protocol header with what was received, then ignores the socket", () => {
    const parser = new FrameParser();
    const e = thrown(() => [...parser.push(Buffer.from("AMQP\x00\x00\x08\x00rest", "latin1"))]);
    expect(e).toBeInstanceOf(AmqpProtocolHeaderError);
    expect((e as AmqpProtocolHeaderError).received).toEqual(Buffer.from("AMQP\x00\x00\x08\x00", "latin1"));
    expect(parser.desynchronized).toBe(true);
    expect([...parser.push(encodeMethodFrame(0, ack))]).toEqual([]);
  });

  it("refuses an HTTP request as soon as the first bytes differ", () => {
    const e = thrown(() => [...new FrameParser().push(Buffer.from("GET "))]);
    expect(e).toBeInstanceOf(AmqpProtocolHeaderError);
  });

  it("refuses a frame over frame_max from its 7-octet header alone (501), and stops reading", () => {
    const parser = new FrameParser({ frameMax: 4096, expectProtocolHeader: false });
    const big = encodeContentFrames(1, 60, {}, Buffer.alloc(5000), 0);
    const bodyFrame = Buffer.concat(big).subarray(big[0]!.length);
    const e = thrown(() => [...parser.push(bodyFrame.subarray(0, 7))]);
    expect(e).toBeInstanceOf(AmqpFrameError);
    expect(e).toMatchObject({ replyCode: 501 });
    expect(parser.desynchronized).toBe(true);
  });

  it("accepts a payload of frame_max octets (RabbitMQ's allowance for clients off by the overhead)", () => {
    const parser = new FrameParser({ frameMax: 4096, expectProtocolHeader: false });
    const frame = Buffer.concat([
      Buffer.from([3, 0, 1, 0, 0, 0x10, 0]),
      Buffer.alloc(4096),
      Buffer.from([0xce]),
    ]);
    expect(collect(parser, [frame]).map((f) => f.type)).toEqual(["body"]);
    const stricter = new FrameParser({ frameMax: 4095, expectProtocolHeader: false });
    expect(thrown(() => collect(stricter, [frame]))).toMatchObject({ replyCode: 501 });
  });

  it("frame_max may be raised after tuning", () => {
    const parser = new FrameParser({ expectProtocolHeader: false });
    parser.frameMax = 131072;
    const frames = encodeContentFrames(1, 60, {}, Buffer.alloc(100_000, 1), 131072);
    expect(collect(parser, [Buffer.concat(frames)]).map((f) => f.type)).toEqual(["header", "body"]);
  });

  it("a bad frame-end octet is 501 and desynchronizes, after the good frames before it", () => {
    const good = encodeMethodFrame(1, ack);
    const bad = Buffer.from(encodeMethodFrame(1, ack));
    bad[bad.length - 1] = 0x00;
    const parser = new FrameParser({ expectProtocolHeader: false });
    const seen: string[] = [];
    const e = thrown(() => {
      for (const f of parser.push(Buffer.concat([good, bad, good]))) seen.push(f.type);
    });
    expect(seen).toEqual(["method"]);
    expect(e).toMatchObject({ replyCode: 501 });
    expect(collect(parser, [good])).toEqual([]);
  });

  it("an unknown frame type is 501 but keeps frame sync: later frames (close-ok) still parse", () => {
    const weird = Buffer.from([7, 0, 1, 0, 0, 0, 1, 0x55, 0xce]);
    const closeOk = encodeMethodFrame(0, { name: "connection.close-ok" });
    const parser = new FrameParser({ expectProtocolHeader: false });
    expect(thrown(() => collect(parser, [Buffer.concat([weird, closeOk])]))).toMatchObject({
      replyCode: 501,
    });
    expect(parser.desynchronized).toBe(false);
    expect(collect(parser, [Buffer.alloc(0)]).map(plain)).toEqual([
      { type: "method", channel: 0, method: { name: "connection.close-ok" } },
    ]);
  });

  it("a heartbeat with a payload is 501", () => {
    const parser = new FrameParser({ expectProtocolHeader: false });
    const hb = Buffer.from([8, 0, 0, 0, 0, 0, 1, 0, 0xce]);
    expect(thrown(() => collect(parser, [hb]))).toMatchObject({ replyCode: 501 });
  });

  it("body payloads are views of the received chunk, not copies", () => {
    const body = Buffer.alloc(1000, 9);
    const chunk = Buffer.concat(encodeContentFrames(1, 60, {}, body, 4096));
    const frames = collect(new FrameParser({ expectProtocolHeader: false }), [chunk]);
    const b = frames[1]!;
    expect(b.type).toBe("body");
    if (b.type !== "body") return;
    expect(b.payload.buffer).toBe(chunk.buffer);
    expect(b.payload).toEqual(body);
  });

  it("leaving the loop early keeps the remaining frames for the next push", () => {
    const parser = new FrameParser({ expectProtocolHeader: false });
    const two = Buffer.concat([encodeMethodFrame(1, ack), encodeMethodFrame(2, ack)]);
    for (const f of parser.push(two)) {
      expect(f).toMatchObject({ channel: 1 });
      break;
    }
    expect(collect(parser, [Buffer.alloc(0)]).map((f) => f.channel)).toEqual([2]);
  });
});

it("a chunk pushed is kept even if the result is not iterated", () => {
  const parser = new FrameParser({ expectProtocolHeader: false });
  const frame = encodeMethodFrame(1, ack);
  parser.push(frame.subarray(0, 5));
  parser.push(frame.subarray(5));
  expect(collect(parser, [Buffer.alloc(0)]).map(plain)).toEqual([
    { type: "method", channel: 1, method: ack },
  ]);
});

describe("encodeContentFrames", () => {
  it("splits a body into frames of at most frame_max octets, each a view of the body", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 50_000 }),
        fc.integer({ min: 4096, max: 20_000 }),
        (size, frameMax) => {
          const body = Buffer.alloc(size, 7);
          const chunks = encodeContentFrames(9, 60, { priority: 1 }, body, frameMax);
          const frames = collect(new FrameParser({ frameMax, expectProtocolHeader: false }), [
            Buffer.concat(chunks),
          ]);
          const header = frames[0]!;
          expect(header).toMatchObject({ type: "header", bodySize: size, channel: 9 });
          const bodies = frames.slice(1);
          expect(bodies.length).toBe(Math.ceil(size / (frameMax - 8)));
          for (const f of bodies) expect(f.type === "body" && f.payload.length <= frameMax - 8).toBe(true);
          // Buffer.equals: vitest's deep equality is slow on big buffers.
          const joined = Buffer.concat(bodies.map((f) => (f.type === "body" ? f.payload : Buffer.alloc(0))));
          expect(joined.equals(body)).toBe(true);
          if (size > 4096) {
            const views = chunks.filter((c) => c.buffer === body.buffer);
            expect(views.length).toBe(bodies.length);
          } else {
            expect(chunks.length).toBe(1);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("heartbeats are type 8 on channel 0 with an empty payload", () => {
    expect(encodeHeartbeat()).toEqual(Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]));
  });
});
