/**
 * The writes staged for one flush: a list of LevelDB operations plus, per group, an overlay of
 * the entries the batch puts or deletes, so `readEntry` sees staged and in-flight writes before
 * they reach the disk (a committed entry can be applied before the local fsync completes).
 */
import type { Entry, GroupId } from "../core/types.js";

/** One LevelDB operation of a batch (added to a chained batch when the batch is written). */
export type LevelOp = { type: "put"; key: string; value: Buffer } | { type: "del"; key: string };

/**
 * A staged operation. `clear` deletes every key of a group that exists on disk but whose
 * contents this process never loaded: it is expanded by a key scan when the batch is written
 * (writes are serialized, so the scan sees exactly the state the batch applies to).
 */
export type StagedOp = LevelOp | { type: "clear"; group: GroupId };

interface GroupOverlay {
  /** The group was deleted earlier in this batch: entries not re-put are gone. */
  cleared: boolean;
  /** index -> the entry this batch writes, or null when it deletes it. Last write wins. */
  readonly entries: Map<number, Entry | null>;
}

export class WriteBatch {
  readonly ops: StagedOp[] = [];
  /** Entries put by this batch (for stats). */
  entries = 0;
  /** Key + value bytes put by this batch (for stats). */
  bytes = 0;
  /** True when some op is a `clear` that must be expanded before writing. */
  hasClears = false;
  private readonly overlays = new Map<GroupId, GroupOverlay>();
  /** Groups this batch writes anything for. */
  private readonly touched = new Set<GroupId>();

  isEmpty(): boolean {
    return this.ops.length === 0;
  }

  /** Notes that this batch writes something for `group` (see {@link touches}). */
  touch(group: GroupId): void {
    this.touched.add(group);
  }

  /** Whether this batch writes anything for `group`: a load must then wait for it. */
  touches(group: GroupId): boolean {
    return this.touched.has(group);
  }

  put(key: string, value: Buffer): void {
    this.ops.push({ type: "put", key, value });
    this.bytes += key.length + value.length;
  }

  del(key: string): void {
    this.ops.push({ type: "del", key });
  }

  putEntry(group: GroupId, key: string, entry: Entry, value: Buffer): void {
    this.put(key, value);
    this.entries++;
    this.overlay(group).entries.set(entry.index, entry);
  }

  delEntry(group: GroupId, key: string, index: number): void {
    this.del(key);
    this.overlay(group).entries.set(index, null);
  }

  /** Everything of `group` written before this point in the batch (or stored on disk) is gone. */
  clearGroup(group: GroupId, op?: StagedOp): void {
    if (op) {
      this.ops.push(op);
      if (op.type === "clear") this.hasClears = true;
    }
    const o = this.overlay(group);
    o.cleared = true;
    o.entries.clear();
  }

  /**
   * What this batch does to entry `index` of `group`: the entry it writes, null when it deletes
   * it, undefined when the batch does not touch it.
   */
  lookup(group: GroupId, index: number): Entry | null | undefined {
    const o = this.overlays.get(group);
    if (!o) return undefined;
    const e = o.entries.get(index);
    if (e !== undefined) return e;
    return o.cleared ? null : undefined;
  }

  private overlay(group: GroupId): GroupOverlay {
    let o = this.overlays.get(group);
    if (!o) {
      o = { cleared: false, entries: new Map() };
      this.overlays.set(group, o);
    }
    return o;
  }
}
