/**
 * A small JSON client for a node's HTTP API (fetch with basic auth). Every call has a timeout,
 * so a hung node fails the test with a message instead of hanging it.
 */

export interface HttpAnswer<T = unknown> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface HttpClientOptions {
  readonly user?: string;
  readonly password?: string;
  readonly timeoutMs?: number;
}

export class HttpClient {
  private readonly auth: string;
  private readonly timeoutMs: number;

  constructor(
    readonly baseUrl: string,
    opts: HttpClientOptions = {},
  ) {
    this.auth = `Basic ${Buffer.from(`${opts.user ?? "guest"}:${opts.password ?? "guest"}`).toString("base64")}`;
    this.timeoutMs = opts.timeoutMs ?? 15_000;
  }

  /** Any method; `body` is sent as JSON (a string is sent as it is, for malformed-JSON tests). */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<HttpAnswer<T>> {
    const headers: Record<string, string> = { authorization: this.auth };
    let payload: string | undefined;
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = typeof body === "string" ? body : JSON.stringify(body);
    }
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      ...(payload !== undefined ? { body: payload } : {}),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    if (text !== "") {
      try {
        parsed = JSON.parse(text);
      } catch {
        // Not JSON (e.g. /metrics): the text itself.
      }
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  get<T = unknown>(path: string): Promise<HttpAnswer<T>> {
    return this.request<T>("GET", path);
  }
  put<T = unknown>(path: string, body: unknown = {}): Promise<HttpAnswer<T>> {
    return this.request<T>("PUT", path, body);
  }
  post<T = unknown>(path: string, body: unknown = {}): Promise<HttpAnswer<T>> {
    return this.request<T>("POST", path, body);
  }
  delete<T = unknown>(path: string): Promise<HttpAnswer<T>> {
    return this.request<T>("DELETE", path);
  }
}

/** URL-encode one path segment (the default vhost `/` is `%2F`). */
export const seg = (s: string): string => encodeURIComponent(s);
