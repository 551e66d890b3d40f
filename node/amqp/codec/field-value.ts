/**
 * How AMQP field values (table entries, array items) look in JavaScript.
 *
 * Decoding gives plain data (msgpackr-safe, so headers can go into the Raft log as they are):
 *
 * | tag | AMQP type        | decoded as                                             |
 * | --- | ---------------- | ------------------------------------------------------ |
 * | t   | boolean          | boolean                                                |
 * | b B | int8 / uint8     | number                                                 |
 * | s u | int16 / uint16   | number (`s` is RabbitMQ's signed short, not a string)  |
 * | I i | int32 / uint32   | number                                                 |
 * | l L | int64            | number, or bigint outside Number's safe range          |
 * | f d | float / double   | number                                                 |
 * | D   | decimal          | `{ "!": "decimal", value: { scale, value } }`          |
 * | S   | long string      | string (UTF-8)                                         |
 * | x   | byte array       | Buffer (a view into the frame, see parser.ts)          |
 * | T   | timestamp        | Date (whole seconds)                                   |
 * | F   | nested table     | plain object                                           |
 * | A   | array            | array                                                  |
 * | V   | void             | null                                                   |
 *
 * Encoding infers the tag from the JavaScript value (string -> S, boolean -> t, safe integer in
 * int32 range -> I else l, bigint -> l, other numbers -> d, Date -> T, Uint8Array -> x,
 * null/undefined -> V, array -> A, plain object -> F) unless the value is a `TypedFieldValue`
 * (`{ "!": "short", value: 5 }`, amqplib's convention) naming the exact type. The decoded
 * decimal is such a typed value, so it re-encodes unchanged.
 */

export interface DecimalValue {
  /** Number of decimal places: the value is `value / 10 ** scale`. */
  readonly scale: number;
  /** Unsigned 32-bit digits. */
  readonly value: number;
}

/** Type names accepted in `{ "!": type, value }` (amqplib's names and their aliases). */
export const FIELD_TYPE_TAGS = {
  bool: "t",
  boolean: "t",
  byte: "b",
  int8: "b",
  unsignedbyte: "B",
  uint8: "B",
  short: "s",
  int16: "s",
  unsignedshort: "u",
  uint16: "u",
  int: "I",
  int32: "I",
  unsignedint: "i",
  uint32: "i",
  long: "l",
  int64: "l",
  float: "f",
  double: "d",
  float64: "d",
  decimal: "D",
  string: "S",
  longstr: "S",
  timestamp: "T",
  bytes: "x",
  binary: "x",
  void: "V",
  array: "A",
  table: "F",
} as const;
export type FieldTypeName = keyof typeof FIELD_TYPE_TAGS;

/** A value with its exact AMQP type spelled out (for types inference cannot produce). */
export interface TypedFieldValue {
  readonly "!": FieldTypeName;
  readonly value: unknown;
}

export interface DecodedDecimal {
  readonly "!": "decimal";
  readonly value: DecimalValue;
}

/** Any value a field table may hold, as given to the encoder or returned by the decoder. */
export type FieldValue =
  | boolean
  | number
  | bigint
  | string
  | Date
  | Uint8Array
  | null
  | undefined
  | TypedFieldValue
  | readonly FieldValue[]
  | FieldTable;

/** A field table: keys are short strings (at most 255 UTF-8 bytes). */
export interface FieldTable {
  [key: string]: FieldValue;
}

/** Builds `{ "!": type, value }`: `typed("short", 5)`, `typed("decimal", { scale: 2, value: 1234 })`. */
export function typed(type: FieldTypeName, value: unknown): TypedFieldValue {
  return { "!": type, value };
}

export function isTypedFieldValue(v: object): v is TypedFieldValue {
  const tag = (v as { "!"?: unknown })["!"];
  return typeof tag === "string" && Object.hasOwn(FIELD_TYPE_TAGS, tag) && "value" in v;
}
