/**
 * Warren's one error table (fastify's habit: every error a client can see is a row here).
 *
 * A row maps a Warren code to what each front door says:
 * - AMQP 0-9-1: the reply code and its spec name, and whether it closes the channel (soft) or
 *   the connection (hard). The reply text is `NAME - explanation`, as RabbitMQ writes it.
 * - HTTP (RabbitMQ management API): the status and the JSON body `{"error", "reason"}`.
 *
 * Errors are data: state machines return `ErrorData` (plain, msgpackr-safe) in their replies and
 * the doors turn it into a `WarrenError` with `WarrenError.fromData`. Every code is documented in
 * `docs/errors.md`; `errors.test.ts` fails if one is missing there.
 */

/** AMQP 0-9-1 reply codes (the spec's constants), plus RabbitMQ's use of them. */
export const AmqpReplyCode = {
  CONTENT_TOO_LARGE: 311,
  NO_ROUTE: 312,
  NO_CONSUMERS: 313,
  CONNECTION_FORCED: 320,
  INVALID_PATH: 402,
  ACCESS_REFUSED: 403,
  NOT_FOUND: 404,
  RESOURCE_LOCKED: 405,
  PRECONDITION_FAILED: 406,
  FRAME_ERROR: 501,
  SYNTAX_ERROR: 502,
  COMMAND_INVALID: 503,
  CHANNEL_ERROR: 504,
  UNEXPECTED_FRAME: 505,
  RESOURCE_ERROR: 506,
  NOT_ALLOWED: 530,
  NOT_IMPLEMENTED: 540,
  INTERNAL_ERROR: 541,
} as const;
export type AmqpReplyName = keyof typeof AmqpReplyCode;

/** How the HTTP door renders the `reason` field (RabbitMQ's management API has three styles). */
type HttpReason =
  /** `"406 PRECONDITION_FAILED - <message>"`: an AMQP error surfaced by management (`bad_request_exception`). */
  | "amqp-with-code"
  /** `"ACCESS_REFUSED - <message>"`: the AMQP reply text (`not_authorised`). */
  | "amqp"
  /** The message alone. */
  | "message"
  /** A fixed text, whatever the message (`{ text }`). */
  | { readonly text: string };

interface ErrorSpec {
  readonly amqp: { readonly name: AmqpReplyName; readonly scope: "channel" | "connection" } | null;
  readonly http: {
    readonly status: number;
    readonly error: string;
    readonly reason: HttpReason;
    /** Sends `Retry-After` with this many seconds unless the error carries its own. */
    readonly retryAfterSeconds?: number;
    readonly headers?: Readonly<Record<string, string>>;
  } | null;
}

/**
 * The table. `amqp: null` = the code never reaches an AMQP client; `http: null` = it is not an
 * HTTP error (e.g. NO_ROUTE is `{"routed": false}` on the HTTP publish route, not a status).
 */
export const ERRORS = {
  NOT_FOUND: {
    amqp: { name: "NOT_FOUND", scope: "channel" },
    http: { status: 404, error: "Object Not Found", reason: { text: "Not Found" } },
  },
  PRECONDITION_FAILED: {
    amqp: { name: "PRECONDITION_FAILED", scope: "channel" },
    http: { status: 400, error: "bad_request", reason: "amqp-with-code" },
  },
  ACCESS_REFUSED: {
    amqp: { name: "ACCESS_REFUSED", scope: "channel" },
    http: { status: 403, error: "not_authorised", reason: "amqp" },
  },
  RESOURCE_LOCKED: {
    amqp: { name: "RESOURCE_LOCKED", scope: "channel" },
    http: { status: 400, error: "bad_request", reason: "amqp-with-code" },
  },
  CONTENT_TOO_LARGE: {
    amqp: { name: "CONTENT_TOO_LARGE", scope: "channel" },
    http: { status: 413, error: "bad_request", reason: "message" },
  },
  NO_ROUTE: { amqp: { name: "NO_ROUTE", scope: "channel" }, http: null },
  NO_CONSUMERS: { amqp: { name: "NO_CONSUMERS", scope: "channel" }, http: null },
  CONNECTION_FORCED: {
    amqp: { name: "CONNECTION_FORCED", scope: "connection" },
    http: { status: 503, error: "service_unavailable", reason: "message", retryAfterSeconds: 1 },
  },
  INVALID_PATH: {
    amqp: { name: "INVALID_PATH", scope: "connection" },
    http: { status: 400, error: "bad_request", reason: "message" },
  },
  NOT_ALLOWED: {
    amqp: { name: "NOT_ALLOWED", scope: "connection" },
    http: { status: 403, error: "not_authorised", reason: "message" },
  },
  FRAME_ERROR: { amqp: { name: "FRAME_ERROR", scope: "connection" }, http: null },
  SYNTAX_ERROR: { amqp: { name: "SYNTAX_ERROR", scope: "connection" }, http: null },
  COMMAND_INVALID: { amqp: { name: "COMMAND_INVALID", scope: "connection" }, http: null },
  CHANNEL_ERROR: { amqp: { name: "CHANNEL_ERROR", scope: "connection" }, http: null },
  UNEXPECTED_FRAME: { amqp: { name: "UNEXPECTED_FRAME", scope: "connection" }, http: null },
  RESOURCE_ERROR: {
    amqp: { name: "RESOURCE_ERROR", scope: "connection" },
    http: { status: 503, error: "service_unavailable", reason: "message" },
  },
  NOT_IMPLEMENTED: {
    amqp: { name: "NOT_IMPLEMENTED", scope: "connection" },
    http: { status: 400, error: "bad_request", reason: "amqp-with-code" },
  },
  INTERNAL_ERROR: {
    amqp: { name: "INTERNAL_ERROR", scope: "connection" },
    http: { status: 500, error: "internal_server_error", reason: "message" },
  },
  // No quorum: Raft could not commit within its bound. AMQP clients see 541 (RabbitMQ's answer
  // when its metadata store times out) and reconnect; HTTP clients get 503 and a retry hint.
  NO_QUORUM: {
    amqp: { name: "INTERNAL_ERROR", scope: "connection" },
    http: { status: 503, error: "service_unavailable", reason: "message", retryAfterSeconds: 1 },
  },
  BAD_REQUEST: { amqp: null, http: { status: 400, error: "bad_request", reason: "message" } },
  // A login refused. On AMQP RabbitMQ closes the connection with 403 during the handshake.
  UNAUTHORIZED: {
    amqp: { name: "ACCESS_REFUSED", scope: "connection" },
    http: {
      status: 401,
      error: "not_authorized",
      reason: "message",
      headers: { "www-authenticate": 'Basic realm="RabbitMQ Management"' },
    },
  },
  METHOD_NOT_ALLOWED: { amqp: null, http: { status: 405, error: "method_not_allowed", reason: "message" } },
} as const satisfies Record<string, ErrorSpec>;

