/**
 * The door's pure parts: confirm batching, delivery tags, tune negotiation, SASL responses.
 */
import { describe, expect, it } from "vitest";
import { WarrenError } from "../../errors.js";
import { decodeTableBody, encodeTable } from "../codec/index.js";
import { Confirms } from "../confirms.js";
import { DeliveryTags } from "../deliveries.js";
import { negotiate, parseSaslResponse } from "../handshake.js";

describe("publisher confirms", () => {
  function recorder() {
    const sent: string[] = [];
    const c = new Confirms((kind, tag, multiple) =>
      sent.push(`${kind} ${tag}${multiple ? " multiple" : ""}`),
    );
    return { c, sent };
  }

  it("sends a run of consecutive outcomes as one multiple ack, from the lowest outstanding up", () => {
    const { c, sent } = recorder();
    const seqs = [c.take(), c.take(), c.take(), c.take()];
    expect(seqs).toEqual([1, 2, 3, 4]);
    c.settle(2, "ack");
    c.settle(3, "ack");
    expect(sent).toEqual([]);
    c.settle(1, "ack");
    expect(sent).toEqual(["ack 3 multiple"]);
    c.settle(4, "ack");
    expect(sent).toEqual(["ack 3 multiple", "ack 4"]);
    expect(c.outstanding).toBe(0);
  });

  it("splits runs where acks and nacks alternate", () => {
    const { c, sent } = recorder();
    for (let i = 0; i < 5; i++) c.take();
    c.settle(5, "ack");
    c.settle(4, "ack");
    c.settle(3, "nack");
    c.settle(2, "ack");
    c.settle(1, "ack");
    expect(sent).toEqual(["ack 2 multiple", "nack 3", "ack 5 multiple"]);
  });
});

describe("delivery tags", () => {
  const u = (id: number) => ({ queue: `q${id % 2}`, id, consumerTag: "c" });

  it("counts from 1 and remembers only deliveries that need an ack", () => {
    const t = new DeliveryTags();
    expect(t.add(u(10), true)).toBe(1);
    expect(t.add(u(11), false)).toBe(2);
    expect(t.add(u(12), true)).toBe(3);
    expect(t.size).toBe(2);
    expect(() => t.take(2, false)).toThrow("unknown delivery tag 2");
  });

  it("takes everything up to a tag with multiple, everything with tag 0", () => {
    const t = new DeliveryTags();
    for (let i = 1; i <= 5; i++) t.add(u(i), true);
    expect(t.take(3, true).map((x) => x.id)).toEqual([1, 2, 3]);
    expect(() => t.take(3, false)).toThrow(WarrenError);
    expect(t.take(0, true).map((x) => x.id)).toEqual([4, 5]);
    expect(() => t.take(9, true)).toThrow("unknown delivery tag 9");
  });
});

describe("tune negotiation (rabbit_reader)", () => {
  it("accepts values up to the offer and refuses 0 or more when the server has a limit", () => {
    expect(negotiate("frame_max", 131072, 4096, 131072)).toBe(131072);
    expect(negotiate("frame_max", 131072, 4096, 8192)).toBe(8192);
    expect(() => negotiate("frame_max", 131072, 4096, 0)).toThrow(
      "negotiated frame_max = 0 is higher than the maximum allowed value (131072)",
    );
    expect(() => negotiate("frame_max", 131072, 4096, 100)).toThrow(
      "negotiated frame_max = 100 is lower than the minimum allowed value (4096)",
    );
    expect(negotiate("channel_max", 0, 1, 0)).toBe(0);
  });
});

describe("SASL responses", () => {
  const noTable = () => ({});
  it("reads PLAIN and AMQPLAIN", () => {
    expect(parseSaslResponse("PLAIN", Buffer.from("\u0000u\u0000p"), noTable)).toEqual({
      username: "u",
      password: "p",
    });
    const table = encodeTable({ LOGIN: "bob", PASSWORD: "secret" }).subarray(4);
    expect(
      parseSaslResponse("AMQPLAIN", table, (b) => decodeTableBody(Buffer.from(b), 0, b.length, 0)),
    ).toEqual({
      username: "bob",
      password: "secret",
    });
  });

  it("refuses malformed responses as a failed login and unknown mechanisms as 503", () => {
    const err = (() => {
      try {
        parseSaslResponse("PLAIN", Buffer.from("nonsense"), noTable);
      } catch (e) {
        return e as WarrenError;
      }
      return undefined;
    })();
    expect(err?.amqp?.replyCode).toBe(403);
    expect(() => parseSaslResponse("EXTERNAL", Buffer.alloc(0), noTable)).toThrow(
      "unknown authentication mechanism 'EXTERNAL'",
    );
  });
});
