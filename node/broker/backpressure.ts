/**
 * Flow control: publishes wait (instead of the process growing without limit) while
 * - the bytes of publishes this node has in flight (proposed, not yet committed) exceed
 *   `maxUncommittedBytes`, or
 * - the process's resident memory exceeds `memoryHighWatermark` of the machine's memory
 *   (RabbitMQ's memory alarm; checked once a second).
 * `isBlocked()` / `onBlockedChange` let the AMQP door send connection.blocked/unblocked.
 */
import { totalmem } from "node:os";
import { WarrenError } from "../errors.js";

export class Backpressure {
  private inflight = 0;
  private memoryAlarm = false;
  private leaderBacklog = false;
  private blocked = false;
  private readonly listeners: ((blocked: boolean, reason: string) => void)[] = [];
  private waiters: (() => void)[] = [];
  private readonly timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly maxInflightBytes: number,
    private readonly memoryHighWatermark: number,
    private readonly rss: () => number = () => process.memoryUsage.rss(),
  ) {
    if (memoryHighWatermark > 0) {
      this.timer = setInterval(() => this.checkMemory(), 1000);
      this.timer.unref?.();
    }
  }

  /** A queue this node leads holds more uncommitted bytes than its bound (leader-admission.ts). */
  setLeaderBacklog(over: boolean): void {
    this.leaderBacklog = over;
    this.update();
  }

  isBlocked(): boolean {
    return this.blocked;
  }

  onChange(cb: (blocked: boolean, reason: string) => void): void {
    this.listeners.push(cb);
  }

  /**
   * Waits until publishing may go on, then accounts `bytes` as in flight; call the returned
   * function when the publish finished. Rejects RESOURCE_ERROR after `timeoutMs` blocked. When
   * nothing holds publishes back, the release comes at once (no promise: this runs per publish).
   */
  acquire(bytes: number, timeoutMs: number): (() => void) | Promise<() => void> {
    if (!this.memoryAlarm && this.inflight <= this.maxInflightBytes) return this.take(bytes);
    return this.wait(bytes, timeoutMs);
  }

  private async wait(bytes: number, timeoutMs: number): Promise<() => void> {
    const deadline = Date.now() + timeoutMs;
    // A leader's backlog is bounded where it is (leader-admission.ts); here only this node's own
    // in-flight bytes and memory hold a publish back.
    while (this.memoryAlarm || this.inflight > this.maxInflightBytes) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new WarrenError("RESOURCE_ERROR", `publishing blocked: ${this.reason()}`);
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.take(bytes);
  }

  private take(bytes: number): () => void {
    this.inflight += bytes;
    this.update();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inflight -= bytes;
      this.update();
    };
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  private checkMemory(): void {
    this.memoryAlarm = this.rss() > this.memoryHighWatermark * totalmem();
    this.update();
  }

  private reason(): string {
    if (this.memoryAlarm) return "memory high watermark reached";
    return this.leaderBacklog
      ? "a queue leader's uncommitted backlog is over its bound"
      : "too many uncommitted bytes in flight";
  }

  private update(): void {
    const holding = this.memoryAlarm || this.inflight > this.maxInflightBytes;
    if (!holding && this.waiters.length > 0) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
    const blocked = holding || this.leaderBacklog;
    if (blocked === this.blocked) return;
    this.blocked = blocked;
    for (const l of this.listeners) l(blocked, blocked ? this.reason() : "");
  }
}
