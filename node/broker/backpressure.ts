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

  isBlocked(): boolean {
    return this.blocked;
  }

  onChange(cb: (blocked: boolean, reason: string) => void): void {
    this.listeners.push(cb);
  }

  /**
   * Waits until publishing may go on, then accounts `bytes` as in flight; call the returned
   * function when the publish finished. Rejects RESOURCE_ERROR after `timeoutMs` blocked.
   */
  async acquire(bytes: number, timeoutMs: number): Promise<() => void> {
    const deadline = Date.now() + timeoutMs;
    while (this.blocked) {
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
    return this.memoryAlarm ? "memory high watermark reached" : "too many uncommitted bytes in flight";
  }

  private update(): void {
    const blocked = this.memoryAlarm || this.inflight > this.maxInflightBytes;
    if (blocked === this.blocked) return;
    this.blocked = blocked;
    for (const l of this.listeners) l(blocked, blocked ? this.reason() : "");
    if (!blocked) {
      const w = this.waiters;
      this.waiters = [];
      for (const f of w) f();
    }
  }
}
