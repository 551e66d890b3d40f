/**
 * fast-check arbitraries shared by the codec's property tests: field values paired with what the
 * decoder must return for them, and arguments for every method built from the method table.
 */
import "./fc-config.js";
import fc from "fast-check";
import { int64Value } from "../binary.js";
import { type FieldTable, type FieldValue, typed } from "../field-value.js";
import type { FieldSpec, MethodSpec } from "../generated/methods.js";

/** A value to encode and the value decoding must give back. */
export interface Sample {
  readonly input: FieldValue;
  readonly decoded: unknown;
}

const same = (v: FieldValue): Sample => ({ input: v, decoded: v });

/** Strings whose UTF-8 form fits a short string. */
export const shortString = fc
  .string({ unit: "grapheme", maxLength: 40 })
  .filter((s) => Buffer.byteLength(s) <= 255);

const MAX_TIMESTAMP_SECONDS = 8_640_000_000_000; // what a Date can hold

/** Every scalar type, inferred and explicit. */
export const scalarSample: fc.Arbitrary<Sample> = fc.oneof(
  fc.boolean().map(same),
  fc.string({ unit: "grapheme", maxLength: 30 }).map(same),
  fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }).map((v) => same(v === 0 ? 0 : v)),
  fc.maxSafeInteger().map((v) => same(v === 0 ? 0 : v)),
  fc.double().map(same),
  fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map((v) => ({ input: v, decoded: int64Value(v) })),
  fc.integer({ min: -128, max: 127 }).map((v) => ({ input: typed("byte", v), decoded: v })),
  fc.integer({ min: 0, max: 255 }).map((v) => ({ input: typed("unsignedbyte", v), decoded: v })),
  fc.integer({ min: -0x8000, max: 0x7fff }).map((v) => ({ input: typed("short", v), decoded: v })),
  fc.integer({ min: 0, max: 0xffff }).map((v) => ({ input: typed("unsignedshort", v), decoded: v })),
  fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }).map((v) => ({ input: typed("int", v), decoded: v })),
  fc.integer({ min: 0, max: 0xffff_ffff }).map((v) => ({ input: typed("unsignedint", v), decoded: v })),
  fc
    .bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })
    .map((v) => ({ input: typed("long", v), decoded: int64Value(v) })),
  fc.float().map((v) => ({ input: typed("float", v), decoded: v })),
  fc.double().map((v) => ({ input: typed("double", v), decoded: v })),
  fc
    .record({ scale: fc.integer({ min: 0, max: 255 }), value: fc.integer({ min: 0, max: 0xffff_ffff }) })
    .map((d) => ({ input: typed("decimal", d), decoded: { "!": "decimal", value: d } })),
  fc.integer({ min: 0, max: MAX_TIMESTAMP_SECONDS }).map((s) => same(new Date(s * 1000))),
  fc
    .integer({ min: 0, max: MAX_TIMESTAMP_SECONDS })
    .map((s) => ({ input: typed("timestamp", s), decoded: new Date(s * 1000) })),
  fc.uint8Array({ maxLength: 40 }).map((b) => ({ input: b, decoded: Buffer.from(b) })),
  fc.constant({ input: null, decoded: null }),
  fc.constant({ input: undefined, decoded: null }),
  fc.constant({ input: typed("void", null), decoded: null }),
);

function tableOf(entries: readonly [string, Sample][]): Sample {
  const input: FieldTable = {};
  const decoded: Record<string, unknown> = {};
  for (const [k, s] of entries) {
    // defineProperty: "__proto__" is a legal key and must stay an ordinary one.
    Object.defineProperty(input, k, { value: s.input, enumerable: true, writable: true, configurable: true });
    Object.defineProperty(decoded, k, {
      value: s.decoded,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return { input, decoded };
}

function uniqueEntries(value: fc.Arbitrary<Sample>, maxLength: number) {
  return fc.uniqueArray(fc.tuple(shortString, value), { maxLength, selector: ([k]) => k });
}

/** Nested samples: tables and arrays of anything, a few levels deep. */
export const { sample: fieldSample, table: tableSample } = fc.letrec<{ sample: Sample; table: Sample }>(
  (tie) => ({
    sample: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      scalarSample,
      tie("table"),
      fc.array(tie("sample"), { maxLength: 5 }).map((items) => ({
        input: items.map((s) => s.input),
        decoded: items.map((s) => s.decoded),
      })),
    ),
    table: uniqueEntries(tie("sample"), 6).map(tableOf),
  }),
);

/** Arbitrary decoded value of one method field type (reserved fields are left out). */
function fieldValue(f: FieldSpec): fc.Arbitrary<unknown> {
  switch (f.type) {
    case "bit":
      return fc.boolean();
    case "octet":
      return fc.integer({ min: 0, max: 0xff });
    case "short":
      return fc.integer({ min: 0, max: 0xffff });
    case "long":
      return fc.integer({ min: 0, max: 0xffff_ffff });
    case "longlong":
      return fc.maxSafeNat();
    case "shortstr":
      return shortString;
    case "longstr":
      return fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b));
    case "timestamp":
      return fc.integer({ min: 0, max: MAX_TIMESTAMP_SECONDS }).map((s) => new Date(s * 1000));
    case "table":
      return tableSample.map((s) => s.decoded);
  }
}

/**
 * Arguments for a method, from its spec, as the decoder returns them; tables are generated as
 * decoded values, which the encoder accepts unchanged (decimals are typed values).
 */
export function methodArgs(spec: MethodSpec): fc.Arbitrary<Record<string, unknown>> {
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of spec.fields) if (f.reserved !== true) record[f.name] = fieldValue(f);
  return fc.record(record).map((args) => ({ name: spec.name, ...args }));
}
