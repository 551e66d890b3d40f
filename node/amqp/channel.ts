/**
 * One AMQP channel: basic.publish content (content.ts), a serial task queue (RabbitMQ handles a
 * channel's methods one at a time, in order), delivery tags, consumers, confirms and closing.
 *
 * Ordering: every method goes through `run` in arrival order. Methods with replies (declares,
 * consume, get, ...) hold the queue until the broker answered; publishes and acks only START
 * their broker call in order and let the queue move on, so a publisher is pipelined while a
 * publish still never overtakes the declare sent before it. A method with nothing queued before
 * it runs at once (no promise): the common case of a publisher or an acking consumer.
 *
 * Closing: what the client sent before its channel.close or connection.close (or before its
 * socket ended) is still run, in order, as rabbit_channel works through its mailbox: acks written
 * just before a close are applied, publishes reach their queues. Only a channel that raised an
 * error drops the methods queued after the failing one.
 */
import type { ClientContext, Delivery, MessageId, SettleOp } from "../broker/types.js";
import { WarrenError } from "../errors.js";
import type { MessageProperties } from "../queue/types.js";
import { type Frame, MAX_BODY_SIZE, METHOD_SPECS, type Method } from "./codec/index.js";
import { Confirms } from "./confirms.js";
import type { AmqpConnection } from "./connection.js";
import { PendingContent } from "./content.js";
import { DeliveryTags } from "./deliveries.js";
import { closeFor, shortString, unexpectedFrame } from "./errors.js";
import { HANDLERS } from "./handlers/index.js";
import type { Content } from "./handlers/types.js";
import { REPLY_TO_QUEUE } from "./reply-to.js";
import { SettleBatch } from "./settle-batch.js";

export interface ConsumerState {
  readonly tag: string;
  readonly queue: string;
  readonly noAck: boolean;
  /** Direct reply-to consumers live in the door, not in a queue. */
  readonly replyTo: boolean;
  /**
   * A no-ack consumer the queue sees as an acking one: the door acks each delivery once the
   * socket took it, so a slow client holds at most the consumer's window (see docs/amqp.md).
   */
  readonly autoAck: boolean;
}

const METHOD_IDS = new Map(METHOD_SPECS.map((s) => [s.name, { classId: s.classId, methodId: s.methodId }]));

export function methodIds(name: string): { classId: number; methodId: number } {
  return METHOD_IDS.get(name as Method["name"]) ?? { classId: 0, methodId: 0 };
}

export class AmqpChannel {
  state: "open" | "closing" | "closed" = "open";
  /** A method failed (channel or connection error): the methods queued after it are dropped. */
  private failed = false;
  private chain: Promise<void>;
  /** Methods queued on `chain` or running (0: the next one may run at once). */
  private queued = 0;
  private content: PendingContent | undefined;
  confirms: Confirms | undefined;
  readonly tags = new DeliveryTags();
  readonly consumers = new Map<string, ConsumerState>();
  /** basic.qos global=false: prefetch of consumers created from now on. */
  prefetch = 0;
  /** basic.qos global=true: unacked deliveries across the channel's consumers (RabbitMQ 3.10). */
  globalPrefetch = 0;
  /** Deliveries held back by the global prefetch (bounded: each consumer's own limit). */
  private readonly held: Delivery[] = [];
  /** The last queue declared on this channel: "" in queue methods means it (spec). */
  lastQueue: string | undefined;
  /** Client acks/nacks/rejects, sent to the broker once per event-loop turn. */
  readonly settles = new SettleBatch((queue, op, ids, what) => this.settle(queue, op, ids, what));
  /** No-ack deliveries written out and not yet acked to their queues, by queue. */
  private readonly autoAcks = new Map<string, MessageId[]>();
  private autoAckScheduled = false;
  /** Broker calls started and not finished (publishes, settles): close waits for them. */
  private calls = 0;
  private readonly callWaiters: (() => void)[] = [];

  constructor(
    readonly conn: AmqpConnection,
    readonly number: number,
    /** A previous channel of this number still being released: this one starts after it. */
    after?: Promise<void>,
  ) {
    this.chain = Promise.resolve();
    if (after !== undefined) this.hold(after, "channel.open");
  }

  get ctx(): ClientContext {
    return this.conn.ctx;
  }

  open(): void {
    this.run("channel.open", () => this.send({ name: "channel.open-ok" }));
  }

