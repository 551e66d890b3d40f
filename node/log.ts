/**
 * The node's one pino root logger, built from the config, and the child-logger helpers every
 * module uses so that log lines carry the same field names: `{node}`, `{group, queue}`,
 * `{conn, channel}`.
 *
 * Secrets never reach the output, by two independent means: pino's path redaction of the field
 * names that hold them (password, secret, authorization, ...), and a last scrub of each output
 * line for the cluster secret's value, which catches it wherever it hides (an error message, a
 * nested object a path does not cover).
 *
 * Output is JSON lines by default. `pretty` gives one human-readable line per record through
 * `prettyDestination`, a small formatter of our own (pino-pretty is not a dependency).
 */
import pino, { type DestinationStream, type Logger as PinoLogger } from "pino";
import type { LogLevel } from "./config/defaults.js";

export type RootLogger = PinoLogger;

/** The slice of NodeConfig the logger needs. */
export interface LogConfig {
  readonly nodeId: string;
  readonly log: { readonly level: LogLevel; readonly pretty: boolean };
  readonly clusterSecret?: string | undefined;
}

export interface LoggerOptions {
  /** Where lines go (pretty-formatted first when `log.pretty`); default stdout. Tests capture here. */
  readonly destination?: DestinationStream;
  /** Further values to scrub from every line (at least 8 characters each, or they are ignored). */
  readonly secrets?: readonly string[];
  /** Clock for the `time` field, epoch ms; default Date.now. */
  readonly now?: () => number;
}

export const CENSOR = "[redacted]";

/** Field names whose values are secrets wherever they appear (top level or one level down). */
const SECRET_FIELDS = [
  "clusterSecret",
  "secret",
  "password",
  "pass",
  "passwd",
  "defaultPass",
  "authorization",
  "cookie",
] as const;

export const REDACT_PATHS: readonly string[] = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  "config.auth.defaultPass",
  "req.headers.authorization",
  "req.headers.cookie",
  "request.headers.authorization",
];

/** Shorter values would scrub ordinary words out of the logs ("guest"). */
const MIN_SCRUB_LENGTH = 8;

function scrubber(secrets: readonly string[]): ((line: string) => string) | undefined {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_SCRUB_LENGTH) continue;
    needles.add(s);
    needles.add(JSON.stringify(s).slice(1, -1)); // as it appears inside a JSON string
  }
  if (needles.size === 0) return undefined;
  const list = [...needles].sort((a, b) => b.length - a.length);
  return (line) => {
    let out = line;
    for (const n of list) if (out.includes(n)) out = out.split(n).join(CENSOR);
    return out;
  };
}

/** The root logger of a node process. Build it once in main.ts and hand children to modules. */
export function createRootLogger(config: LogConfig, options: LoggerOptions = {}): RootLogger {
  const secrets = [...(config.clusterSecret ? [config.clusterSecret] : []), ...(options.secrets ?? [])];
  const scrub = scrubber(secrets);
  const now = options.now;
  // JSON to stdout goes through pino's own fast destination; pretty wraps whatever destination.
  const destination = config.log.pretty
    ? prettyDestination(options.destination ?? process.stdout)
    : options.destination;
  const logger = pino(
    {
      level: config.log.level,
      base: { pid: process.pid, node: config.nodeId },
      redact: { paths: [...REDACT_PATHS], censor: CENSOR },
      ...(now ? { timestamp: () => `,"time":${now()}` } : {}),
      ...(scrub ? { hooks: { streamWrite: scrub } } : {}),
    },
    ...(destination ? [destination] : []),
  );
  return logger;
}

/** For code that serves several nodes in one process (simulations, tests): tag lines by node. */
export function forNode(parent: PinoLogger, node: string): PinoLogger {
  return parent.child({ node });
}

/** Lines about one queue and its Raft group. */
export function forQueue(
  parent: PinoLogger,
  fields: { group: string; queue: string; vhost?: string },
): PinoLogger {
  return parent.child(fields);
}

/** Lines about one client connection (AMQP or an HTTP long-poll/stream), e.g. "127.0.0.1:51234 -> 127.0.0.1:5672". */
export function forConnection(parent: PinoLogger, conn: string): PinoLogger {
  return parent.child({ conn });
}

/** Lines about one AMQP channel; pass the connection's logger or the root with the conn. */
export function forChannel(parent: PinoLogger, conn: string | undefined, channel: number): PinoLogger {
  return parent.child(conn === undefined ? { channel } : { conn, channel });
}

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};

/** Fields shown in the bracketed context or elsewhere on the line, not as key=value. */
const CONTEXT_FIELDS = ["node", "group", "queue", "conn", "channel"] as const;
const SKIPPED = new Set<string>(["level", "time", "msg", "pid", "hostname", "err", ...CONTEXT_FIELDS]);

function formatValue(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/**
 * One JSON log line -> `12:34:56.789 INFO  [n1 q:/:orders conn=... ch=1] message key=value`,
 * with an error's stack on the following lines. Lines that are not JSON pass through unchanged.
 */
export function formatPretty(line: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith("\n") ? line : `${line}\n`;
  }
  const time = typeof rec.time === "number" ? new Date(rec.time).toISOString().slice(11, 23) : "";
  const level = (LEVEL_NAMES[rec.level as number] ?? String(rec.level)).padEnd(5);
  const ctx: string[] = [];
  if (rec.node !== undefined) ctx.push(String(rec.node));
  if (rec.group !== undefined) ctx.push(String(rec.group));
  if (rec.queue !== undefined) ctx.push(`queue=${formatValue(rec.queue)}`);
  if (rec.conn !== undefined) ctx.push(`conn=${formatValue(rec.conn)}`);
  if (rec.channel !== undefined) ctx.push(`ch=${formatValue(rec.channel)}`);
  const fields = Object.entries(rec)
    .filter(([k]) => !SKIPPED.has(k))
    .map(([k, v]) => `${k}=${formatValue(v)}`);
  const head = [
    time,
    level,
    ctx.length > 0 ? `[${ctx.join(" ")}]` : "",
    rec.msg === undefined ? "" : String(rec.msg),
  ]
    .concat(fields)
    .filter((p) => p !== "")
    .join(" ");
  const err = rec.err as { type?: string; message?: string; stack?: string } | undefined;
  const stack = err
    ? `\n    ${(err.stack ?? `${err.type ?? "Error"}: ${err.message ?? ""}`).split("\n").join("\n    ")}`
    : "";
  return `${head}${stack}\n`;
}

/** A pino destination that writes `formatPretty` lines to `out` (a TTY, a file stream, ...). */
export function prettyDestination(out: { write(chunk: string): unknown }): DestinationStream {
  return {
    write(chunk: string) {
      // pino writes one record per call; split anyway in case a caller batches lines.
      for (const line of chunk.split("\n")) if (line !== "") out.write(formatPretty(line));
    },
  };
}
