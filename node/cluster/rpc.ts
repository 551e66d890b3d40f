/**
 * Request/response between nodes over the transport's "rpc" channel, so any node can ask another
 * (usually a group's leader) to run something for it: `{id, method, args}` ->
 * `{id, ok, result | error}`. Errors travel as data: a WarrenError as its ErrorData, the Raft
 * refusals a forwarder acts on (not leader, unknown group) as their own kinds, so the caller can
 * follow a leader hint instead of failing.
 *
 * The transport preserves per-peer order and may drop a frame (full queue): every call has a
 * deadline, and a lost request or response surfaces as a timeout (`RpcTimeoutError`).
 */
import type { NodeId } from "../../raft/core/types.js";
import {
  NotLeaderError,
  ProposalDroppedError,
  ProposalTimeoutError,
  RaftError,
  UnknownGroupError,
} from "../../raft/errors.js";
import { type Logger, noopLogger } from "../../raft/logger.js";
import type { Transport } from "../../raft/transport/index.js";
import { type ErrorData, WarrenError } from "../errors.js";

export const RPC_CHANNEL = "rpc";

export type RpcHandler = (from: NodeId, args: unknown) => Promise<unknown> | unknown;

/** What a failure looks like on the wire. */
export type RpcErrorData =
  | { readonly kind: "warren"; readonly error: ErrorData }
  | { readonly kind: "not-leader"; readonly group: string; readonly hint: NodeId | null }
  | { readonly kind: "unknown-group"; readonly group: string }
  | { readonly kind: "proposal-timeout"; readonly group: string; readonly timeoutMs: number }
  | { readonly kind: "dropped"; readonly group: string; readonly message: string }
  | { readonly kind: "internal"; readonly message: string };

interface Request {
  readonly t: "req";
  readonly id: number;
  readonly method: string;
  readonly args: unknown;
}
interface Response {
  readonly t: "res";
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: RpcErrorData;
}

/** No answer within the deadline: the request may or may not have run on the peer. */
export class RpcTimeoutError extends Error {
  override name = "RpcTimeoutError";
  constructor(
    readonly peer: NodeId,
    readonly method: string,
    timeoutMs: number,
  ) {
    super(`no answer from ${peer} to ${method} within ${timeoutMs} ms`);
  }
}

/** The peer could not be sent to (unknown, or its queue is full). */
export class RpcUnreachableError extends Error {
  override name = "RpcUnreachableError";
  constructor(readonly peer: NodeId) {
    super(`node ${peer} is unreachable`);
  }
}

export function errorToData(err: unknown): RpcErrorData {
  if (err instanceof WarrenError) return { kind: "warren", error: err.toData() };
  if (err instanceof NotLeaderError)
    return { kind: "not-leader", group: err.group, hint: err.leaderHint ?? null };
  if (err instanceof UnknownGroupError) return { kind: "unknown-group", group: err.group };
  if (err instanceof ProposalTimeoutError)
    return { kind: "proposal-timeout", group: err.group, timeoutMs: err.timeoutMs };
  if (err instanceof ProposalDroppedError) return { kind: "dropped", group: err.group, message: err.message };
  return { kind: "internal", message: err instanceof Error ? err.message : String(err) };
}

/** Rebuilds the error class a local call would have thrown. */
export function dataToError(data: RpcErrorData): Error {
  switch (data.kind) {
    case "warren":
      return WarrenError.fromData(data.error);
    case "not-leader":
      return new NotLeaderError(data.group, data.hint ?? undefined);
    case "unknown-group":
      return new UnknownGroupError(data.group);
    case "proposal-timeout":
      return new ProposalTimeoutError(data.group, data.timeoutMs);
    case "dropped":
      return new ProposalDroppedError(data.group, data.message);
    default:
      return new RaftError(data.message);
  }
}

export class Rpc {
  private readonly handlers = new Map<string, RpcHandler>();
  private readonly pending = new Map<
    number,
    {
      peer: NodeId;
      resolve: (v: unknown) => void;
      reject: (e: Error) => void;
      timer: ReturnType<typeof setTimeout>;
    }
  >();
  private nextId = 1;
  private closed = false;
  private readonly logger: Logger;

  constructor(
    private readonly transport: Transport,
    logger: Logger = noopLogger,
  ) {
    this.logger = logger;
    transport.on(RPC_CHANNEL, (from, payload) => this.onFrame(from, payload));
    // A closed connection loses whatever was in flight on it: fail those calls now rather than
    // at their deadline, so a forwarder can try another node at once. (The request may have
    // run: callers treat this like any unconfirmed outcome.)
    transport.onPeerDown((peer) => {
      for (const [id, p] of this.pending) {
        if (p.peer !== peer) continue;
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new RpcUnreachableError(peer));
      }
    });
  }

  handle(method: string, handler: RpcHandler): void {
    this.handlers.set(method, handler);
  }

  call<T = unknown>(peer: NodeId, method: string, args: unknown, timeoutMs: number): Promise<T> {
    // A peer with no live connection would only hold the request in a reconnect queue until the
    // deadline: fail at once so a forwarder tries another node.
    if (this.closed || !this.transport.isPeerUp(peer)) return Promise.reject(new RpcUnreachableError(peer));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          this.pending.delete(id);
          reject(new RpcTimeoutError(peer, method, timeoutMs));
        },
        Math.max(1, timeoutMs),
      );
      this.pending.set(id, { peer, resolve: resolve as (v: unknown) => void, reject, timer });
      const req: Request = { t: "req", id, method, args };
      if (!this.transport.send(peer, RPC_CHANNEL, req)) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new RpcUnreachableError(peer));
      }
    });
  }

  /** Fails every outstanding call; later calls fail at once. */
  close(): void {
    this.closed = true;
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RpcUnreachableError("closed"));
      this.pending.delete(id);
    }
  }

  private onFrame(from: NodeId, payload: unknown): void {
    if (this.closed || typeof payload !== "object" || payload === null) return;
    const msg = payload as {
      t?: unknown;
      id?: unknown;
      method?: unknown;
      args?: unknown;
      ok?: unknown;
      result?: unknown;
      error?: RpcErrorData;
    };
    if (msg.t === "res" && typeof msg.id === "number") {
      const p = this.pending.get(msg.id);
      if (p === undefined) return; // answered after its deadline
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.ok === true) p.resolve(msg.result);
      else p.reject(dataToError(msg.error ?? { kind: "internal", message: "malformed rpc error" }));
      return;
    }
    if (msg.t === "req" && typeof msg.id === "number" && typeof msg.method === "string") {
      void this.serve(from, msg.id, msg.method, msg.args);
      return;
    }
    this.logger.warn({ peer: from }, "malformed rpc frame dropped");
  }

  private async serve(from: NodeId, id: number, method: string, args: unknown): Promise<void> {
    const handler = this.handlers.get(method);
    let res: Response;
    if (handler === undefined) {
      res = { t: "res", id, ok: false, error: { kind: "internal", message: `unknown rpc method ${method}` } };
    } else {
      try {
        res = { t: "res", id, ok: true, result: await handler(from, args) };
      } catch (err) {
        if (!(err instanceof WarrenError) && !(err instanceof RaftError)) {
          this.logger.warn({ peer: from, method, err }, "rpc handler failed");
        }
        res = { t: "res", id, ok: false, error: errorToData(err) };
      }
    }
    if (!this.closed) this.transport.send(from, RPC_CHANNEL, res);
  }
}
