/**
 * Value kinds of the config schema: how a setting's raw text (flag, environment) or JSON value
 * (config file) becomes a typed value, and how the docs and error messages describe it.
 * A kind never throws: it returns a problem string ("expected ..., got ...") that the parser
 * prefixes with where the value came from.
 */
import { isIP } from "node:net";

export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: string };

export interface Kind<T> {
  /** Short type name for the docs table, e.g. "port", "size". */
  readonly label: string;
  /** What a valid value looks like, used in messages: `expected ${expected}, got "abc"`. */
  readonly expected: string;
  fromString(raw: string): Parsed<T>;
  fromJson(value: unknown): Parsed<T>;
  /** How docs and `describeConfig` print a value. */
  format(value: T): string;
}

export interface Address {
  readonly host: string;
  readonly port: number;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(expected: string, got: unknown): Parsed<T> => ({
  ok: false,
  problem: `expected ${expected}, got ${typeof got === "string" ? JSON.stringify(got) : safeJson(got)}`,
});

function safeJson(v: unknown): string {
  if (v === undefined) return "nothing";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** Kinds whose JSON form is the same text as their string form (hosts, names, enums). */
function fromJsonString<T>(kind: Omit<Kind<T>, "fromJson">): Kind<T> {
  return {
    ...kind,
    fromJson: (v) => (typeof v === "string" ? kind.fromString(v) : bad(kind.expected, v)),
  };
}

export function integer(min: number, max: number): Kind<number> {
  const expected = `an integer ${min}-${max}`;
  const check = (n: number, got: unknown): Parsed<number> =>
    Number.isSafeInteger(n) && n >= min && n <= max ? ok(n) : bad(expected, got);
  return {
    label: "integer",
    expected,
    fromString: (raw) => (/^-?\d+$/.test(raw.trim()) ? check(Number(raw.trim()), raw) : bad(expected, raw)),
    fromJson: (v) => (typeof v === "number" ? check(v, v) : bad(expected, v)),
    format: String,
  };
}

export const port: Kind<number> = { ...integer(0, 65535), label: "port" };

/** A real number in (min, max]: used for fractions such as the memory high watermark. */
export function fraction(minExclusive: number, max: number): Kind<number> {
  const expected = `a number greater than ${minExclusive} and at most ${max}`;
  const check = (n: number, got: unknown): Parsed<number> =>
    Number.isFinite(n) && n > minExclusive && n <= max ? ok(n) : bad(expected, got);
  return {
    label: "number",
    expected,
    fromString: (raw) =>
      /^\s*\d*\.?\d+(e-?\d+)?\s*$/i.test(raw) ? check(Number(raw), raw) : bad(expected, raw),
    fromJson: (v) => (typeof v === "number" ? check(v, v) : bad(expected, v)),
    format: String,
  };
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** A byte count: a plain integer, or a number with a unit (`128MiB`, `20MB`, `64KiB`). */
export function size(min: number, max: number): Kind<number> {
  const expected = `a size in bytes from ${formatSize(min)} to ${formatSize(max)} (e.g. 1048576 or "1MiB")`;
  const check = (n: number, got: unknown): Parsed<number> =>
    Number.isSafeInteger(n) && n >= min && n <= max ? ok(n) : bad(expected, got);
  const fromString = (raw: string): Parsed<number> => {
    const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(raw);
    const unit = SIZE_UNITS[(m?.[2] ?? "").toLowerCase()];
    if (!m || unit === undefined) return bad(expected, raw);
    return check(Number(m[1]) * unit, raw);
  };
  return {
    label: "size",
    expected,
    fromString,
    fromJson: (v) =>
      typeof v === "number" ? check(v, v) : typeof v === "string" ? fromString(v) : bad(expected, v),
    format: formatSize,
  };
}

/** `134217728` -> `128MiB`; sizes that are not a whole number of KiB/MiB/GiB print as bytes. */
export function formatSize(n: number): string {
  for (const [unit, factor] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const) {
    if (n >= factor && n % factor === 0) return `${n / factor}${unit}`;
  }
  return String(n);
}

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

export const boolean: Kind<boolean> = {
  label: "boolean",
  expected: "true or false",
  fromString: (raw) => {
    const s = raw.trim().toLowerCase();
    return TRUE.has(s) ? ok(true) : FALSE.has(s) ? ok(false) : bad("true or false", raw);
  },
  fromJson: (v) => (typeof v === "boolean" ? ok(v) : bad("true or false", v)),
  format: String,
};

export function oneOf<const T extends string>(values: readonly T[]): Kind<T> {
  const expected = `one of ${values.join(", ")}`;
  return fromJsonString({
    label: "enum",
    expected,
    fromString: (raw) => ((values as readonly string[]).includes(raw) ? ok(raw as T) : bad(expected, raw)),
    format: String,
  });
}

/** A non-empty string matching `pattern` (described by `what` in messages). */
export function text(what: string, opts: { pattern?: RegExp; minLength?: number } = {}): Kind<string> {
  const minLength = opts.minLength ?? 1;
  const expected = minLength > 1 ? `${what} of at least ${minLength} characters` : what;
  return fromJsonString({
    label: "string",
    expected,
    fromString: (raw) =>
      raw.length >= minLength && (!opts.pattern || opts.pattern.test(raw)) ? ok(raw) : bad(expected, raw),
    format: (v) => JSON.stringify(v),
  });
}

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export function isHost(s: string): boolean {
  return isIP(s) !== 0 || HOSTNAME.test(s);
}

/** A listen or connect host: an IPv4/IPv6 address or a DNS name. */
export const host: Kind<string> = fromJsonString({
  label: "host",
  expected: "an IP address or host name",
  fromString: (raw) => (isHost(raw) ? ok(raw) : bad("an IP address or host name", raw)),
  format: (v) => v,
});

/** Parses `host:port` or `[ipv6]:port`; undefined when malformed. */
export function parseAddress(raw: string): Address | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(raw) ?? /^([^:[\]]+):(\d{1,5})$/.exec(raw);
  if (!m) return undefined;
  const h = m[1]!;
  const p = Number(m[2]);
  if (!isHost(h) || p > 65535) return undefined;
  return { host: h, port: p };
}

export function formatAddress(a: Address): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * An address other nodes or clients dial to reach this node (etcd's advertise URLs): `host:port`,
 * or `host` alone to keep the bound port. An unspecified address (0.0.0.0, ::) reaches nobody.
 */
export interface AdvertisedAddress {
  readonly host: string;
  readonly port?: number;
}

const UNSPECIFIED = new Set(["0.0.0.0", "::", "[::]"]);

/** True for the all-interfaces bind addresses: fine to listen on, useless to dial. */
export function isUnspecifiedHost(h: string): boolean {
  return UNSPECIFIED.has(h);
}

const ADVERTISED_EXPECTED = "host:port or host that the other nodes can dial (not 0.0.0.0 or ::)";

export const advertisedAddress: Kind<AdvertisedAddress> = fromJsonString({
  label: "address",
  expected: ADVERTISED_EXPECTED,
  fromString: (raw) => {
    const s = raw.trim();
    const bare = s.replace(/^\[(.*)\]$/, "$1");
    const a: AdvertisedAddress | undefined = parseAddress(s) ?? (isHost(bare) ? { host: bare } : undefined);
    if (a === undefined || a.port === 0) return bad(ADVERTISED_EXPECTED, raw);
    if (isUnspecifiedHost(a.host))
      return {
        ok: false,
        problem: `${JSON.stringify(raw)} is a bind-all address, which no other node can dial: give this node's host name or IP address`,
      };
    return ok(a);
  },
  format: (a) => (a.port === undefined ? a.host : formatAddress({ host: a.host, port: a.port })),
});

/** The `host:port` others dial: the advertised address, its port defaulting to the bound one. */
export function advertisedOf(advertise: AdvertisedAddress | undefined, bound: Address): Address {
  if (advertise === undefined) return bound;
  return { host: advertise.host, port: advertise.port ?? bound.port };
}

/** Comma-separated names; the word `none` (or an empty JSON array) means the empty list. */
export function nameList(what: string, pattern: RegExp): Kind<readonly string[]> {
  const expected = `a comma-separated list of ${what}, or "none"`;
  const fromItems = (items: readonly unknown[], got: unknown): Parsed<readonly string[]> => {
    if (!items.every((i) => typeof i === "string" && pattern.test(i))) return bad(expected, got);
    return ok([...new Set(items as string[])]);
  };
  return {
    label: "list",
    expected,
    fromString: (raw) =>
      raw.trim() === "none"
        ? ok([])
        : fromItems(
            raw.split(",").map((s) => s.trim()),
            raw,
          ),
    fromJson: (v) => (Array.isArray(v) ? fromItems(v, v) : bad(`an array of ${what}`, v)),
    format: (v) => (v.length === 0 ? "none" : v.join(",")),
  };
}
