/**
 * Comparing and fingerprinting AMQP field values as RabbitMQ does.
 *
 * RabbitMQ compares header values with Erlang's `==`: numbers compare by value across integer
 * and float types (`1 == 1.0`), strings and byte strings are both binaries compared by bytes,
 * a timestamp is an integer of seconds. Our codec decodes to JS values, so the same rules read:
 * number/bigint by numeric value, string/Uint8Array by UTF-8 bytes, Date as whole seconds.
 * Nested arrays and tables compare element by element with the same rules (RabbitMQ also
 * compares the nested type tags, which plain JS values no longer carry).
 */
import type { FieldTable } from "./types.js";

const utf8 = new TextDecoder();

/** A longstr argument as text: the codec may hand it over as a string or as raw bytes. */
export function stringArg(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return utf8.decode(v);
  return undefined;
}

export function isVoid(v: unknown): boolean {
  return v === null || v === undefined;
}

function utf8Equals(s: string, bytes: Uint8Array): boolean {
  let j = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    const enc =
      c < 0x80
        ? [c]
        : c < 0x800
          ? [0xc0 | (c >> 6), 0x80 | (c & 0x3f)]
          : c < 0x10000
            ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)]
            : [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
    for (const b of enc) {
      if (bytes[j++] !== b) return false;
    }
  }
  return j === bytes.length;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A Date is an AMQP timestamp: whole seconds since the epoch. */
function numericOf(v: unknown): number | bigint | undefined {
  if (typeof v === "number" || typeof v === "bigint") return v;
  if (v instanceof Date) return Math.floor(v.getTime() / 1000);
  return undefined;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date)
  );
}

/** Erlang `==` on decoded field values (see the module comment). */
export function fieldEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const na = numericOf(a);
  const nb = numericOf(b);
  if (na !== undefined || nb !== undefined) {
    // Loose equality is exactly numeric comparison across number and bigint.
    // biome-ignore lint/suspicious/noDoubleEquals: 1n == 1 is the comparison we want
    return na !== undefined && nb !== undefined && na == nb;
  }
  if (typeof a === "string") {
    return b instanceof Uint8Array ? utf8Equals(a, b) : false;
  }
  if (a instanceof Uint8Array) {
    if (typeof b === "string") return utf8Equals(b, a);
    return b instanceof Uint8Array && bytesEqual(a, b);
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!fieldEquals(a[i], b[i])) return false;
    return true;
  }
  if (isTable(a) && isTable(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    for (const k of ka) {
      if (!Object.hasOwn(b, k) || !fieldEquals(a[k], b[k])) return false;
    }
    return true;
  }
  return false;
}

function encodeValue(v: unknown): string {
  if (v === null || v === undefined) return "V";
  switch (typeof v) {
    case "string":
      return "S" + JSON.stringify(v);
    case "number":
      return Number.isInteger(v) ? "I" + String(v) : "F" + String(v);
    case "bigint":
      return "I" + v.toString();
    case "boolean":
      return v ? "t" : "f";
  }
  if (v instanceof Uint8Array) {
    let hex = "";
    for (const b of v) hex += b.toString(16).padStart(2, "0");
    return "x" + hex;
  }
  if (v instanceof Date) return "T" + String(Math.floor(v.getTime() / 1000));
  if (Array.isArray(v)) return "A[" + v.map(encodeValue).join(",") + "]";
  if (isTable(v)) return "M" + canonicalTable(v);
  return "?" + String(v);
}

/**
 * A canonical text for a field table: keys sorted (RabbitMQ sorts binding arguments before
 * comparing them), values tagged by kind. Two bindings with the same source, destination, key and
 * canonical arguments are the same binding.
 */
export function canonicalTable(t: FieldTable): string {
  const keys = Object.keys(t).sort();
  let out = "{";
  for (const k of keys) out += JSON.stringify(k) + ":" + encodeValue(t[k]) + ";";
  return out + "}";
}

/**
 * The text `x-consistent-hash` hashes for a header or property value. Strings hash as
 * themselves (so a header "abc" and the routing key "abc" land on the same queue); numbers as
 * their decimal text; anything else by its canonical encoding. Missing values return undefined.
 */
export function hashTextOf(v: unknown): string | Uint8Array | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string" || v instanceof Uint8Array) return v;
  if (typeof v === "number" || typeof v === "bigint") return String(v);
  return encodeValue(v);
}
