import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Reader } from "../binary.js";
import { AmqpEncodeError, AmqpFrameError } from "../errors.js";
import { encodeTable, MAX_DEPTH, readTable } from "../field-table.js";
import { type FieldTable, typed } from "../field-value.js";
import { amqplibEncodeTable, codec } from "./amqplib-oracle.js";
import { tableSample } from "./arbitraries.js";

function decode(bytes: Buffer): FieldTable {
  const r = new Reader(bytes, 0, bytes.length, 501);
  const t = readTable(r);
  expect(r.pos).toBe(bytes.length);
  return t;
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ""), "hex");
}

describe("field tables", () => {
  it("round-trip: every type, nested tables and arrays decode to what was encoded", () => {
    fc.assert(
      fc.property(tableSample, ({ input, decoded }) => {
        expect(decode(encodeTable(input as FieldTable))).toEqual(decoded);
      }),
      { numRuns: 400 },
    );
  });

  it("re-encoding a decoded table gives the same bytes (decoded values carry their type)", () => {
    fc.assert(
      fc.property(tableSample, ({ decoded }) => {
        const once = encodeTable(decoded as FieldTable);
        expect(encodeTable(decode(once))).toEqual(once);
      }),
      { numRuns: 200 },
    );
  });

  it("decodes tables amqplib encodes (its typed values and inference)", () => {
    const bytes = amqplibEncodeTable({
      str: "héllo",
      small: 5, // amqplib infers b
      short: 1000, // s
      int: 100_000, // I
      long: 2 ** 40, // l
      neg: -3,
      dbl: 1.5,
      t: true,
      f: false,
      nul: null,
      arr: [1, "two", [3], { four: 4 }],
      nested: { a: { b: "c" } },
      bin: Buffer.from([1, 2, 3]),
      ub: { "!": "unsignedbyte", value: 200 },
      us: { "!": "unsignedshort", value: 60000 },
      ui: { "!": "unsignedint", value: 4_000_000_000 },
      flt: { "!": "float", value: 0.25 },
      ts: { "!": "timestamp", value: 1_700_000_000 },
      dec: { "!": "decimal", value: { places: 2, digits: 12345 } },
      big: { "!": "long", value: "9223372036854775807" },
    });
    expect(decode(bytes)).toEqual({
      str: "héllo",
      small: 5,
      short: 1000,
      int: 100_000,
      long: 2 ** 40,
      neg: -3,
      dbl: 1.5,
      t: true,
      f: false,
      nul: null,
      arr: [1, "two", [3], { four: 4 }],
      nested: { a: { b: "c" } },
      bin: Buffer.from([1, 2, 3]),
      ub: 200,
      us: 60000,
      ui: 4_000_000_000,
      flt: 0.25,
      ts: new Date(1_700_000_000_000),
      dec: { "!": "decimal", value: { scale: 2, value: 12345 } },
      big: 9223372036854775807n,
    });
  });

  it("writes the same bytes as amqplib for every explicitly typed value", () => {
    const pairs: [Record<string, unknown>, FieldTable][] = [
      [{ v: { "!": "byte", value: -5 } }, { v: typed("byte", -5) }],
      [{ v: { "!": "unsignedbyte", value: 250 } }, { v: typed("unsignedbyte", 250) }],
      [{ v: { "!": "short", value: -300 } }, { v: typed("short", -300) }],
      [{ v: { "!": "unsignedshort", value: 65000 } }, { v: typed("unsignedshort", 65000) }],
      [{ v: { "!": "int", value: -70000 } }, { v: typed("int", -70000) }],
      [{ v: { "!": "unsignedint", value: 3e9 } }, { v: typed("unsignedint", 3e9) }],
      [{ v: { "!": "long", value: -(2 ** 50) } }, { v: typed("long", -(2 ** 50)) }],
      [{ v: { "!": "float", value: 1.25 } }, { v: typed("float", 1.25) }],
      [{ v: { "!": "double", value: 1e300 } }, { v: typed("double", 1e300) }],
      [{ v: { "!": "timestamp", value: 1_600_000_000 } }, { v: new Date(1_600_000_000_000) }],
      [
        { v: { "!": "decimal", value: { places: 3, digits: 7 } } },
        { v: typed("decimal", { scale: 3, value: 7 }) },
      ],
      [
        { v: "text", w: true, x: null },
        { v: "text", w: true, x: null },
      ],
      [
        { v: [{ a: 1.5 }], b: Buffer.from("xy") },
        { v: [{ a: 1.5 }], b: Buffer.from("xy") },
      ],
    ];
    for (const [theirs, ours] of pairs) expect(encodeTable(ours)).toEqual(amqplibEncodeTable(theirs));
  });

  it("amqplib decodes what we encode", () => {
    const ours = encodeTable({ s: "x", i: 7, l: 2 ** 40, d: 0.5, t: false, a: [1, null], f: { g: "h" } });
    expect(codec.decodeFields(ours.subarray(4))).toEqual({
      s: "x",
      i: 7,
      l: 2 ** 40,
      d: 0.5,
      t: false,
      a: [1, null],
      f: { g: "h" },
    });
  });

  it("reads RabbitMQ's tags for signed short 's' and 64-bit 'L'", () => {
    // "a" s -2 | "b" L -1
    const t = decode(hex("00000010 0161 73 fffe 0162 4c ffffffffffffffff"));
    expect(t).toEqual({ a: -2, b: -1 });
  });

  it("infers I for int32-range integers, l beyond, d for fractions, l for bigint", () => {
    expect(encodeTable({ a: 1 }).subarray(6, 7).toString()).toBe("I");
    expect(
      encodeTable({ a: 2 ** 31 })
        .subarray(6, 7)
        .toString(),
    ).toBe("l");
    expect(encodeTable({ a: 0.5 }).subarray(6, 7).toString()).toBe("d");
    expect(encodeTable({ a: 1n }).subarray(6, 7).toString()).toBe("l");
  });

  it("a timestamp beyond what a Date holds stays exact as a typed value and re-encodes byte for byte", () => {
    const bytes = hex("0000000b 0174 54 ffffffffffffffff");
    const t = decode(bytes);
    expect(t).toEqual({ t: { "!": "timestamp", value: 2n ** 64n - 1n } });
    expect(encodeTable(t)).toEqual(bytes);
  });

  it("keeps a __proto__ key as an ordinary entry", () => {
    const t = decode(hex("0000000f 095f5f70726f746f5f5f 49 00000001"));
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
    expect(Object.keys(t)).toEqual(["__proto__"]);
  });

  it("refuses an unknown type tag with 502 SYNTAX_ERROR", () => {
    expect(() => decode(hex("00000003 0161 5a"))).toThrow(expect.objectContaining({ replyCode: 502 }));
  });

  it("refuses lengths running past the table with 502, past the frame with 501", () => {
    // a long string claiming 100 octets inside a 10-octet table
    const inner = hex("0000000a 0161 53 00000064 4142");
    expect(() => decode(Buffer.concat([inner, Buffer.alloc(200)]))).toThrow(
      expect.objectContaining({ replyCode: 502 }),
    );
    expect(() => decode(hex("00000010 0161"))).toThrow(expect.objectContaining({ replyCode: 501 }));
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} levels (a typed error, not a stack overflow)`, () => {
    let t: FieldTable = { leaf: 1 };
    for (let i = 0; i < 10_000; i++) t = { n: t };
    expect(() => encodeTable(t)).toThrow(AmqpEncodeError);
    // hand-build 10,000 nested F tables: 0x46 + length each
    const depth = 10_000;
    const parts: Buffer[] = [];
    let len = 0;
    const chunks: Buffer[] = [];
    for (let i = 0; i < depth; i++) {
      const head = Buffer.alloc(7);
      head.write("\x01n", 0, "latin1");
      head[2] = 0x46;
      chunks.push(head);
    }
    for (let i = depth - 1; i >= 0; i--) {
      chunks[i]!.writeUInt32BE(len, 3);
      len += 7;
    }
    parts.push(Buffer.from([0, 0, 0, 0]), ...chunks);
    const bytes = Buffer.concat(parts);
    bytes.writeUInt32BE(len, 0);
    let caught: unknown;
    try {
      decode(bytes);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(AmqpFrameError);
    expect((caught as AmqpFrameError).replyCode).toBe(502);
  });

  it("refuses values that do not fit their explicit type", () => {
    expect(() => encodeTable({ a: typed("byte", 200) })).toThrow(AmqpEncodeError);
    expect(() => encodeTable({ a: typed("unsignedint", -1) })).toThrow(AmqpEncodeError);
    expect(() => encodeTable({ a: 2n ** 63n })).toThrow(AmqpEncodeError);
    expect(() => encodeTable({ ["k".repeat(256)]: 1 })).toThrow(AmqpEncodeError);
    expect(() => encodeTable({ a: (() => 1) as unknown as number })).toThrow(AmqpEncodeError);
  });
});
