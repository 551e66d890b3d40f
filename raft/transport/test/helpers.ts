/** Test helpers for the transport tests: loopback clusters, a recording logger, free ports. */
import { createServer } from "node:net";
import { vi } from "vitest";
import type { NodeId } from "../../core/types.js";
import type { Logger } from "../../logger.js";
import { type PeerAddress, Transport, type TransportOptions } from "../index.js";

export const SECRET = "test-cluster-secret";
export const LOOPBACK = "127.0.0.1";

export interface LogRecord {
  level: "debug" | "info" | "warn" | "error";
  obj: Record<string, unknown>;
  msg: string | undefined;
}

/** A pino-shaped logger that keeps every record (children share the list). */
export function recordingLogger(records: LogRecord[] = []): Logger & { records: LogRecord[] } {
  const make = (bindings: Record<string, unknown>): Logger & { records: LogRecord[] } => {
    const at =
      (level: LogRecord["level"]) =>
      (obj: object, msg?: string): void => {
        records.push({ level, obj: { ...bindings, ...obj }, msg });
      };
    return {
      records,
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
      child: (b) => make({ ...bindings, ...b }),
    };
  };
  return make({});
}

/** A port nothing listens on (bound once, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const addr = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!addr || typeof addr === "string") throw new Error("no port");
  return addr.port;
}

/** Tracks transports so every test closes what it started. */
export function transports() {
  const all: Transport[] = [];
  return {
    make(opts: Partial<TransportOptions> & { nodeId: NodeId }): Transport {
      const t = new Transport({
        listen: { host: LOOPBACK, port: 0 },
        peers: new Map(),
        secret: SECRET,
        reconnect: { initialMs: 10, maxMs: 100 },
        ...opts,
      });
      all.push(t);
      return t;
    },
    /** Starts `ids` on ephemeral ports and makes each a peer of the others. */
    async cluster(ids: NodeId[], extra: Partial<TransportOptions> = {}): Promise<Map<NodeId, Transport>> {
      const out = new Map<NodeId, Transport>();
      for (const id of ids) {
        const t = this.make({ nodeId: id, ...extra });
        await t.start();
        out.set(id, t);
      }
      for (const [id, t] of out) {
        for (const [other, o] of out) if (other !== id) t.setPeer(other, o.address());
      }
      return out;
    },
    async closeAll(): Promise<void> {
      for (const t of all.splice(0)) await t.close();
    },
  };
}

export function addr(t: Transport): PeerAddress {
  return t.address();
}

/**
 * Polls `check` (an assertion) every 10 ms until it passes, failing with its last error after
 * `timeoutMs`. The generous deadline keeps the tests deterministic on a loaded machine; a
 * passing check returns at once.
 */
export function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  return vi.waitFor(check, { timeout: timeoutMs, interval: 10 });
}
