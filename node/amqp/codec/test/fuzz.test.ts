/**
 * Codec-level fuzzing: random and mutated byte streams through parser and assembler must end in a
 * typed AmqpFrameError (with one of the codec's reply codes) or AmqpProtocolHeaderError, or in
 * clean frames; never a TypeError/RangeError, never a hang. Targeted mutations check the code.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CommandAssembler } from "../assembler.js";
import { AmqpFrameError, AmqpProtocolHeaderError } from "../errors.js";
import { decodeTableBody } from "../field-table.js";
import { encodeContentFrames, encodeMethodFrame, PROTOCOL_HEADER } from "../frame.js";
import { METHOD_SPECS, type Method } from "../generated/methods.js";
import { decodeMethod } from "../method-codec.js";
import { FrameParser } from "../parser.js";
import { decodeProperties } from "../properties.js";
import { methodArgs } from "./arbitraries.js";

const CODES = [501, 502, 505, 540];

/** A valid client byte stream: protocol header, then methods and published messages. */
const validStream = fc
  .array(
    fc.oneof(
      fc
        .constantFrom(...METHOD_SPECS.filter((s) => !s.content))
        .chain((spec) =>
          fc
            .tuple(fc.integer({ min: 0, max: 3 }), methodArgs(spec))
            .map(([ch, args]) => [encodeMethodFrame(ch, args as unknown as Method)]),
        ),
      fc.tuple(fc.integer({ min: 1, max: 3 }), fc.uint8Array({ maxLength: 9000 })).map(([ch, body]) => [
        encodeMethodFrame(ch, {
          name: "basic.publish",
          exchange: "",
          routingKey: "q",
          mandatory: false,
          immediate: false,
        }),
        ...encodeContentFrames(ch, 60, { headers: { a: [1, "b"] }, messageId: "m" }, body, 4096),
      ]),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((parts) => Buffer.concat([PROTOCOL_HEADER, ...parts.flat()]));

interface Outcome {
  readonly commands: number;
  readonly error: unknown;
}

/** Feeds the stream in chunks to a parser and an assembler, as a connection would. */
function run(bytes: Buffer, chunkSizes: readonly number[], frameMax = 4096): Outcome {
  const parser = new FrameParser({ frameMax });
  const assembler = new CommandAssembler();
  let commands = 0;
  let pos = 0;
  let i = 0;
  try {
    while (pos < bytes.length) {
      const n = Math.max(1, chunkSizes[i++ % Math.max(1, chunkSizes.length)] ?? bytes.length);
      for (const f of parser.push(bytes.subarray(pos, pos + n))) {
        if (f.type === "protocol-header" || f.type === "heartbeat") continue;
        const cmd = assembler.push(f);
        if (cmd !== undefined) commands++;
      }
      pos += n;
    }
  } catch (error) {
    return { commands, error };
  }
  return { commands, error: undefined };
}

function expectTyped(o: Outcome): void {
  if (o.error === undefined) return;
  if (o.error instanceof AmqpProtocolHeaderError) return;
  expect(o.error).toBeInstanceOf(AmqpFrameError);
  expect(CODES).toContain((o.error as AmqpFrameError).replyCode);
}

const chunking = fc.array(fc.integer({ min: 1, max: 5000 }), { maxLength: 8 });

describe("codec fuzzing", () => {
  it("valid streams parse completely in any chunking", () => {
    fc.assert(
      fc.property(validStream, chunking, (bytes, chunks) => {
        expect(run(bytes, chunks).error).toBeUndefined();
      }),
      { numRuns: 60 },
    );
  });

  it("random bytes after the header end in a typed error or nothing", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), chunking, (junk, chunks) => {
        expectTyped(run(Buffer.concat([PROTOCOL_HEADER, junk]), chunks));
      }),
      { numRuns: 400 },
    );
  });

  it("random frames with plausible headers end in a typed error or clean commands", () => {
    const frame = fc
      .tuple(
        fc.constantFrom(1, 2, 3, 8, 0, 4, 206),
        fc.integer({ min: 0, max: 3 }),
        fc.uint8Array({ maxLength: 200 }),
      )
      .map(([type, ch, payload]) => {
        const head = Buffer.alloc(7);
        head[0] = type;
        head.writeUInt16BE(ch, 1);
        head.writeUInt32BE(payload.length, 3);
        return Buffer.concat([head, payload, Buffer.from([0xce])]);
      });
    const methodish = fc
      .tuple(fc.constantFrom(...METHOD_SPECS), fc.uint8Array({ maxLength: 60 }))
      .map(([spec, args]) => {
        const payload = Buffer.concat([
          Buffer.from([spec.classId >> 8, spec.classId & 255, 0, spec.methodId]),
          args,
        ]);
        const head = Buffer.from([1, 0, 1, 0, 0, 0, 0]);
        head.writeUInt32BE(payload.length, 3);
        return Buffer.concat([head, payload, Buffer.from([0xce])]);
      });
    fc.assert(
      fc.property(fc.array(fc.oneof(frame, methodish), { maxLength: 10 }), chunking, (frames, chunks) => {
        expectTyped(run(Buffer.concat([PROTOCOL_HEADER, ...frames]), chunks));
      }),
      { numRuns: 500 },
    );
  });

  it("mutated valid streams (flipped, inserted, deleted octets; truncation) end in a typed error or clean commands", () => {
    const mutation = fc.oneof(
      fc.tuple(fc.constant("flip" as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
      fc.tuple(fc.constant("insert" as const), fc.nat(), fc.integer({ min: 0, max: 255 })),
      fc.tuple(fc.constant("delete" as const), fc.nat(), fc.integer({ min: 1, max: 20 })),
      fc.tuple(fc.constant("truncate" as const), fc.nat(), fc.constant(0)),
    );
    fc.assert(
      fc.property(
        validStream,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        chunking,
        (bytes, muts, chunks) => {
          let b = Buffer.from(bytes);
          for (const [kind, at, v] of muts) {
            const p = at % b.length;
            if (kind === "flip") b[p] = v;
            else if (kind === "insert")
              b = Buffer.concat([b.subarray(0, p), Buffer.from([v]), b.subarray(p)]);
            else if (kind === "delete") b = Buffer.concat([b.subarray(0, p), b.subarray(p + v)]);
            else b = b.subarray(0, p);
            if (b.length === 0) return;
          }
          expectTyped(run(b, chunks));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("random bytes as a table, as any method's arguments, as basic properties: a typed error or a value", () => {
    const typedOnly = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(AmqpFrameError);
        expect(CODES).toContain((e as AmqpFrameError).replyCode);
      }
    };
    // Bytes biased towards valid tags and small lengths, so decoding gets past the first octets.
    const octets = fc.array(
      fc.oneof(
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom(..."tbBsuIilLfdDSATFVx".split("").map((c) => c.charCodeAt(0))),
        fc.constantFrom(0, 1, 2, 3),
      ),
      { maxLength: 300 },
    );
    fc.assert(
      fc.property(octets, fc.constantFrom(...METHOD_SPECS), (bytes, spec) => {
        const buf = Buffer.from(bytes);
        typedOnly(() => decodeTableBody(buf, 0, buf.length, 0));
        typedOnly(() => decodeProperties(60, buf, 0, buf.length));
        const payload = Buffer.concat([Buffer.from([0, spec.classId, 0, spec.methodId]), buf]);
        typedOnly(() => decodeMethod(payload, 0, payload.length, 1));
      }),
      { numRuns: 1500 },
    );
  });

  it("oversized frames are 501 as soon as their header arrives", () => {
    fc.assert(
      fc.property(fc.integer({ min: 4097, max: 0xffff_ffff }), fc.constantFrom(1, 2, 3, 8), (size, type) => {
        const head = Buffer.from([type, 0, 1, 0, 0, 0, 0]);
        head.writeUInt32BE(size, 3);
        const o = run(Buffer.concat([PROTOCOL_HEADER, head]), []);
        expect(o.error).toMatchObject({ replyCode: 501 });
      }),
    );
  });

  it("a bad frame end is 501; a truncated stream is no error, just waiting for more", () => {
    fc.assert(
      fc.property(validStream, fc.nat(), (bytes, at) => {
        const cut = 8 + (at % (bytes.length - 8));
        const o = run(bytes.subarray(0, cut), []);
        expect(o.error).toBeUndefined();
        const bad = Buffer.from(bytes);
        bad[bad.length - 1] = 0xcd;
        expect(run(bad, []).error).toMatchObject({ replyCode: 501 });
      }),
      { numRuns: 100 },
    );
  });

  it("unknown class/method ids are 540", () => {
    const known = new Set(METHOD_SPECS.map((s) => s.classId * 65536 + s.methodId));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), (c, m) => {
        fc.pre(!known.has(c * 65536 + m));
        const frame = Buffer.from([1, 0, 1, 0, 0, 0, 4, c >> 8, c & 255, m >> 8, m & 255, 0xce]);
        expect(run(Buffer.concat([PROTOCOL_HEADER, frame]), []).error).toMatchObject({ replyCode: 540 });
      }),
    );
  });

  it("an invalid type tag in a field table is 502", () => {
    const valid = new Set("tbBsuIilLfdDSATFVx".split("").map((c) => c.charCodeAt(0)));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), (tag) => {
        fc.pre(!valid.has(tag));
        const frame = encodeMethodFrame(1, {
          name: "queue.declare",
          queue: "q",
          passive: false,
          durable: false,
          exclusive: false,
          autoDelete: false,
          noWait: false,
          arguments: { k: true },
        });
        const bad = Buffer.from(frame);
        bad[bad.length - 3] = tag; // the tag of "k" (then its 1-octet value, then frame end)
        expect(run(Buffer.concat([PROTOCOL_HEADER, bad]), []).error).toMatchObject({ replyCode: 502 });
      }),
    );
  });

  // (With 0 announced the command is complete at the header, and the body frame is then 505.)
  it("bodies longer than announced are 501", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 500 }), (announced, extra) => {
        const method = encodeMethodFrame(1, {
          name: "basic.publish",
          exchange: "",
          routingKey: "q",
          mandatory: false,
          immediate: false,
        });
        const [header] = encodeContentFrames(1, 60, {}, Buffer.alloc(0), 4096);
        const h = Buffer.from(header!);
        h.writeUInt32BE(announced, 15); // low word of the body size
        const payload = Buffer.alloc(announced + extra);
        const body = Buffer.concat([Buffer.from([3, 0, 1, 0, 0, 0, 0]), payload, Buffer.from([0xce])]);
        body.writeUInt32BE(payload.length, 3);
        expect(run(Buffer.concat([PROTOCOL_HEADER, method, h, body]), []).error).toMatchObject({
          replyCode: 501,
        });
      }),
    );
  });
});
