/**
 * The pipelining window of one follower in replicate state: the last index of every MsgApp
 * sent and not yet acknowledged, oldest first. When it is full the leader stops sending to
 * that follower until acknowledgements free slots (bounded memory and bounded retransmission
 * after a loss).
 */
export class Inflights {
  /** Ring buffer of the last entry index of each in-flight MsgApp, ascending. */
  private readonly buffer: number[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.buffer = new Array<number>(capacity).fill(0);
  }

  /** Records a MsgApp whose last entry is `index`. The caller checks {@link full} first. */
  add(index: number): void {
    if (this.full()) throw new Error("inflights.add on a full window");
    this.buffer[(this.start + this.count) % this.capacity] = index;
    this.count++;
  }

  /** Frees every message whose last index is <= `to` (acknowledged cumulatively). */
  freeLE(to: number): void {
    while (this.count > 0 && this.buffer[this.start]! <= to) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }

  /** Frees the oldest message: a heartbeat response proves the follower is alive. */
  freeFirstOne(): void {
    if (this.count === 0) return;
    this.freeLE(this.buffer[this.start]!);
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  size(): number {
    return this.count;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}
