/**
 * The CLI's HTTP client for a node's management API: basic auth, a timeout per request, and the
 * API's `{error, reason}` bodies turned into one readable error. Tries each base URL in turn, so
 * `warren status` works while some nodes are down.
 */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    reason: string,
  ) {
    super(`${status} from ${url}: ${reason}`);
    this.name = "ApiError";
  }
}

export class UnreachableError extends Error {
  constructor(
    readonly urls: readonly string[],
    detail: string,
  ) {
    super(
      `no Warren node reachable at ${urls.join(", ")} (${detail}). Is the cluster running (npm start)? Pass --url to name a node.`,
    );
    this.name = "UnreachableError";
  }
}

export interface ApiOptions {
  readonly urls: readonly string[];
  readonly user: string;
  readonly password: string;
  readonly timeoutMs?: number;
}

export class ApiClient {
  private readonly auth: string;
  private readonly timeoutMs: number;
  /** The URL that answered last: later calls go there first. */
  private preferred: string | undefined;

  constructor(private readonly opts: ApiOptions) {
    this.auth = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString("base64")}`;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /** The base URL that answered the last request. */
  get url(): string | undefined {
    return this.preferred;
  }

  /** A JSON request against the first node that answers at all (any HTTP status counts as an answer). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const order = this.preferred
      ? [this.preferred, ...this.opts.urls.filter((u) => u !== this.preferred)]
      : this.opts.urls;
    let lastErr = "";
    for (const base of order) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: {
            authorization: this.auth,
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        lastErr = describeFetchError(err);
        continue;
      }
      this.preferred = base;
      const text = await res.text();
      const parsed = text === "" ? undefined : safeJson(text);
      if (!res.ok) {
        const reason =
          typeof parsed === "object" && parsed !== null && "reason" in parsed
            ? String((parsed as { reason: unknown }).reason)
            : text || res.statusText;
        throw new ApiError(res.status, `${method} ${base}${path}`, reason);
      }
      return parsed as T;
    }
    throw new UnreachableError(this.opts.urls, lastErr);
  }

  /** Plain text from one node, no auth and no fallback (for /metrics, /health); undefined when down. */
  async text(base: string, path: string): Promise<{ status: number; text: string } | undefined> {
    try {
      const res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(this.timeoutMs) });
      return { status: res.status, text: await res.text() };
    } catch {
      return undefined;
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  if (err instanceof Error && err.name === "TimeoutError") return "timed out";
  return err instanceof Error ? err.message : String(err);
}
