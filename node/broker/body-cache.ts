/**
 * Recently enqueued messages (their enqueue commands, bodies included), so the leader usually
 * delivers a message without reading it back from the log: a deliver effect issued by the
 * same apply as the enqueue, or soon after, finds it here. Bounded by entries and bytes (LRU
 * by insertion); a miss falls back to `RaftHost.readCommand`.
 */
import type { EnqueueCommand, MessageId } from "../queue/index.js";

export class BodyCache {
  private readonly map = new Map<string, EnqueueCommand>();
  private bytes = 0;

  constructor(
    private readonly maxEntries = 8192,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  set(group: string, id: MessageId, cmd: EnqueueCommand): void {
    const key = `${group}#${id}`;
    if (this.map.has(key)) return;
    this.map.set(key, cmd);
    this.bytes += cmd.body.byteLength;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const first = this.map.keys().next();
      if (first.done) break;
      this.drop(first.value);
    }
  }

  get(group: string, id: MessageId): EnqueueCommand | undefined {
    return this.map.get(`${group}#${id}`);
  }

  delete(group: string, id: MessageId): void {
    this.drop(`${group}#${id}`);
  }

  /** Forget a whole group (deleted queue). */
  dropGroup(group: string): void {
    const prefix = `${group}#`;
    for (const key of [...this.map.keys()]) if (key.startsWith(prefix)) this.drop(key);
  }

  private drop(key: string): void {
    const cmd = this.map.get(key);
    if (cmd === undefined) return;
    this.map.delete(key);
    this.bytes -= cmd.body.byteLength;
  }
}
