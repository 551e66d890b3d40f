/**
 * Recently enqueued messages (their enqueue commands, bodies included), so the leader usually
 * delivers a message without reading it back from the log: a deliver effect issued by the
 * same apply as the enqueue, or soon after, finds it here. Bounded by entries and bytes (evicted
 * in insertion order); a miss falls back to `RaftHost.readCommand`.
 *
 * Every replica sets an entry per applied enqueue and drops it when the message is settled, so
 * this sits on the hot path of every node: one Map per group keyed by the message id (a number,
 * no key string to build and hash per call), and the insertion order in parallel arrays (no
 * iterator per eviction). An order slot whose entry went meanwhile (settled, group dropped) is
 * skipped by eviction and removed when the arrays are compacted.
 */
import type { EnqueueCommand, MessageId } from "../queue/index.js";

type GroupMap = Map<MessageId, EnqueueCommand>;

/** The order arrays are compacted only past this many slots (dead or stale). */
const COMPACT_MIN = 1024;

export class BodyCache {
  private readonly groups = new Map<string, GroupMap>();
  private size = 0;
  private bytes = 0;
  /** Insertion order from `head` on: the group map, the id and the command of each `set`. */
  private orderMaps: GroupMap[] = [];
  private orderIds: MessageId[] = [];
  private orderCmds: EnqueueCommand[] = [];
  private head = 0;

  constructor(
    private readonly maxEntries = 8192,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  set(group: string, id: MessageId, cmd: EnqueueCommand): void {
    let g = this.groups.get(group);
    if (g === undefined) {
      g = new Map();
      this.groups.set(group, g);
    } else if (g.has(id)) return;
    g.set(id, cmd);
    this.size++;
    this.bytes += cmd.body.byteLength;
    this.orderMaps.push(g);
    this.orderIds.push(id);
    this.orderCmds.push(cmd);
    while ((this.size > this.maxEntries || this.bytes > this.maxBytes) && this.evictOldest()) {}
    this.maybeCompact();
  }

  get(group: string, id: MessageId): EnqueueCommand | undefined {
    return this.groups.get(group)?.get(id);
  }

  delete(group: string, id: MessageId): void {
    const g = this.groups.get(group);
    if (g === undefined) return;
    const cmd = g.get(id);
    if (cmd === undefined) return;
    g.delete(id);
    this.forget(cmd);
  }

  /** Forget a whole group (deleted queue). */
  dropGroup(group: string): void {
    const g = this.groups.get(group);
    if (g === undefined) return;
    for (const cmd of g.values()) this.forget(cmd);
    // Emptied, so its order slots read as gone even though they still point at this map.
    g.clear();
    this.groups.delete(group);
  }

  /** Entries held (for tests and metrics). */
  entries(): number {
    return this.size;
  }

  private forget(cmd: EnqueueCommand): void {
    this.size--;
    this.bytes -= cmd.body.byteLength;
  }

  /** Drops the oldest live entry; false if there is none. */
  private evictOldest(): boolean {
    while (this.head < this.orderIds.length) {
      const i = this.head++;
      const g = this.orderMaps[i]!;
      const id = this.orderIds[i]!;
      // The same id may have been dropped and set again since: only the slot of this very
      // command stands for the entry.
      if (g.get(id) === this.orderCmds[i]) {
        g.delete(id);
        this.forget(this.orderCmds[i]!);
        return true;
      }
    }
    return false;
  }

  /**
   * Evicted slots before `head`, and settled messages' slots after it, stay in the arrays: once
   * either outnumbers the live part (and a minimum), rebuild the arrays with the live slots
   * only, so they stay O(entries) at an amortised O(1) per `set`.
   */
  private maybeCompact(): void {
    const slots = this.orderIds.length - this.head;
    const deadPrefix = this.head >= COMPACT_MIN && this.head >= slots;
    const stale = slots >= COMPACT_MIN && slots >= 2 * this.size;
    if (!deadPrefix && !stale) return;
    const maps: GroupMap[] = [];
    const ids: MessageId[] = [];
    const cmds: EnqueueCommand[] = [];
    for (let i = this.head; i < this.orderIds.length; i++) {
      const g = this.orderMaps[i]!;
      const id = this.orderIds[i]!;
      const cmd = this.orderCmds[i]!;
      if (g.get(id) !== cmd) continue;
      maps.push(g);
      ids.push(id);
      cmds.push(cmd);
    }
    this.orderMaps = maps;
    this.orderIds = ids;
    this.orderCmds = cmds;
    this.head = 0;
  }
}
