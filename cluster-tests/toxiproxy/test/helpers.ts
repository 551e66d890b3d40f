/**
 * Loopback TCP peers for the Toxiproxy tests and a client socket that records what it sees,
 * with deadline-bounded waits (no sleeps).
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { waitFor } from "../../harness/poll.js";

export interface Peer {
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<Peer> {
  const sockets = new Set<Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Echoes every byte back; half-closes when the client does. */
export function startEcho(): Promise<Peer> {
  return listen(createServer((s) => s.pipe(s)));
}

/** Writes `greeting` and closes at once. */
export function startGreeter(greeting: string): Promise<Peer> {
  return listen(createServer((s) => s.end(greeting)));
}

/** A client connection that records bytes, chunks, end/close and the error code. */
export class Recorder {
  readonly chunks: Buffer[] = [];
  ended = false;
  closed = false;
  errorCode: string | undefined;
  endedAt: number | undefined;
  readonly socket: Socket;
  readonly openedAt = performance.now();

  constructor(port: number) {
    this.socket = connect({ host: "127.0.0.1", port });
    this.socket.on("data", (c: Buffer) => this.chunks.push(c));
    this.socket.on("end", () => {
      this.ended = true;
      this.endedAt ??= performance.now();
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.endedAt ??= performance.now();
    });
    this.socket.on("error", (e: NodeJS.ErrnoException) => {
      this.errorCode = e.code;
    });
  }

  get bytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }

  async connected(): Promise<void> {
    if (this.socket.readyState === "open") return;
    await new Promise<void>((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("error", reject);
    });
  }

  /** Resolves with the ms elapsed since `since` once `n` bytes arrived. */
  async receive(n: number, since: number, timeoutMs = 10_000): Promise<number> {
    await waitFor(() => this.bytes >= n, {
      timeoutMs,
      intervalMs: 5,
      what: `${n} bytes (have ${this.bytes})`,
    });
    return performance.now() - since;
  }

  async closedWithin(timeoutMs: number): Promise<void> {
    await waitFor(() => this.closed, { timeoutMs, intervalMs: 5, what: "the connection to close" });
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** mulberry32: a small seeded PRNG for reproducible toxicity, jitter and slicing. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fails unless `cond` holds at every check for `ms` milliseconds (an observation window). */
export async function staysTrue(cond: () => boolean, ms: number): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (!cond()) throw new Error("condition stopped holding during the observation window");
    await new Promise((r) => setTimeout(r, 10));
  }
  if (!cond()) throw new Error("condition stopped holding during the observation window");
}
