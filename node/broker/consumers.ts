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

/** What one channel used: the queues it consumed or got from, and its consumers. */
interface ChannelUse {
  readonly queues: Map<string, QueueUse>;
  readonly consumers: Set<ConsumerEntry>;
}

interface QueueUse {
  readonly record: QueueRecord;
  /** A consumer ever ran here: its unacked messages may outlive it, keep the entry to the end. */
  consumed: boolean;
  /** Messages this channel took with basic.get (ack mode) and has not settled yet. */
  readonly held: Set<MessageId>;
}

export class Consumers {
  private readonly consumers = new Map<string, ConsumerEntry>();
  /** Per channel, what needs a `down` when it closes. */
  private readonly channels = new Map<string, ChannelUse>();
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
    this.channel(entry.connection, entry.channel).consumers.add(entry);
  }

  remove(connection: string, channel: number, tag: string): ConsumerEntry | undefined {
    const key = consumerKey(connection, channel, tag);
    const c = this.consumers.get(key);
    this.consumers.delete(key);
    if (c !== undefined) this.channels.get(channelKey(connection, channel))?.consumers.delete(c);
    return c;
  }

  /** A channel consumes from a queue: it gets `down` when the channel closes. */
  noteConsume(connection: string, channel: number, record: QueueRecord): void {
    this.use(connection, channel, record).consumed = true;
  }

  /**
   * A channel takes a message with basic.get (ack mode): `down` on close unless settled first.
   * Noted before the get is proposed (`id` undefined), so a get whose answer is lost still gets
   * its `down`; then with the id it took, or `forgetIdle` when it took nothing.
   */
  noteGet(connection: string, channel: number, record: QueueRecord, id?: MessageId): void {
    const q = this.use(connection, channel, record);
    if (id !== undefined) q.held.add(id);
  }

  /** Drops a queue a channel only got from, once nothing it took is held. */
  forgetIdle(connection: string, channel: number, record: QueueRecord): void {
    this.settled(connection, channel, record, []);
  }

  /** Forgets a channel: its consumers and the queues it used (returned). */
  closeChannel(connection: string, channel: number): QueueRecord[] {
    const key = channelKey(connection, channel);
    const use = this.channels.get(key);
    this.channels.delete(key);
    if (use === undefined) return [];
    for (const c of use.consumers) this.consumers.delete(consumerKey(c.connection, c.channel, c.tag));
    return [...use.queues.values()].map((q) => q.record);
  }

  /** Channels of a connection that used queues or have consumers. */
  channelsOf(connection: string): number[] {
    const out: number[] = [];
    const prefix = `${connection}\u0000`;
    for (const key of this.channels.keys())
      if (key.startsWith(prefix)) out.push(Number(key.slice(prefix.length)));
    return out;
  }

  /**
   * Messages settled on a channel: forget them for dedupe, and forget a queue a channel only
   * got from once nothing it took is held (per-request HTTP connections never close channels).
   */
  settled(connection: string, channel: number, queue: QueueRecord, ids: readonly MessageId[]): void {
    const key = channelKey(connection, channel);
    const use = this.channels.get(key);
    if (use === undefined) return;
    for (const c of use.consumers) {
      if (c.vhost !== queue.vhost || c.queue !== queue.name) continue;
      for (const id of ids) c.delivered.delete(id);
    }
    const qk = `${queue.vhost}\u0000${queue.name}`;
    const q = use.queues.get(qk);
    if (q === undefined) return;
    for (const id of ids) q.held.delete(id);
    if (!q.consumed && q.held.size === 0) use.queues.delete(qk);
    if (use.queues.size === 0 && use.consumers.size === 0) this.channels.delete(key);
  }

  private channel(connection: string, channel: number): ChannelUse {
    const key = channelKey(connection, channel);
    let use = this.channels.get(key);
    if (use === undefined) {
      use = { queues: new Map(), consumers: new Set() };
      this.channels.set(key, use);
    }
    return use;
  }

  private use(connection: string, channel: number, record: QueueRecord): QueueUse {
    const use = this.channel(connection, channel);
    const qk = `${record.vhost}\u0000${record.name}`;
    let q = use.queues.get(qk);
    if (q === undefined || q.record.createdIndex !== record.createdIndex) {
      q = { record, consumed: false, held: new Set() };
      use.queues.set(qk, q);
    }
    return q;
  }

  /** Hands a delivery to its consumer; false when the consumer is not here (cancelled, closed). */
  deliver(frame: DeliverFrame): boolean {
    return this.deliverMany(frame.connection, frame.channel, frame.tag, [frame.delivery]);
  }

  /**
   * Hands deliveries to one consumer, in order (one lookup for the lot); false when the consumer
   * is not here (cancelled, closed).
   */
  deliverMany(connection: string, channel: number, tag: string, deliveries: readonly Delivery[]): boolean {
    const c = this.consumers.get(consumerKey(connection, channel, tag));
    if (c === undefined) return false;
    for (const d of deliveries) this.deliverTo(c, d);
    return true;
  }

  private deliverTo(c: ConsumerEntry, d: Delivery): void {
    if (!c.noAck) {
      if (c.delivered.get(d.id) === d.deliveryCount) return;
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
