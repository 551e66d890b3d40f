/**
 * Publisher confirms on one channel (confirm.select). Sequence numbers count publishes from 1
 * in arrival order; outcomes may complete out of order (different queues commit independently)
 * but are sent from the lowest outstanding number up, so a run of consecutive outcomes of the
 * same kind becomes one basic.ack / basic.nack with `multiple` (as RabbitMQ batches them).
 */

export type ConfirmSend = (kind: "ack" | "nack", deliveryTag: number, multiple: boolean) => void;

export class Confirms {
  private next = 1;
  /** Lowest sequence number not yet sent. */
  private head = 1;
  private readonly done = new Map<number, "ack" | "nack">();

  constructor(private readonly send: ConfirmSend) {}

  /** The next publish's sequence number. */
  take(): number {
    return this.next++;
  }

  get outstanding(): number {
    return this.next - this.head;
  }

  settle(seq: number, kind: "ack" | "nack"): void {
    this.done.set(seq, kind);
    this.flush();
  }

  private flush(): void {
    for (;;) {
      const kind = this.done.get(this.head);
      if (kind === undefined) return;
      let last = this.head;
      while (this.done.get(last + 1) === kind) last++;
      for (let s = this.head; s <= last; s++) this.done.delete(s);
      this.send(kind, last, last > this.head);
      this.head = last + 1;
    }
  }
}
