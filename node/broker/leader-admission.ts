/**
 * Backpressure at the queue leader: the bytes of enqueues a leader has proposed but not yet
 * committed, per queue group, are bounded (`maxUncommittedBytes`). Publishes from every node end
 * up here, so this is what bounds a busy queue's backlog in memory; above the bound new enqueues
 * wait (the publisher's confirm comes later) until the group commits what it holds, or fail
 * RESOURCE_ERROR after the proposal timeout. One enqueue is always admitted into an empty
 * backlog, however large, so a single big message is never refused here.
 */
import { WarrenError } from "../errors.js";

const WAIT_STEP_MS = 5;

export class LeaderAdmission {
  private readonly backlog = new Map<string, number>();
  private overCount = 0;

  constructor(
    private readonly maxBytes: number,
    /** Told when some group goes over its bound or all come back under (connection.blocked). */
    private readonly onOver: (over: boolean) => void = () => {},
  ) {}

  /**
   * Room in `group`'s backlog: the release to call once the enqueue committed, at once (no
   * promise: this runs per publish) when there is room, else a promise of it once there is.
   */
  acquire(group: string, bytes: number, timeoutMs: number): (() => void) | Promise<() => void> {
    return this.hasRoom(group, bytes) ? this.take(group, bytes) : this.wait(group, bytes, timeoutMs);
  }

  private async wait(group: string, bytes: number, timeoutMs: number): Promise<() => void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.hasRoom(group, bytes)) {
      if (Date.now() >= deadline) {
        throw new WarrenError("RESOURCE_ERROR", `queue group ${group} has too many uncommitted bytes`);
      }
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
    }
    return this.take(group, bytes);
  }

  private hasRoom(group: string, bytes: number): boolean {
    const held = this.backlog.get(group) ?? 0;
    return held === 0 || held + bytes <= this.maxBytes;
  }

  private take(group: string, bytes: number): () => void {
    this.add(group, bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.add(group, -bytes);
    };
  }

  /** Bytes a group holds uncommitted (tests, metrics). */
  held(group: string): number {
    return this.backlog.get(group) ?? 0;
  }

  private add(group: string, delta: number): void {
    const before = this.backlog.get(group) ?? 0;
    const after = before + delta;
    if (after <= 0) this.backlog.delete(group);
    else this.backlog.set(group, after);
    const wasOver = before > this.maxBytes;
    const isOver = after > this.maxBytes;
    if (wasOver === isOver) return;
    const overBefore = this.overCount > 0;
    this.overCount += isOver ? 1 : -1;
    if (overBefore !== this.overCount > 0) this.onOver(this.overCount > 0);
  }
}
