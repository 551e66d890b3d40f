/**
 * When a connection's socket is read. Two reasons stop reading, as RabbitMQ's credit flow and
 * resource alarms do:
 * - its publishes outran commits: more than `maxInflight` messages (or 64 MiB) handed to the
 *   broker and not finished; reading resumes below half of both;
 * - the broker is blocked (memory or backlog) and this connection has published (connections
 *   that only consume keep running, so consumers can drain the backlog).
 */

/** Unconfirmed publishes (per connection) above which we stop reading the socket. */
export const MAX_INFLIGHT_PUBLISHES = 4096;
export const MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;

export class ReadThrottle {
  /** Times reading stopped because publishes outran the broker (a figure for tests and metrics). */
  throttled = 0;
  private count = 0;
  private bytes = 0;
  private forInflight = false;
  private forBlock = false;
  private hasPublished = false;

  constructor(
    private readonly maxInflight: number,
    /** Applies the decision (socket.pause / resume). */
    private readonly setPaused: (paused: boolean) => void,
  ) {}

  get paused(): boolean {
    return this.forInflight || this.forBlock;
  }

  publishStarted(bytes: number): void {
    this.hasPublished = true;
    this.count++;
    this.bytes += bytes;
    if (!this.forInflight && (this.count > this.maxInflight || this.bytes > MAX_INFLIGHT_BYTES)) {
      this.forInflight = true;
      this.throttled++;
      this.setPaused(this.paused);
    }
  }

  publishDone(bytes: number): void {
    this.count--;
    this.bytes -= bytes;
    if (this.forInflight && this.count <= this.maxInflight / 2 && this.bytes <= MAX_INFLIGHT_BYTES / 2) {
      this.forInflight = false;
      this.setPaused(this.paused);
    }
  }

  blocked(on: boolean): void {
    this.forBlock = on && this.hasPublished;
    this.setPaused(this.paused);
  }
}
