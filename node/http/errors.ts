/**
 * Every failure leaves the HTTP door as RabbitMQ's management API writes it: a status and a JSON
 * body `{"error", "reason"}`, never an HTML page or a stack trace. WarrenErrors render through
 * the one error table (`err.http`); fastify's own errors (validation, body too large, bad JSON,
 * unsupported media type) map to the matching table rows; anything else is a logged 500.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { WarrenError } from "../errors.js";

function fromFastify(err: FastifyError, bodyLimit: number): WarrenError | undefined {
  if (err.validation) return new WarrenError("BAD_REQUEST", err.message);
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new WarrenError("CONTENT_TOO_LARGE", `request body larger than ${bodyLimit} bytes`);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return undefined;
    default:
      break;
  }
  if (err instanceof SyntaxError || err.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
    return new WarrenError("BAD_REQUEST", `invalid JSON body: ${err.message}`);
  }
  return undefined;
}

export function errorReply(
  err: unknown,
  bodyLimit: number,
): { status: number; headers: Record<string, string>; body: { error: string; reason: string } } {
  if (err instanceof WarrenError) {
    const h = err.http;
    return { status: h.status, headers: { ...h.headers }, body: { ...h.body } };
  }
  const fe = err as FastifyError;
  const mapped = fromFastify(fe, bodyLimit);
  if (mapped) return errorReply(mapped, bodyLimit);
  const status = typeof fe.statusCode === "number" ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const error = status === 415 ? "unsupported_media_type" : "bad_request";
    return { status, headers: {}, body: { error, reason: fe.message } };
  }
  return {
    status: 500,
    headers: {},
    body: { error: "internal_server_error", reason: "Internal Server Error" },
  };
}

/** fastify's error handler: one JSON body per failure; 5xx (except no-quorum 503s) are logged with the error. */
export function makeErrorHandler(bodyLimit: number) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const r = errorReply(err, bodyLimit);
    if (r.status >= 500 && !(err instanceof WarrenError && r.status === 503)) {
      request.log.error({ err }, "request failed");
    } else {
      request.log.debug({ status: r.status, reason: r.body.reason }, "request refused");
    }
    void reply.code(r.status).headers(r.headers).type("application/json").send(r.body);
  };
}

export const NOT_FOUND_BODY = { error: "Object Not Found", reason: "Not Found" } as const;

export function notFound(): WarrenError {
  return new WarrenError("NOT_FOUND", "Not Found");
}