export type WarrenCode = keyof typeof ERRORS;

/** An error as plain data: what state machines put in replies and what crosses the wire between nodes. */
export interface ErrorData {
  readonly code: WarrenCode;
  readonly message: string;
}

export interface AmqpErrorReply {
  readonly replyCode: number;
  /** `NAME - message`, cut to 255 bytes of UTF-8 (a short string on the wire). */
  readonly replyText: string;
  /** true = connection.close (hard error), false = channel.close (soft error). */
  readonly hard: boolean;
}

export interface HttpErrorReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: string; readonly reason: string };
}

/** AMQP short strings are at most 255 bytes; cut on a character boundary. */
const MAX_REPLY_TEXT_BYTES = 255;

function cutUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, "utf8") <= maxBytes) return text;
  let out = "";
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch, "utf8");
    if (bytes + n > maxBytes) break;
    out += ch;
    bytes += n;
  }
  return out;
}

export function isWarrenCode(code: unknown): code is WarrenCode {
  return typeof code === "string" && Object.hasOwn(ERRORS, code);
}

/** A client-visible failure. `message` is the explanation (RabbitMQ's text where it has one). */
export class WarrenError extends Error {
  override name = "WarrenError";
  readonly code: WarrenCode;
  /** Overrides the table's Retry-After for this occurrence (seconds). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: WarrenCode, message: string, opts: { retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }

  static fromData(data: ErrorData): WarrenError {
    return new WarrenError(isWarrenCode(data.code) ? data.code : "INTERNAL_ERROR", data.message);
  }

  static is(err: unknown, code?: WarrenCode): err is WarrenError {
    return err instanceof WarrenError && (code === undefined || err.code === code);
  }

  toData(): ErrorData {
    return { code: this.code, message: this.message };
  }

  /** The AMQP close (or basic.return) this error becomes; undefined for HTTP-only codes. */
  get amqp(): AmqpErrorReply | undefined {
    const spec: ErrorSpec = ERRORS[this.code];
    if (spec.amqp === null) return undefined;
    return {
      replyCode: AmqpReplyCode[spec.amqp.name],
      replyText: cutUtf8(`${spec.amqp.name} - ${this.message}`, MAX_REPLY_TEXT_BYTES),
      hard: spec.amqp.scope === "connection",
    };
  }

  /** The management-API response; codes that are not HTTP errors render as 500. */
  get http(): HttpErrorReply {
    const spec: ErrorSpec = ERRORS[this.code];
    if (spec.http === null) {
      return { status: 500, headers: {}, body: { error: "internal_server_error", reason: this.message } };
    }
    const headers: Record<string, string> = { ...spec.http.headers };
    const retry = this.retryAfterSeconds ?? spec.http.retryAfterSeconds;
    if (retry !== undefined) headers["retry-after"] = String(retry);
    return { status: spec.http.status, headers, body: { error: spec.http.error, reason: this.reason(spec) } };
  }

  private reason(spec: ErrorSpec): string {
    const how = spec.http?.reason ?? "message";
    if (typeof how === "object") return how.text;
    if (how === "message" || spec.amqp === null) return this.message;
    const text = `${spec.amqp.name} - ${this.message}`;
    return how === "amqp" ? text : `${AmqpReplyCode[spec.amqp.name]} ${text}`;
  }
}
