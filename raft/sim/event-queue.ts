/**
 * The simulated clock: a priority queue of timed events.
 *
 * Time is an integer count of sub-tick units ({@link UNITS_PER_TICK} per Raft tick) so message
 * delays and fsync latencies can fall between two ticks. Events at the same time run in the
 * order they were scheduled (a sequence number breaks ties), which keeps a run deterministic:
 * the only source of variation is the seeded PRNG that picked the times.
 */

/** Sub-tick resolution. A Raft tick (election and heartbeat timers count these) is this many units. */
export const UNITS_PER_TICK = 8;

interface Slot<T> {
  readonly time: number;
  readonly seq: number;
  readonly event: T;
}

/** A binary min-heap on (time, seq). */
export class EventQueue<T> {
  private readonly heap: Slot<T>[] = [];
  private seq = 0;
  private clock = 0;

  /** The time of the event being (or last) processed. Never decreases. */
  get now(): number {
    return this.clock;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `event` at absolute `time`; a time in the past is clamped to now (no time travel). */
  schedule(time: number, event: T): void {
    const slot: Slot<T> = { time: Math.max(time, this.clock), seq: this.seq++, event };
    const heap = this.heap;
    heap.push(slot);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Slot<T>;
      if (!before(slot, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = slot;
  }

  /** Schedules `event` `delay` units from now. */
  after(delay: number, event: T): void {
    this.schedule(this.clock + delay, event);
  }

  /** Time of the next event, or undefined when the queue is empty. */
  peekTime(): number | undefined {
    return this.heap[0]?.time;
  }

  /** Removes the earliest event and advances the clock to its time. */
  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (top === undefined) return undefined;
    const last = heap.pop() as Slot<T>;
    if (heap.length > 0) {
      let i = 0;
      const n = heap.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && before(heap[r] as Slot<T>, heap[l] as Slot<T>)) c = r;
        const child = heap[c] as Slot<T>;
        if (!before(child, last)) break;
        heap[i] = child;
        i = c;
      }
      heap[i] = last;
    }
    this.clock = top.time;
    return top.event;
  }
}

function before<T>(x: Slot<T>, y: Slot<T>): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}
