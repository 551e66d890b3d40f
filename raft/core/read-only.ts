/**
 * ReadIndex bookkeeping on the leader (Ongaro's thesis §6.4): each read request records the
 * commit index at arrival, then waits until a heartbeat round carrying its context has been
 * acknowledged by a majority (proof that no newer leader existed at that moment). Requests
 * are answered in arrival order: an acknowledgement of a later round also confirms every
 * earlier one.
 */
import type { Message, NodeId } from "./types.js";

/** One pending read: the request, the commit index when it arrived, who acknowledged it. */
export interface ReadIndexStatus {
  readonly req: Message;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/** A read's context as a map key. */
export function contextKey(ctx: Uint8Array): string {
  let s = "";
  for (const b of ctx) s += String.fromCharCode(b);
  return s;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  /** Contexts in arrival order. */
  private queue: string[] = [];

  /** Registers a read of `req.context` at commit index `index` (duplicates are ignored). */
  addRequest(index: number, req: Message): void {
    const key = contextKey(req.context ?? new Uint8Array(0));
    if (this.pending.has(key)) return;
    this.pending.set(key, { req, index, acks: new Set() });
    this.queue.push(key);
  }

  /** Records that `id` answered the heartbeat carrying `ctx`; returns who answered so far. */
  recvAck(id: NodeId, ctx: Uint8Array): Set<NodeId> | undefined {
    const rs = this.pending.get(contextKey(ctx));
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Removes and returns every request up to and including the one with `ctx`. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = contextKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done = this.queue.slice(0, at + 1);
    this.queue = this.queue.slice(at + 1);
    const out: ReadIndexStatus[] = [];
    for (const k of done) {
      const rs = this.pending.get(k);
      this.pending.delete(k);
      if (rs) out.push(rs);
    }
    return out;
  }

  /** The context of the newest pending read (the one a heartbeat should carry). */
  lastPendingContext(): Uint8Array | undefined {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? undefined : this.pending.get(k)?.req.context;
  }

  size(): number {
    return this.queue.length;
  }
}