  /**
   * Replies and confirms go out until close-ok: after the client's channel.close too (the methods
   * it sent before are still answered; the client may drop them, spec 1.5.2.5), but nothing after
   * a channel error, nor once the connection is closing.
   */
  private get writable(): boolean {
    return this.state !== "closed" && !this.failed && this.conn.isOpen;
  }

  send(method: Method): void {
    if (this.writable) this.conn.writer.method(this.number, method);
  }

  /** channel.close / close-ok: sent in the closing states too, never on a closing connection. */
  private writeControl(method: Method): void {
    // Confirms gathered for the end of the turn go first: nothing may follow close-ok.
    if (!this.failed) this.confirms?.flush();
    if (this.conn.isOpen) this.conn.writer.method(this.number, method);
  }

  sendContent(method: Method, properties: MessageProperties, body: Uint8Array): void {
    if (this.writable) this.conn.writer.content(this.number, method, properties, body);
  }

  // --------------------------------------------------------------------------------------------
  // Frames
  // --------------------------------------------------------------------------------------------

  onFrame(frame: Frame): void {
    if (this.state !== "open") {
      this.onFrameWhileClosing(frame);
      return;
    }
    const c = this.content;
    if (c !== undefined) {
      const content = c.push(frame);
      const max = this.conn.limits.maxMessageSize;
      if (c.bodySize > max) {
        this.content = undefined;
        // RabbitMQ's check (rabbit_channel:check_msg_size), once the header announced the size:
        // a channel error; the body frames that follow are dropped with the closing channel.
        this.fail(
          new WarrenError(
            "PRECONDITION_FAILED",
            // rabbit_channel words it without "configured" at the 512 MiB hard limit.
            `message size ${c.bodySize} is larger than ${max === MAX_BODY_SIZE ? "" : "configured "}max size ${max}`,
          ),
          "basic.publish",
        );
        return;
      }
      if (content !== undefined) {
        this.content = undefined;
        this.dispatch(c.method, content);
      }
      return;
    }
    if (frame.type !== "method") throw unexpectedFrame("expected method frame, got non method frame instead");
    const m = frame.method;
    if (m.name === "basic.publish") {
      if (m.immediate) throw new WarrenError("NOT_IMPLEMENTED", "immediate=true");
      this.content = new PendingContent(m);
      return;
    }
    if (m.name === "channel.close") {
      this.onClientClose();
      return;
    }
    if (m.name === "channel.close-ok") return;
    if (m.name === "channel.open") throw new WarrenError("CHANNEL_ERROR", "second 'channel.open' seen");
    this.dispatch(m);
  }

  private onFrameWhileClosing(frame: Frame): void {
    // After our channel.close, everything but close / close-ok is dropped (spec 1.5.2.5).
    if (frame.type !== "method") return;
    if (frame.method.name === "channel.close-ok") {
      this.finishClose();
    } else if (frame.method.name === "channel.close") {
      this.writeControl({ name: "channel.close-ok" });
      this.finishClose();
    }
  }

  // --------------------------------------------------------------------------------------------
  // Dispatch
  // --------------------------------------------------------------------------------------------

  private dispatch(m: Method, content?: Content): void {
    const handler = HANDLERS[m.name];
    if (handler === undefined) {
      throw new WarrenError("COMMAND_INVALID", `unimplemented method '${m.name}'`);
    }
    this.run(m.name, () => handler(this, m as never, content));
  }

  /**
   * Queues a task after the channel's earlier ones; a failure closes the channel (or connection).
   * Tasks still run once the client closed (see the file comment), not after a failure.
   */
  run(what: string, task: () => Promise<void> | void): void {
    if (this.queued === 0) {
      // Nothing ahead of it: run now. Publishes and acks finish synchronously (they only start
      // their broker call), so the common case costs no promise.
      if (this.failed) return;
      let r: Promise<void> | void;
      try {
        r = task();
      } catch (err) {
        this.fail(err, what);
        return;
      }
      if (r !== undefined) this.hold(r, what);
      return;
    }
    this.queued++;
    this.chain = this.chain.then(async () => {
      try {
        if (!this.failed) await task();
      } catch (err) {
        this.fail(err, what);
      } finally {
        this.queued--;
      }
    });
  }

  /** A method still running after it returned (it awaits the broker): the next ones wait for it. */
  private hold(running: Promise<void>, what: string): void {
    this.queued++;
    this.chain = running.then(
      () => {
        this.queued--;
      },
      (err: unknown) => {
        this.queued--;
        this.fail(err, what);
      },
    );
  }

