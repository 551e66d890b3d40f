/**
 * The consumers whose client connection is on this node, and what each channel used.
 *
 * Deliveries arrive here from the queue's leader (locally, or over the transport's "deliver"
 * channel, which keeps per-peer order) and go to the consumer's sink. A new leader re-issues
 * the deliveries of every unacked message (Ra's state_enter(leader)), so deliveries are deduped
 * by (consumer, message id, delivery count): the same delivery twice is dropped, a redelivery
 * after a requeue (count + 1) is not.
 */
import type { NodeId } from "../../raft/core/types.js";
import type { QueueRecord } from "../meta/index.js";
import type { MessageId } from "../queue/index.js";
import type { ConsumerSink, Delivery } from "./types.js";

export interface ConsumerEntry {
  readonly connection: string;
  readonly channel: number;
  readonly tag: string;
  readonly vhost: string;
  readonly queue: string;
  /** The queue's incarnation, so a queue declared again under the name is another queue. */
  readonly incarnation: number;
  readonly sink: ConsumerSink;
  readonly noAck: boolean;
  /** No-ack credit window (prefetch, or 2000 when 0). */
  readonly window: number;
  /** Unsettled deliveries: id -> delivery count last delivered. */
  readonly delivered: Map<MessageId, number>;
  /** No-ack deliveries written since credit was last granted. */
  sinceCredit: number;
  cancelled: boolean;
}

/** A delivery as it crosses the transport from the leader's node to the consumer's node. */
export interface DeliverFrame {
  readonly connection: string;
  readonly channel: number;
  readonly tag: string;
  readonly delivery: Delivery;
}

export function consumerKey(connection: string, channel: number, tag: string): string {
  return `${connection}\u0000${channel}\u0000${tag}`;
}

function channelKey(connection: string, channel: number): string {
  return `${connection}\u0000${channel}`;
}

export class Consumers {
  private readonly consumers = new Map<string, ConsumerEntry>();
  /** Queues each channel consumed from or got from (their `down` on channel close). */
  private readonly channelQueues = new Map<string, Map<string, QueueRecord>>();
  private nextTag = 1;

  constructor(
    private readonly nodeId: NodeId,
    /** Called for no-ack consumers when enough deliveries went out to grant more credit. */
    private readonly grantCredit: (c: ConsumerEntry, credit: number) => void,
  ) {}

  generateTag(): string {
    return `amq.ctag-${this.nodeId}-${this.nextTag++}`;
  }

  has(connection: string, channel: number, tag: string): boolean {
    return this.consumers.has(consumerKey(connection, channel, tag));
  }

  get(connection: string, channel: number, tag: string): ConsumerEntry | undefined {
    return this.consumers.get(consumerKey(connection, channel, tag));
  }

  add(entry: ConsumerEntry): void {
    this.consumers.set(consumerKey(entry.connection, entry.channel, entry.tag), entry);
  }

  remove(connection: string, channel: number, tag: string): ConsumerEntry | undefined {
    const key = consumerKey(connection, channel, tag);
    const c = this.consumers.get(key);
    this.consumers.delete(key);
    return c;
  }

  /** Remembers that a channel used a queue (consume or get), for `down` when it closes. */
  noteUse(connection: string, channel: number, record: QueueRecord): void {
    const key = channelKey(connection, channel);
    let m = this.channelQueues.get(key);
    if (m === undefined) {
      m = new Map();
      this.channelQueues.set(key, m);
    }
    m.set(`${record.vhost}\u0000${record.name}`, record);
  }

  /** Forgets a channel: its consumers and the queues it used (returned). */
  closeChannel(connection: string, channel: number): QueueRecord[] {
    const prefix = `${channelKey(connection, channel)}\u0000`;
    for (const key of [...this.consumers.keys()]) if (key.startsWith(prefix)) this.consumers.delete(key);
    const used = this.channelQueues.get(channelKey(connection, channel));
    this.channelQueues.delete(channelKey(connection, channel));
    return used === undefined ? [] : [...used.values()];
  }

  /** Channels of a connection that used queues or have consumers. */
  channelsOf(connection: string): number[] {
    const out = new Set<number>();
    const prefix = `${connection}\u0000`;
    for (const key of this.channelQueues.keys())
      if (key.startsWith(prefix)) out.add(Number(key.slice(prefix.length)));
    for (const c of this.consumers.values()) if (c.connection === connection) out.add(c.channel);
    return [...out];
  }

  /** A message settled on a channel: forget it for dedupe. */
  settled(connection: string, channel: number, queue: string, ids: readonly MessageId[]): void {
    for (const c of this.consumers.values()) {
      if (c.connection !== connection || c.channel !== channel || c.queue !== queue) continue;
      for (const id of ids) c.delivered.delete(id);
    }
  }

  /** Hands a delivery to its consumer; false when the consumer is not here (cancelled, closed). */
  deliver(frame: DeliverFrame): boolean {
    const c = this.consumers.get(consumerKey(frame.connection, frame.channel, frame.tag));
    if (c === undefined) return false;
    const d = frame.delivery;
    if (!c.noAck) {
      if (c.delivered.get(d.id) === d.deliveryCount) return true;
      c.delivered.set(d.id, d.deliveryCount);
    }
    try {
      c.sink.deliver(d);
    } catch {
      // A failing sink is its door's problem (it closes the channel); other effects go on.
    } finally {
      if (c.noAck) {
        c.sinceCredit++;
        // Grant in halves of the window so the queue never waits for a round trip per message.
        if (c.sinceCredit >= Math.max(1, Math.floor(c.window / 2))) {
          const n = c.sinceCredit;
          c.sinceCredit = 0;
          this.grantCredit(c, n);
        }
      }
    }
    return true;
  }

  /** Cancels (with notice) every consumer of a deleted queue. */
  cancelQueue(vhost: string, queue: string, incarnation: number, reason: string): void {
    for (const [key, c] of this.consumers) {
      if (c.vhost !== vhost || c.queue !== queue || c.incarnation !== incarnation) continue;
      this.consumers.delete(key);
      c.cancelled = true;
      try {
        c.sink.cancelled(reason);
      } catch {
        // a sink's failure is the front door's problem; the consumer is gone either way
      }
    }
  }

  all(): ConsumerEntry[] {
    return [...this.consumers.values()];
  }
}
