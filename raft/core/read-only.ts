/**
 * ReadIndex bookkeeping on the leader (Ongaro's thesis §6.4): each read request records the
 * commit index at arrival, then waits until a heartbeat round carrying its context has been
 * acknowledged by a majority (proof that no newer leader existed at that moment). Requests
 * are answered in arrival order: an acknowledgement of a later round also confirms every
 * earlier one.
 *
 * Heartbeats carry a context the leader generates per request (a sequence number), not the
 * requester's: requests from different nodes with equal contexts stay distinct.
 */
import type { Message, NodeId } from "./types.js";

/** One pending read: the request, the commit index when it arrived, who acknowledged it. */
export interface ReadIndexStatus {
  readonly req: Message;
  readonly index: number;
  readonly acks: Set<NodeId>;
}

/** A context as a map key. */
function key(ctx: Uint8Array): string {
  let s = "";
  for (const b of ctx) s += String.fromCharCode(b);
  return s;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  /** Heartbeat contexts in arrival order. */
  private queue: string[] = [];

  /**
   * `nextSeq` continues the previous instance's numbering, so an acknowledgement of an older
   * round can never be mistaken for one of a newer round.
   */
  constructor(private nextSeq = 0) {}

  /** The sequence number the next request gets (hand it to the next instance). */
  seq(): number {
    return this.nextSeq;
  }

  /**
   * Registers a read of `req` at commit index `index`. Returns the context the confirming
   * heartbeat round must carry.
   */
  addRequest(index: number, req: Message): Uint8Array {
    const k = `ri:${(this.nextSeq++).toString(36)}`;
    this.pending.set(k, { req, index, acks: new Set() });
    this.queue.push(k);
    return Uint8Array.from(k, (c) => c.charCodeAt(0));
  }

  /** Records that `id` answered the heartbeat carrying `ctx`; returns who answered so far. */
  recvAck(id: NodeId, ctx: Uint8Array): Set<NodeId> | undefined {
    const rs = this.pending.get(key(ctx));
    if (!rs) return undefined;
    rs.acks.add(id);
    return rs.acks;
  }

  /** Removes and returns every request up to and including the one confirmed by `ctx`. */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const at = this.queue.indexOf(key(ctx));
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

  /** The heartbeat context of the newest pending read (periodic heartbeats carry it too). */
  lastPendingContext(): Uint8Array | undefined {
    const k = this.queue[this.queue.length - 1];
    return k === undefined ? undefined : Uint8Array.from(k, (c) => c.charCodeAt(0));
  }

  size(): number {
    return this.queue.length;
  }
}
