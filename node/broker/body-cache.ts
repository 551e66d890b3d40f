/**
 * Recently enqueued messages (their enqueue commands, bodies included), so the leader usually
 * delivers a message without reading it back from the log: a deliver effect issued by the
 * same apply as the enqueue, or soon after, finds it here. Bounded by entries and bytes (evicted
 * in insertion order); a miss falls back to `RaftHost.readCommand`.
 *
 * Every replica sets an entry per applied enqueue and drops it when the message is settled, so
 * this sits on the hot path of every node: one Map per group from the message id (a number, no
 * key string to build and hash per call) to a slot of parallel arrays kept in insertion order
 * (eviction walks them; no Map iterator per eviction). A slot is emptied as soon as its entry
 * goes (settled, evicted, group dropped), so no body outlives its entry; empty slots are removed
 * when the arrays are compacted.
 */
import type { EnqueueCommand, MessageId } from "../queue/index.js";

/** Message id -> slot in the order arrays. */
type GroupMap = Map<MessageId, number>;

/** The order arrays are compacted only past this many slots (empty or not). */
const COMPACT_MIN = 1024;

export class BodyCache {
  private readonly groups = new Map<string, GroupMap>();
  private size = 0;
  private bytes = 0;
  /** Slots in insertion order: the group map, the id and the command (undefined once gone). */
  private maps: GroupMap[] = [];
  private ids: MessageId[] = [];
  private cmds: (EnqueueCommand | undefined)[] = [];
  /** Slots before this one are all empty (evicted or gone). */
  private head = 0;

  /**
   * The entry bound, not the byte bound, limits 1 KiB bodies (8 MiB). 65,536 entries let a
   * backlog of them be delivered from memory (leader CPU per message in scenario (d) -30%), but
   * every replica then keeps 8x more commands alive while the backlog builds, and publishing
   * cost about as much more CPU as consuming saved (docs/performance.md, "Body cache entry
   * bound"); not kept.
   */
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
    g.set(id, this.cmds.length);
    this.maps.push(g);
    this.ids.push(id);
    this.cmds.push(cmd);
    this.size++;
    this.bytes += cmd.body.byteLength;
    while ((this.size > this.maxEntries || this.bytes > this.maxBytes) && this.evictOldest()) {}
    this.maybeCompact();
  }

  get(group: string, id: MessageId): EnqueueCommand | undefined {
    const slot = this.groups.get(group)?.get(id);
    return slot === undefined ? undefined : this.cmds[slot];
  }

  delete(group: string, id: MessageId): void {
    const g = this.groups.get(group);
    const slot = g?.get(id);
    if (g === undefined || slot === undefined) return;
    g.delete(id);
    this.empty(slot);
  }

  /** Forget a whole group (deleted queue). */
  dropGroup(group: string): void {
    const g = this.groups.get(group);
    if (g === undefined) return;
    for (const slot of g.values()) this.empty(slot);
    g.clear();
    this.groups.delete(group);
  }

  /** Entries held (for tests and metrics). */
  entries(): number {
    return this.size;
  }

  private empty(slot: number): void {
    const cmd = this.cmds[slot];
    if (cmd === undefined) return;
    this.cmds[slot] = undefined;
    this.size--;
    this.bytes -= cmd.body.byteLength;
  }

  /** Drops the oldest entry; false if there is none. */
  private evictOldest(): boolean {
    while (this.head < this.cmds.length) {
      const slot = this.head++;
      if (this.cmds[slot] === undefined) continue;
      this.maps[slot]!.delete(this.ids[slot]!);
      this.empty(slot);
      return true;
    }
    return false;
  }

  /**
   * Evicted slots before `head` and settled messages' slots after it stay in the arrays (empty):
   * once either outnumbers the live part (and a minimum), rebuild the arrays with the live slots
   * only and renumber them in their maps, so the arrays stay O(entries) at an amortised O(1)
   * per `set`.
   */
  private maybeCompact(): void {
    const slots = this.cmds.length - this.head;
    const deadPrefix = this.head >= COMPACT_MIN && this.head >= slots;
    const sparse = slots >= COMPACT_MIN && slots >= 2 * this.size;
    if (!deadPrefix && !sparse) return;
    const maps: GroupMap[] = [];
    const ids: MessageId[] = [];
    const cmds: EnqueueCommand[] = [];
    for (let i = this.head; i < this.cmds.length; i++) {
      const cmd = this.cmds[i];
      if (cmd === undefined) continue;
      const g = this.maps[i]!;
      const id = this.ids[i]!;
      g.set(id, cmds.length);
      maps.push(g);
      ids.push(id);
      cmds.push(cmd);
    }
    this.maps = maps;
    this.ids = ids;
    this.cmds = cmds;
    this.head = 0;
  }
}
