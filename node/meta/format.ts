/**
 * RabbitMQ's wording, reproduced: resource names (`rabbit_misc:rs/1`), AMQP field type names,
 * Erlang-term rendering (`~p`) of the values its error texts print, and canonical keys for
 * argument tables (binding identity ignores key order, as RabbitMQ sorts binding arguments).
 */
import type { FieldTable, FieldValue } from "./types.js";

export type ResourceKind = "queue" | "exchange";

/** `queue 'q' in vhost '/'` */
export function rs(kind: ResourceKind, vhost: string, name: string): string {
  return `${kind} '${name}' in vhost '${vhost}'`;
}

function isTable(v: FieldValue): v is Record<string, FieldValue> {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date)
  );
}

/**
 * The AMQP field type RabbitMQ would report for a decoded value. Integers are `long` and
 * strings `longstr`, which is also what RabbitMQ's management API makes of JSON values.
 */
export function fieldTypeName(v: FieldValue): string {
  if (v === null || v === undefined) return "void";
  switch (typeof v) {
    case "string":
      return "longstr";
    case "boolean":
      return "bool";
    case "bigint":
      return "long";
    case "number":
      return Number.isInteger(v) ? "long" : "double";
  }
  if (v instanceof Uint8Array) return "binary";
  if (v instanceof Date) return "timestamp";
  if (Array.isArray(v)) return "array";
  return "table";
}

export function isInteger(v: FieldValue): v is number | bigint {
  return typeof v === "bigint" || (typeof v === "number" && Number.isInteger(v));
}

export function isStringLike(v: FieldValue): v is string | Uint8Array {
  return typeof v === "string" || v instanceof Uint8Array;
}

export function textOf(v: string | Uint8Array): string {
  return typeof v === "string" ? v : Buffer.from(v).toString("utf8");
}

/** Erlang `~p` of a decoded value: binaries as `<<"...">>`, tables as proplists. */
export function erlTerm(v: FieldValue): string {
  if (v === null || v === undefined) return "undefined";
  if (typeof v === "string" || v instanceof Uint8Array) return `<<${JSON.stringify(textOf(v))}>>`;
  if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (v instanceof Date) return String(Math.floor(v.getTime() / 1000));
  if (Array.isArray(v)) return `[${v.map((x) => `{${fieldTypeName(x)},${erlTerm(x)}}`).join(",")}]`;
  if (isTable(v)) {
    const rows = Object.keys(v).map(
      (k) => `{<<${JSON.stringify(k)}>>,${fieldTypeName(v[k])},${erlTerm(v[k])}}`,
    );
    return `[${rows.join(",")}]`;
  }
  return String(v);
}

/** Erlang `~p` of a string (a charlist prints quoted). */
export function erlString(s: string): string {
  return JSON.stringify(s);
}

/**
 * `rabbit_misc:val/1` for an x-argument: `none` when absent, else
 * `the value '1000' of type 'long'` (binaries print as text, other values as terms).
 */
export function describeArg(v: FieldValue): string {
  if (v === undefined) return "none";
  const shown = isStringLike(v) ? textOf(v) : erlTerm(v);
  return `the value '${shown}' of type '${fieldTypeName(v)}'`;
}

/** `rabbit_misc:val/1` for a plain field (durable, type...): `'false'`, `'direct'`. */
export function describeField(v: string | boolean): string {
  return `'${String(v)}'`;
}

/** A canonical text for a value: tables with sorted keys, kinds tagged so "1" and 1 differ. */
export function canonical(v: FieldValue): string {
  if (v === null || v === undefined) return "V";
  switch (typeof v) {
    case "string":
      return `S${JSON.stringify(v)}`;
    case "number":
      return Number.isInteger(v) ? `I${v}` : `F${v}`;
    case "bigint":
      return `I${v.toString()}`;
    case "boolean":
      return v ? "t" : "f";
  }
  if (v instanceof Uint8Array) return `B${Buffer.from(v).toString("hex")}`;
  if (v instanceof Date) return `T${Math.floor(v.getTime() / 1000)}`;
  if (Array.isArray(v)) return `A[${v.map(canonical).join(",")}]`;
  if (isTable(v)) return canonicalTable(v);
  return `?${String(v)}`;
}

export function canonicalTable(t: FieldTable): string {
  const keys = Object.keys(t).sort();
  return `M{${keys.map((k) => `${JSON.stringify(k)}:${canonical(t[k])}`).join(",")}}`;
}

/** RabbitMQ's equivalence of two argument values: same type class and equal value. */
export function sameArg(a: FieldValue, b: FieldValue): boolean {
  if (a === undefined || b === undefined) return a === b;
  return canonical(a) === canonical(b);
}
