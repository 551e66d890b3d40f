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

  /** Waits for room in `group`'s backlog; resolves with the release to call once it committed. */
  async acquire(group: string, bytes: number, timeoutMs: number): Promise<() => void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const held = this.backlog.get(group) ?? 0;
      if (held === 0 || held + bytes <= this.maxBytes) break;
      if (Date.now() >= deadline) {
        throw new WarrenError("RESOURCE_ERROR", `queue group ${group} has too many uncommitted bytes`);
      }
      await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
    }
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
