import { describe, expect, it } from "vitest";
import { CommandAssembler } from "../assembler.js";
import { AmqpFrameError } from "../errors.js";
import { encodeContentFrames, encodeMethodFrame } from "../frame.js";
import type { Method } from "../generated/methods.js";
import { type BodyFrame, ContentHeaderFrame, type Frame, FrameParser, type MethodFrame } from "../parser.js";

const publish: Method = {
  name: "basic.publish",
  exchange: "",
  routingKey: "q",
  mandatory: false,
  immediate: false,
};

function frames(...chunks: Buffer[]): (MethodFrame | ContentHeaderFrame | BodyFrame)[] {
  const parser = new FrameParser({ frameMax: 0, expectProtocolHeader: false });
  const out: Frame[] = [];
  for (const c of chunks) for (const f of parser.push(c)) if (f.type !== "protocol-header") out.push(f);
  return out.filter((f) => f.type !== "heartbeat");
}

function publishFrames(channel: number, body: Buffer, frameMax = 4096) {
  return frames(
    encodeMethodFrame(channel, publish),
    ...encodeContentFrames(channel, 60, { appId: "t" }, body, frameMax),
  );
}

function error(fn: () => unknown): AmqpFrameError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AmqpFrameError) return e;
    throw e;
  }
  throw new Error("no error");
}

describe("CommandAssembler (rabbit_command_assembler)", () => {
  it("a method without content is a command at once", () => {
    const a = new CommandAssembler();
    const [f] = frames(
      encodeMethodFrame(3, { name: "basic.qos", prefetchSize: 0, prefetchCount: 5, global: false }),
    );
    expect(a.push(f!)).toEqual({
      channel: 3,
      method: { name: "basic.qos", prefetchSize: 0, prefetchCount: 5, global: false },
    });
  });

  it("basic.publish + header + body frames make one command; a single body frame is not copied", () => {
    const a = new CommandAssembler();
    const body = Buffer.alloc(10_000, 3);
    const fs = publishFrames(1, body);
    const results = fs.map((f) => a.push(f));
    expect(results.slice(0, -1).every((r) => r === undefined)).toBe(true);
    const cmd = results.at(-1)!;
    expect(cmd.method).toEqual(publish);
    expect(cmd.content?.properties).toEqual({ appId: "t" });
    expect(cmd.content?.body).toEqual(body);

    const one = publishFrames(1, Buffer.alloc(100, 1));
    a.push(one[0]!);
    a.push(one[1]!);
    const single = one[2] as BodyFrame;
    expect(a.push(single)?.content?.body).toBe(single.payload);
  });

  it("an empty body completes with the header", () => {
    const a = new CommandAssembler();
    const [m, h] = publishFrames(1, Buffer.alloc(0));
    a.push(m!);
    expect(a.push(h!)?.content?.body.length).toBe(0);
  });

  it("channels assemble independently", () => {
    const a = new CommandAssembler();
    const one = publishFrames(1, Buffer.from("one"));
    const two = publishFrames(2, Buffer.from("two"));
    const done = [one[0], two[0], two[1], one[1], one[2], two[2]].map((f) => a.push(f!)).filter((c) => c);
    expect(done.map((c) => [c!.channel, c!.content!.body.toString()])).toEqual([
      [1, "one"],
      [2, "two"],
    ]);
  });

  it("content where a method is expected is 505 UNEXPECTED_FRAME", () => {
    const [, h, b] = publishFrames(1, Buffer.from("x"));
    expect(error(() => new CommandAssembler().push(h!))).toMatchObject({
      replyCode: 505,
      message: "expected method frame, got non method frame instead",
    });
    expect(error(() => new CommandAssembler().push(b!))).toMatchObject({ replyCode: 505 });
  });

  it("a method where the content header is expected is 505, naming the pending method", () => {
    const a = new CommandAssembler();
    const [m] = publishFrames(1, Buffer.from("x"));
    a.push(m!);
    expect(error(() => a.push(m!))).toMatchObject({
      replyCode: 505,
      classId: 60,
      methodId: 40,
      message: "expected content header for class 60, got non content header frame instead",
    });
  });

  it("a header of another class, or with a weight, is 505 even if its properties are garbage", () => {
    const a = new CommandAssembler();
    const [m] = publishFrames(1, Buffer.from("x"));
    a.push(m!);
    const wrongClass = new ContentHeaderFrame(1, 50, 0, 1, Buffer.from([0xff, 0xff]));
    expect(error(() => a.push(wrongClass))).toMatchObject({
      replyCode: 505,
      message: "expected content header for class 60, got one for class 50 instead",
    });
    const b = new CommandAssembler();
    b.push(m!);
    expect(error(() => b.push(new ContentHeaderFrame(1, 60, 1, 1, Buffer.alloc(2))))).toMatchObject({
      replyCode: 505,
    });
  });

  it("a body longer than announced is 501 FRAME_ERROR", () => {
    const a = new CommandAssembler();
    const [m] = publishFrames(1, Buffer.from("x"));
    a.push(m!);
    a.push(new ContentHeaderFrame(1, 60, 0, 3, Buffer.from([0, 0])));
    a.push({ type: "body", channel: 1, payload: Buffer.from("ab") });
    expect(error(() => a.push({ type: "body", channel: 1, payload: Buffer.from("cd") }))).toMatchObject({
      replyCode: 501,
      message: "content body frame exceeds remaining content size",
    });
  });

  it("a method before the body is complete is 505", () => {
    const a = new CommandAssembler();
    const [m] = publishFrames(1, Buffer.from("x"));
    a.push(m!);
    a.push(new ContentHeaderFrame(1, 60, 0, 3, Buffer.from([0, 0])));
    expect(error(() => a.push(m!))).toMatchObject({
      replyCode: 505,
      message: "expected content body, got non content body frame instead",
    });
  });

  it("a body size over the limit is refused at the header with 501", () => {
    const a = new CommandAssembler({ maxBodySize: 10 });
    const [m] = publishFrames(1, Buffer.from("x"));
    a.push(m!);
    expect(error(() => a.push(new ContentHeaderFrame(1, 60, 0, 11, Buffer.from([0, 0]))))).toMatchObject({
      replyCode: 501,
    });
  });

  it("reset forgets a channel's partial command", () => {
    const a = new CommandAssembler();
    const [m] = publishFrames(4, Buffer.from("x"));
    a.push(m!);
    expect(a.inContent(4)).toBe(true);
    a.reset(4);
    expect(a.inContent(4)).toBe(false);
  });
});
