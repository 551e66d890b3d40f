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
  /** Pending settles by operation, then queue (insertion order is kept within each). */
  private readonly pending = new Map<SettleOp, Map<string, Pending>>();
  private size = 0;
  private scheduled = false;

  constructor(private readonly settle: SettleFn) {}

  add(queue: string, op: SettleOp, ids: readonly MessageId[], what: string): void {
    for (const id of ids) this.addOne(queue, op, id, what);
  }

  /** One message (a basic.ack without `multiple`: the common case, kept allocation-free). */
  addOne(queue: string, op: SettleOp, id: MessageId, what: string): void {
    let byQueue = this.pending.get(op);
    if (byQueue === undefined) {
      byQueue = new Map();
      this.pending.set(op, byQueue);
    }
    let p = byQueue.get(queue);
    if (p === undefined) {
      p = { queue, op, ids: [], what };
      byQueue.set(queue, p);
      this.size++;
    }
    p.ids.push(id);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Sends everything pending now (also before the channel tells the broker it closed). */
  flush(): void {
    this.scheduled = false;
    if (this.size === 0) return;
    const batch: Pending[] = [];
    for (const byQueue of this.pending.values()) for (const p of byQueue.values()) batch.push(p);
    this.pending.clear();
    this.size = 0;
    for (const p of batch) this.settle(p.queue, p.op, p.ids, p.what);
  }
}
