/**
 * All message records of a queue: one MessageLevel per priority level (a single level unless
 * `x-max-priority` is set). Higher levels are served first; ids stay unique across levels.
 */
import { type LevelData, MessageLevel } from "./message-table.js";
import type { MessageId } from "./types.js";

export interface StoreTotals {
  ready: number;
  readyBytes: number;
  checkedOut: number;
  checkedOutBytes: number;
  deadLettering: number;
}

export class MessageStore implements Iterable<MessageLevel> {
  private levels: (MessageLevel | undefined)[] = [];
  /** The existing levels, lowest priority first (an array: iterated on every apply). */
  private present: MessageLevel[] = [];

  constructor(private readonly maxPriority: number | undefined) {}

  [Symbol.iterator](): Iterator<MessageLevel> {
    return this.present[Symbol.iterator]();
  }

  /** The level a message of this `priority` property goes to (above max counts as max). */
  levelFor(priority: number | undefined): MessageLevel {
    const max = this.maxPriority;
    const n =
      max === undefined || priority === undefined || !(priority > 0)
        ? 0
        : Math.min(Math.floor(priority), max);
    let l = this.levels[n];
    if (!l) {
      while (this.levels.length <= n) this.levels.push(undefined);
      l = new MessageLevel();
      this.levels[n] = l;
      this.present = this.levels.filter((x): x is MessageLevel => x !== undefined);
    }
    return l;
  }

  /** The highest priority level with a ready message. */
  nextReady(): MessageLevel | undefined {
    for (let i = this.levels.length - 1; i >= 0; i--) {
      const l = this.levels[i];
      if (l && l.readyCount > 0) return l;
    }
    return undefined;
  }

  totals(): StoreTotals {
    const t: StoreTotals = { ready: 0, readyBytes: 0, checkedOut: 0, checkedOutBytes: 0, deadLettering: 0 };
    for (const l of this) {
      t.ready += l.readyCount;
      t.readyBytes += l.readyBytes;
      t.checkedOut += l.checkedOutCount;
      t.checkedOutBytes += l.checkedOutBytes;
      t.deadLettering += l.deadLetteringCount;
    }
    return t;
  }

  locate(id: MessageId): { level: MessageLevel; p: number } | undefined {
    for (const level of this) {
      const p = level.find(id);
      if (p >= 0) return { level, p };
    }
    return undefined;
  }

  /** Canonical snapshot data (empty levels as null) and the held ids, sorted. */
  toData(): { levels: (LevelData | null)[]; live: number[] } {
    const levels = this.levels.map((l) => (l && l.size > 0 ? l.toData() : null));
    const live: number[] = [];
    let used = 0;
    for (const l of levels) {
      if (!l) continue;
      used++;
      for (const id of l.ids) live.push(id);
    }
    if (used > 1) live.sort((a, b) => a - b);
    return { levels, live };
  }

  static fromData(maxPriority: number | undefined, levels: readonly (LevelData | null)[]): MessageStore {
    const store = new MessageStore(maxPriority);
    store.levels = levels.map((d) => (d ? MessageLevel.fromData(d) : undefined));
    store.present = store.levels.filter((x): x is MessageLevel => x !== undefined);
    return store;
  }
}
