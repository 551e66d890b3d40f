/**
 * Acks, nacks and rejects of one channel, batched per event-loop turn: the acks of one socket
 * read (a client acking each message of a burst) become one settle per queue and operation,
 * i.e. one Raft proposal instead of one per message. Order is kept per queue and operation,
 * which is all the broker needs (a message is settled once).
 */
import type { MessageId, SettleOp } from "../broker/types.js";

export type SettleFn = (queue: string, op: SettleOp, ids: MessageId[], what: string) => void;

interface Pending {
  readonly queue: string;
  readonly op: SettleOp;
  readonly ids: MessageId[];
  readonly what: string;
}

export class SettleBatch {
  private readonly pending = new Map<string, Pending>();
  private scheduled = false;

  constructor(private readonly settle: SettleFn) {}

  add(queue: string, op: SettleOp, ids: readonly MessageId[], what: string): void {
    const key = `${op}\u0000${queue}`;
    let p = this.pending.get(key);
    if (p === undefined) {
      p = { queue, op, ids: [], what };
      this.pending.set(key, p);
    }
    for (const id of ids) p.ids.push(id);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends everything pending now (also before the channel tells the broker it closed). */
  flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending.clear();
    for (const p of batch) this.settle(p.queue, p.op, p.ids, p.what);
  }
}