  /**
   * Resolves once every queued method ran and every broker call they started finished,
   * including the acks they batched (sent now rather than on the next turn).
   */
  async idle(): Promise<void> {
    let chain: Promise<void>;
    do {
      chain = this.chain;
      await chain;
    } while (chain !== this.chain);
    this.settles.flush();
    if (this.calls > 0) await new Promise<void>((resolve) => this.callWaiters.push(resolve));
  }

  /** A broker call that does not hold the queue started (publish, settle): close waits for it. */
  callStarted(): void {
    this.calls++;
  }

  callDone(): void {
    if (--this.calls === 0) for (const w of this.callWaiters.splice(0)) w();
  }

  /** Sends a settle to the broker now (acks, requeues, rejects; auto-acks of no-ack deliveries). */
  private settle(queue: string, op: SettleOp, ids: MessageId[], what: string): void {
    this.track(this.conn.broker.settle(this.ctx, this.number, queue, op, ids)).catch((err: unknown) => {
      // The queue was deleted meanwhile: its messages are gone, and RabbitMQ drops such acks.
      if (!WarrenError.is(err, "NOT_FOUND")) this.fail(err, what);
    });
  }

  /** Counts `p` as a started broker call until it settles. */
  track<T>(p: Promise<T>): Promise<T> {
    this.callStarted();
    const done = () => this.callDone();
    p.then(done, done);
    return p;
  }

  /** A channel or connection error raised by `what`. */
  fail(err: unknown, what: string): void {
    if (this.failed) return;
    // Outcomes already known (gathered for the end of the turn) still go out, before the close.
    this.confirms?.flush();
    this.failed = true;
    if (!(err instanceof WarrenError))
      this.conn.log.warn({ err, conn: this.conn.id, channel: this.number }, "amqp channel task failed");
    // Closing already (the client's close, or the connection's): nothing more to tell the client.
    if (this.state !== "open") return;
    const reply = closeFor(err);
    const ids = methodIds(what);
    if (reply.hard) {
      this.conn.closeConnection(reply, ids.classId, ids.methodId);
      return;
    }
    this.state = "closing";
    this.writeControl({
      name: "channel.close",
      replyCode: reply.replyCode,
      replyText: shortString(reply.replyText),
      classId: ids.classId,
      methodId: ids.methodId,
    });
    this.release();
  }

  // --------------------------------------------------------------------------------------------
  // Closing
  // --------------------------------------------------------------------------------------------

  /** The client closes: its unacked messages go back to their queues, then close-ok. */
  private onClientClose(): void {
    this.state = "closing";
    this.content = undefined;
    const done = this.release();
    done.then(
      () => {
        this.writeControl({ name: "channel.close-ok" });
        this.finishClose();
      },
      () => this.finishClose(),
    );
  }

  private released: Promise<void> | undefined;

  /** Tells the broker the channel is gone (once): consumers cancelled, unacked requeued. */
  private release(): Promise<void> {
    this.released ??= this.releaseOnce().catch((err: unknown) => {
      this.conn.log.warn({ err, conn: this.conn.id, channel: this.number }, "amqp channel release failed");
    });
    return this.released;
  }

  private async releaseOnce(): Promise<void> {
    this.held.length = 0;
    // The socket is alive (a channel close, not a connection loss): no-ack deliveries already
    // written are the client's, so settle them before `down` would requeue them.
    if (this.conn.isOpen) this.flushAutoAcks(true);
    for (const c of this.consumers.values()) if (c.replyTo) this.conn.replyTo.unregister(this);
    this.consumers.clear();
    // The methods the client sent before closing run first (a consume being registered, acks,
    // publishes), and their broker calls finish, before `down` requeues the rest: the client's
    // own acks must not come back as redeliveries.
    await this.idle();
    if (this.conn.isOpen) {
      await this.conn.broker.channelClosed(this.ctx, this.number).catch((err: unknown) => {
        this.conn.log.warn({ err, conn: this.conn.id, channel: this.number }, "amqp channelClosed failed");
      });
    }
  }

  private finishClose(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    // The number may be reused at once; a new channel waits until this one is released.
    this.conn.channelGone(this.number, this.release());
  }

