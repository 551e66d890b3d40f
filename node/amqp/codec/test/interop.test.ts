import "./fc-config.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Command, CommandAssembler } from "../assembler.js";
import { encodeContentFrames, encodeMethodFrame } from "../frame.js";
import { FrameParser } from "../parser.js";
import { defs, frame } from "./amqplib-oracle.js";

const BASIC_PUBLISH = 60 * 65536 + 40;
const BASIC_DELIVER = 60 * 65536 + 60;

const message = fc.record({
  body: fc.uint8Array({ maxLength: 30_000 }).map((b) => Buffer.from(b)),
  frameMax: fc.integer({ min: 4096, max: 20_000 }),
  routingKey: fc.string({ maxLength: 30 }),
  messageId: fc.string({ maxLength: 20 }),
  priority: fc.integer({ min: 0, max: 9 }),
});

describe("whole messages against amqplib's framing", () => {
  it("a message amqplib frames (publish, properties, body frames) assembles with ours", () => {
    fc.assert(
      fc.property(message, (m) => {
        const chunks = [
          defs.encodeMethod(BASIC_PUBLISH, 1, {
            exchange: "ex",
            routingKey: m.routingKey,
            mandatory: true,
            immediate: false,
          }),
          defs.encodeProperties(60, 1, m.body.length, { messageId: m.messageId, priority: m.priority }),
        ];
        for (let off = 0; off < m.body.length; off += m.frameMax - 8) {
          chunks.push(frame.makeBodyFrame(1, m.body.subarray(off, off + m.frameMax - 8)));
        }
        const parser = new FrameParser({ frameMax: m.frameMax });
        const assembler = new CommandAssembler();
        const commands: Command[] = [];
        for (const f of parser.push(
          Buffer.concat([Buffer.from("AMQP\x00\x00\x09\x01", "latin1"), ...chunks]),
        )) {
          if (f.type === "protocol-header" || f.type === "heartbeat") continue;
          const c = assembler.push(f);
          if (c !== undefined) commands.push(c);
        }
        expect(commands.length).toBe(1);
        const [c] = commands;
        expect(c!.method).toEqual({
          name: "basic.publish",
          exchange: "ex",
          routingKey: m.routingKey,
          mandatory: true,
          immediate: false,
        });
        expect(c!.content!.properties).toEqual({ messageId: m.messageId, priority: m.priority });
        expect(c!.content!.body.equals(m.body)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it("a delivery we frame parses with amqplib's frame parser", () => {
    fc.assert(
      fc.property(message, (m) => {
        const bytes = Buffer.concat([
          encodeMethodFrame(2, {
            name: "basic.deliver",
            consumerTag: "ctag",
            deliveryTag: 7,
            redelivered: true,
            exchange: "ex",
            routingKey: m.routingKey,
          }),
          ...encodeContentFrames(2, 60, { messageId: m.messageId, priority: m.priority }, m.body, m.frameMax),
        ]);
        const decoded = [];
        let rest: Buffer = bytes;
        for (;;) {
          const f = frame.parseFrame(rest, m.frameMax);
          if (f === false) break;
          decoded.push(frame.decodeFrame(f));
          rest = f.rest;
        }
        expect(rest.length).toBe(0);
        const [method, header, ...bodies] = decoded;
        expect(method).toMatchObject({
          id: BASIC_DELIVER,
          channel: 2,
          fields: {
            consumerTag: "ctag",
            deliveryTag: 7,
            redelivered: true,
            exchange: "ex",
            routingKey: m.routingKey,
          },
        });
        expect(header).toMatchObject({
          id: 60,
          size: m.body.length,
          fields: { messageId: m.messageId, priority: m.priority },
        });
        expect(Buffer.concat(bodies.map((b) => b.content!)).equals(m.body)).toBe(true);
        for (const b of bodies) expect(b.content!.length).toBeLessThanOrEqual(m.frameMax - 8);
      }),
      { numRuns: 60 },
    );
  });
});
