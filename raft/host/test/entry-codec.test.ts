import fc from "fast-check";
import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { decodeCommand, encodeCommand, encodePackedCommand } from "../entry-codec.js";

const packr = new Packr({ useRecords: false });

describe("entry codec: a pre-encoded command", () => {
  it("makes the entry bytes that encoding the command at a wall-clock time would make", () => {
    fc.assert(
      // msgpackr writes times of today's magnitude (> 2^32 ms) as float64, like the packed form.
      fc.property(fc.jsonValue(), fc.integer({ min: 2 ** 32, max: 2 ** 45 }), (command, time) => {
        const packed = encodePackedCommand(time, packr.pack(command));
        expect(Buffer.from(packed).equals(Buffer.from(encodeCommand(time, command)))).toBe(true);
        const decoded = decodeCommand(packed, "test");
        expect(decoded.time).toBe(time);
        expect(decoded.command).toEqual(packr.unpack(packr.pack(command)));
      }),
    );
  });

  it("keeps a fractional or huge time exact (float64)", () => {
    for (const time of [0, 1.5, Date.now(), 2 ** 53 - 1]) {
      expect(decodeCommand(encodePackedCommand(time, packr.pack("x")), "test")).toEqual({
        time,
        command: "x",
      });
    }
  });
});
