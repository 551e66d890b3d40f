/**
 * A bounded record of the last events of a run, printed when a check fails.
 *
 * Recording must be cheap (it happens for every message and every step of thousands of
 * runs), so each record keeps its parts and is only turned into text when a run fails or
 * `--verbose` streams it.
 */
import { UNITS_PER_TICK } from "./event-queue.js";

interface Record {
  readonly time: number;
  readonly node: string;
  readonly what: string;
  readonly detail: (() => string) | string;
}

export class Trace {
  private readonly ring: (Record | undefined)[];
  private next = 0;
  private total = 0;

  /**
   * @param capacity how many recent records to keep.
   * @param sink when set, every record is also formatted and written here at once (verbose mode).
   */
  constructor(
    capacity: number,
    private readonly sink?: (line: string) => void,
  ) {
    this.ring = new Array<Record | undefined>(capacity);
  }

  /** Records one event. `detail` may be a thunk so unprinted records cost no string building. */
  add(time: number, node: string, what: string, detail: (() => string) | string = ""): void {
    const r: Record = { time, node, what, detail };
    this.ring[this.next] = r;
    this.next = (this.next + 1) % this.ring.length;
    this.total++;
    if (this.sink) this.sink(format(r));
  }

  /** Number of records ever added (including those that fell out of the ring). */
  get count(): number {
    return this.total;
  }

  /** The kept records, oldest first, one line each. */
  lines(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.ring.length; i++) {
      const r = this.ring[(this.next + i) % this.ring.length];
      if (r) out.push(format(r));
    }
    return out;
  }
}

function format(r: Record): string {
  const tick = (r.time / UNITS_PER_TICK).toFixed(3).padStart(9);
  const detail = typeof r.detail === "function" ? r.detail() : r.detail;
  return `t=${tick} ${r.node.padEnd(4)} ${r.what}${detail ? ` ${detail}` : ""}`;
}
