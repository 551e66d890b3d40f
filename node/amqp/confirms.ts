/**
 * Publisher confirms on one channel (confirm.select). Sequence numbers count publishes from 1
 * in arrival order; outcomes may complete out of order (different queues commit independently)
 * but are sent from the lowest outstanding number up, so a run of consecutive outcomes of the
 * same kind becomes one basic.ack / basic.nack with `multiple` (as RabbitMQ batches them).
 * With a `schedule` (the connection's writer: just before the turn's frames go out), the outcomes
 * of one event-loop turn are sent together, so a commit of many publishes is one frame.
 */

export type ConfirmSend = (kind: "ack" | "nack", deliveryTag: number, multiple: boolean) => void;
/** Runs the flush later in the turn; without one, outcomes are sent as they come. */
export type ConfirmSchedule = (flush: () => void) => void;

export class Confirms {
  private next = 1;
  /** Lowest sequence number not yet sent. */
  private head = 1;
  private readonly done = new Map<number, "ack" | "nack">();
  private scheduled = false;

  constructor(
    private readonly send: ConfirmSend,
    private readonly schedule?: ConfirmSchedule,
  ) {}

  /** The next publish's sequence number. */
  take(): number {
    return this.next++;
  }

  get outstanding(): number {
    return this.next - this.head;
  }

  settle(seq: number, kind: "ack" | "nack"): void {
    this.done.set(seq, kind);
    if (this.schedule === undefined) this.flush();
    else if (!this.scheduled && seq === this.head) {
      // Only the lowest outstanding outcome can release anything.
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** Sends every outcome that can go now (also before channel.close-ok, which must follow them). */
  flush(): void {
    this.scheduled = false;
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
