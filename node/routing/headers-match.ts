/**
 * Headers exchange matching, following rabbit_exchange_type_headers:
 * - `x-match` is `all` (also when absent or unrecognised), `any`, `all-with-x` or `any-with-x`;
 * - binding arguments starting with "x-" are ignored unless the mode ends in `-with-x`;
 *   `x-match` itself is always ignored;
 * - a binding argument whose value is void (AMQP 'V', decoded as null/undefined) only requires
 *   the header to be present, whatever its value (void included);
 * - any other binding value must equal the header value (Erlang `==`, see field-values.ts), so a
 *   binding value "" matches a header "" but not a missing header;
 * - a missing header fails `all` and does not count for `any`;
 * - with no considered arguments at all, `all` matches every message and `any` matches none.
 */
import { fieldEquals, isVoid } from "./field-values.js";
import type { FieldTable } from "./types.js";

export const X_MATCH_MODES = ["all", "any", "all-with-x", "any-with-x"] as const;
export type XMatchMode = (typeof X_MATCH_MODES)[number];

export interface HeadersPattern {
  readonly any: boolean;
  readonly keys: readonly string[];
  readonly values: readonly unknown[];
  /** values[i] is void: presence of the header is enough. */
  readonly presence: readonly boolean[];
}

/** RabbitMQ falls back to `all` for a value it does not recognise (bindings made before validation). */
export function parseXMatch(v: unknown): XMatchMode {
  return typeof v === "string" && (X_MATCH_MODES as readonly string[]).includes(v)
    ? (v as XMatchMode)
    : "all";
}

/** Precompile binding arguments once at bind time; routing only walks the result. */
export function compileHeadersPattern(args: FieldTable): HeadersPattern {
  const mode = parseXMatch(args["x-match"]);
  const withX = mode === "all-with-x" || mode === "any-with-x";
  const keys: string[] = [];
  const values: unknown[] = [];
  const presence: boolean[] = [];
  for (const k of Object.keys(args).sort()) {
    if (k === "x-match") continue;
    if (!withX && k.startsWith("x-")) continue;
    keys.push(k);
    values.push(args[k]);
    presence.push(isVoid(args[k]));
  }
  return { any: mode === "any" || mode === "any-with-x", keys, values, presence };
}

export function headersMatch(p: HeadersPattern, headers: FieldTable | undefined): boolean {
  const n = p.keys.length;
  if (n === 0) return !p.any;
  for (let i = 0; i < n; i++) {
    const k = p.keys[i]!;
    const matched =
      headers !== undefined &&
      Object.hasOwn(headers, k) &&
      (p.presence[i]! || fieldEquals(p.values[i], headers[k]));
    if (p.any) {
      if (matched) return true;
    } else if (!matched) {
      return false;
    }
  }
  return !p.any;
}
