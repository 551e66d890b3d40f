/**
 * A channel's delivery tags: 1, 2, ... per channel, each mapped to the queue and message id the
 * broker settles by. Only deliveries that await an ack are remembered (no-ack ones just count).
 */
import type { MessageId } from "../broker/types.js";
import { preconditionFailed } from "./errors.js";

export interface Unacked {
  readonly queue: string;
  readonly id: MessageId;
  /** "" for basic.get. */
  readonly consumerTag: string;
}

export class DeliveryTags {
  private nextTag = 1;
  /** Insertion order = tag order, so `multiple` walks from the start. */
  private readonly unacked = new Map<number, Unacked>();

  get size(): number {
    return this.unacked.size;
  }

  /** A tag for a delivery; remembered when the client must settle it. */
  add(u: Unacked, needsAck: boolean): number {
    const tag = this.nextTag++;
    if (needsAck) this.unacked.set(tag, u);
    return tag;
  }

  /**
   * The deliveries an ack/nack/reject names: `tag` alone, or every one up to it with `multiple`
   * (tag 0 with multiple = all). An unknown tag is RabbitMQ's 406 "unknown delivery tag N".
   */
  take(tag: number, multiple: boolean): Unacked[] {
    if (multiple) {
      const out: Unacked[] = [];
      if (tag !== 0 && tag >= this.nextTag) throw preconditionFailed(`unknown delivery tag ${tag}`);
      for (const [t, u] of this.unacked) {
        if (tag !== 0 && t > tag) break;
        out.push(u);
        this.unacked.delete(t);
      }
      if (out.length === 0 && tag !== 0) throw preconditionFailed(`unknown delivery tag ${tag}`);
      return out;
    }
    const u = this.unacked.get(tag);
    if (u === undefined) throw preconditionFailed(`unknown delivery tag ${tag}`);
    this.unacked.delete(tag);
    return [u];
  }

  /** Everything unacked (basic.recover), forgotten. */
  takeAll(): Unacked[] {
    const out = [...this.unacked.values()];
    this.unacked.clear();
    return out;
  }
}

/** Groups settled deliveries by queue, keeping each queue's ids in tag order. */
export function byQueue(items: readonly Unacked[]): Map<string, MessageId[]> {
  const m = new Map<string, MessageId[]>();
  for (const u of items) {
    let ids = m.get(u.queue);
    if (ids === undefined) {
      ids = [];
      m.set(u.queue, ids);
    }
    ids.push(u.id);
  }
  return m;
}
