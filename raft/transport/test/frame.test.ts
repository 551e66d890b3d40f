import { describe, expect, it } from "vitest";
import { backoffDelay, encodeFrame, FrameDecoder, FrameError } from "../index.js";

const body = (n: number, fill: number) => Buffer.alloc(n, fill);

describe("FrameDecoder", () => {
  it("returns the frames of one chunk in order", () => {
    const d = new FrameDecoder(1024);
    const chunk = Buffer.concat([encodeFrame(body(3, 1)), encodeFrame(body(5, 2)), encodeFrame(body(1, 3))]);
    expect(d.push(chunk)).toEqual([body(3, 1), body(5, 2), body(1, 3)]);
    expect(d.pendingBytes).toBe(0);
  });

  it("reassembles frames split at every byte, headers included", () => {
    const d = new FrameDecoder(1024);
    const stream = Buffer.concat([encodeFrame(body(7, 4)), encodeFrame(body(300, 5))]);
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
    expect(out).toEqual([body(7, 4), body(300, 5)]);
  });

  it("rejects an oversized length as soon as the header arrives", () => {
    const d = new FrameDecoder(100);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(101);
    expect(() => d.push(header)).toThrow(FrameError);
  });

  it("rejects an empty frame", () => {
    expect(() => new FrameDecoder(100).push(Buffer.alloc(4))).toThrow(/empty frame/);
  });
});

describe("reconnect backoff", () => {
  const o = { initialMs: 50, maxMs: 2000 };
  it("doubles per attempt up to the cap, with jitter in the upper half", () => {
    expect(backoffDelay(0, o, () => 0)).toBe(25);
    expect(backoffDelay(0, o, () => 0.999999)).toBeCloseTo(50);
    expect(backoffDelay(3, o, () => 0)).toBe(200);
    expect(backoffDelay(10, o, () => 0)).toBe(1000);
    expect(backoffDelay(1000, o, () => 0.999999)).toBeCloseTo(2000);
  });
});
