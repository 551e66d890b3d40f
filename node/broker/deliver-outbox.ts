/**
 * The deliveries a queue's leader produced in one go (one apply's effects, or one batch of bodies
 * read from the log), grouped per consumer before they leave: a consumer on this node gets them
 * with one lookup, and a consumer on another node gets them in ONE transport frame per node
 * instead of one per message (a frame per 1 KiB message meant a msgpack object and a buffer in
 * the peer's writev each, which cost the leader more than the rest of the delivery).
 *
 * Order: deliveries to one consumer keep their order (one batch per consumer, appended in effect
 * order); the transport keeps per-peer order between flushes. Deliveries to different consumers
 * need no order between them.
 */
import type { ConsumerRef, MessageId, MessageProperties } from "../queue/index.js";
import type { Consumers } from "./consumers.js";
import { type BrokerContext, guarded, ownerOf } from "./context.js";
import type { Delivery } from "./types.js";

/** Transport channel of delivery batches (leader's node -> consumer's node). */
export const DELIVER_BATCH_CHANNEL = "deliver-batch";

/** One message of a batch on the wire, a tuple rather than an object: no key per field to pack. */
type WireMessage = readonly [
  id: MessageId,
  redelivered: boolean,
  deliveryCount: number,
  exchange: string,
  routingKey: string,
  properties: MessageProperties,
  body: Uint8Array,
];

/** One consumer's deliveries on the wire. */
type WireBatch = readonly [
  connection: string,
  channel: number,
  tag: string,
  queue: string,
  messages: WireMessage[],
];

/** One transport frame under construction: its batches and their body bytes. */
interface Frame {
  readonly batches: WireBatch[];
  bytes: number;
}

/**
 * Body bytes per delivery frame: a frame above the transport's limit (16 MiB) would be refused
 * whole, and a large one holds up the peer's other traffic (Raft) behind it.
 */
const FRAME_BODY_BUDGET = 1024 * 1024;

interface Batch {
  readonly ref: ConsumerRef;
  readonly deliveries: Delivery[];
}

export class DeliverOutbox {
  /** Keyed by the machine's consumer ref (one object per consumer, so no key string per message). */
  private readonly batches = new Map<ConsumerRef, Batch>();

  constructor(
    private readonly ctx: BrokerContext,
    private readonly consumers: Consumers,
  ) {
    ctx.transport.on(DELIVER_BATCH_CHANNEL, (_from, payload) => {
      if (!Array.isArray(payload)) return;
      guarded(ctx.logger, "remote deliveries", () => {
        for (const b of payload as WireBatch[]) this.receive(b);
      });
    });
  }

  add(ref: ConsumerRef, d: Delivery): void {
    let b = this.batches.get(ref);
    if (b === undefined) {
      b = { ref, deliveries: [] };
      this.batches.set(ref, b);
    }
    b.deliveries.push(d);
  }

  /**
   * Hands everything added to the consumers here, and to other nodes in one frame per node (more
   * when the bodies exceed FRAME_BODY_BUDGET).
   */
  flush(): void {
    if (this.batches.size === 0) return;
    let remote: Map<string, Frame> | undefined;
    for (const { ref, deliveries } of this.batches.values()) {
      const owner = ownerOf(ref.connection);
      if (owner === this.ctx.nodeId) {
        guarded(this.ctx.logger, "local delivery", () =>
          this.consumers.deliverMany(ref.connection, ref.channel, ref.tag, deliveries),
        );
        continue;
      }
      remote ??= new Map();
      let frame = remote.get(owner);
      if (frame === undefined) {
        frame = { batches: [], bytes: 0 };
        remote.set(owner, frame);
      }
      let messages: WireMessage[] | undefined;
      for (const d of deliveries) {
        if (frame.bytes > 0 && frame.bytes + d.body.byteLength > FRAME_BODY_BUDGET) {
          // Frames of a peer leave in order, so the consumer's order survives the split.
          this.send(owner, frame.batches);
          frame = { batches: [], bytes: 0 };
          remote.set(owner, frame);
          messages = undefined;
        }
        if (messages === undefined) {
          messages = [];
          frame.batches.push([ref.connection, ref.channel, ref.tag, d.queue, messages]);
        }
        messages.push(toWire(d));
        frame.bytes += d.body.byteLength;
      }
    }
    this.batches.clear();
    if (remote !== undefined) for (const [owner, frame] of remote) this.send(owner, frame.batches);
  }

  private send(owner: string, batches: readonly WireBatch[]): void {
    if (this.ctx.transport.send(owner, DELIVER_BATCH_CHANNEL, batches)) return;
    // The messages stay checked out to their consumers: they return when the channel closes or
    // the node is declared down.
    this.ctx.logger.warn(
      { peer: owner, messages: batches.reduce((n, b) => n + b[4].length, 0) },
      "deliveries to a consumer's node dropped",
    );
  }

  private receive(b: WireBatch): void {
    if (!Array.isArray(b) || typeof b[0] !== "string" || !Array.isArray(b[4])) return;
    const [connection, channel, tag, queue, messages] = b;
    if (ownerOf(connection) !== this.ctx.nodeId) return;
    const deliveries = messages.map(
      ([id, redelivered, deliveryCount, exchange, routingKey, properties, body]): Delivery => ({
        queue,
        id,
        consumerTag: tag,
        redelivered,
        deliveryCount,
        exchange,
        routingKey,
        properties,
        body,
      }),
    );
    this.consumers.deliverMany(connection, channel, tag, deliveries);
  }
}

function toWire(d: Delivery): WireMessage {
  return [d.id, d.redelivered, d.deliveryCount, d.exchange, d.routingKey, d.properties, d.body];
}