  /**
   * The connection went away: nothing more is sent. Methods already received still run (the
   * connection waits for `idle()` before the broker hears connectionClosed).
   */
  detach(): void {
    this.state = "closed";
    this.held.length = 0;
    for (const c of this.consumers.values()) if (c.replyTo) this.conn.replyTo.unregister(this);
    this.consumers.clear();
  }

  // --------------------------------------------------------------------------------------------
  // Deliveries
  // --------------------------------------------------------------------------------------------

  /** A message for one of this channel's consumers (from the broker's sink, or direct reply-to). */
  deliver(d: Delivery): void {
    if (this.state !== "open") return;
    const consumer = this.consumers.get(d.consumerTag);
    if (consumer === undefined) {
      // For a consumer being cancelled: the client will not see it, so it goes back to its queue
      // (every queue consumer is an acking one to the broker; reply-to deliveries have no queue).
      if (d.queue !== REPLY_TO_QUEUE) this.settles.add(d.queue, "requeue", [d.id], "basic.deliver");
      return;
    }
    if (
      !consumer.noAck &&
      this.globalPrefetch > 0 &&
      (this.held.length > 0 || this.tags.size >= this.globalPrefetch)
    ) {
      this.held.push(d);
      return;
    }
    this.writeDelivery(d, consumer);
  }

  private writeDelivery(d: Delivery, consumer: ConsumerState): void {
    const tag = this.tags.add({ queue: d.queue, id: d.id, consumerTag: d.consumerTag }, !consumer.noAck);
    if (consumer.autoAck) this.noteAutoAck(d.queue, d.id);
    this.sendContent(
      {
        name: "basic.deliver",
        consumerTag: d.consumerTag,
        deliveryTag: tag,
        redelivered: d.redelivered,
        exchange: d.exchange,
        routingKey: d.routingKey,
      },
      d.properties,
      d.body,
    );
  }

  /**
   * A cancelled consumer's deliveries still held by the global prefetch were never seen by the
   * client: they go back to their queue.
   */
  requeueHeld(consumerTag: string): void {
    const mine = this.held.filter((d) => d.consumerTag === consumerTag);
    if (mine.length === 0) return;
    this.held.splice(0, this.held.length, ...this.held.filter((d) => d.consumerTag !== consumerTag));
    for (const d of mine) this.settles.add(d.queue, "requeue", [d.id], "basic.cancel");
  }

  /** Acks freed room under the global prefetch: send what was held. */
  releaseHeld(): void {
    while (this.held.length > 0 && this.tags.size < this.globalPrefetch) {
      const d = this.held.shift() as Delivery;
      const consumer = this.consumers.get(d.consumerTag);
      if (consumer !== undefined) this.writeDelivery(d, consumer);
    }
  }

  /**
   * Acks written no-ack deliveries in batches, once the socket is not backed up: while a client
   * reads slowly its queue sees unacked messages and stops at the consumer's window.
   */
  private noteAutoAck(queue: string, id: MessageId): void {
    let ids = this.autoAcks.get(queue);
    if (ids === undefined) {
      ids = [];
      this.autoAcks.set(queue, ids);
    }
    ids.push(id);
    if (this.autoAckScheduled) return;
    this.autoAckScheduled = true;
    setImmediate(() => this.conn.writer.onDrain(() => this.flushAutoAcks()));
  }

  private flushAutoAcks(closing = false): void {
    this.autoAckScheduled = false;
    if (this.state !== "open" && !closing) return;
    for (const [queue, ids] of this.autoAcks) this.settle(queue, "ack", ids, "basic.deliver");
    this.autoAcks.clear();
  }

  /** The broker cancelled a consumer (queue deleted): basic.cancel if the client understands it. */
  consumerCancelled(tag: string): void {
    if (!this.consumers.delete(tag) || this.state !== "open") return;
    if (this.conn.capability("consumer_cancel_notify")) {
      this.send({ name: "basic.cancel", consumerTag: tag, noWait: true });
    }
  }

  /** Turns on confirms (confirm.select). */
  enableConfirms(): void {
    this.confirms ??= new Confirms(
      (kind, deliveryTag, multiple) => {
        if (kind === "ack") this.send({ name: "basic.ack", deliveryTag, multiple });
        else this.send({ name: "basic.nack", deliveryTag, multiple, requeue: false });
      },
      // The outcomes of one turn (a commit of many publishes) become one frame.
      (flush) => this.conn.writer.defer(flush),
    );
  }
}
