/**
 * The API errors of Toxiproxy (api.go), with the same messages and status codes, so a client that
 * inspects `{ error, status }` sees what the real server would send.
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** `wrapper: detail`, as Toxiproxy's joinError builds it. */
  withDetail(detail: string): ApiError {
    return new ApiError(`${this.message}: ${detail}`, this.status);
  }

  toJSON(): { error: string; status: number } {
    return { error: this.message, status: this.status };
  }
}

export const ApiErrors = {
  badRequestBody: new ApiError("bad request body", 400),
  missingField: new ApiError("missing required field", 400),
  proxyNotFound: new ApiError("proxy not found", 404),
  proxyAlreadyExists: new ApiError("proxy already exists", 409),
  invalidStream: new ApiError("stream was invalid, can be either upstream or downstream", 400),
  invalidToxicType: new ApiError("invalid toxic type", 400),
  toxicAlreadyExists: new ApiError("toxic already exists", 409),
  toxicNotFound: new ApiError("toxic not found", 404),
} as const;

/** Anything that is not an ApiError becomes a 500 with its message, as in Toxiproxy. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(err instanceof Error ? err.message : String(err), 500);
}
