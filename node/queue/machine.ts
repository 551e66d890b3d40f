/**
 * The quorum-queue state machine (RabbitMQ's `rabbit_fifo`, our shape): pure and deterministic,
 * time only from `meta.time`, effects as data for the leader's node. See docs/queues.md for the
 * command/effect reference and the RabbitMQ semantics it follows.
 */
import type { ApplyMeta, MachineSnapshot, StateMachine } from "../../raft/host/state-machine.js";
import { messageTtl, Overflow, type QueueConfig } from "./config.js";
import { type ConsumerInfo, Consumers, type Holder, noAckWindow } from "./consumers.js";
import { deadLetterEffect, leaderEffects } from "./effects.js";
import { MessageStore } from "./message-store.js";
import { type MessageLevel, State } from "./message-table.js";
import { Publishers } from "./publishers.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";
import {
  type CheckoutCommand,
  DeadLetterReason,
  type EnqueueCommand,
  type GetReply,
  type MessageId,
  type QueueCommand,
  type QueueCounts,
  type QueueEffect,
  type QueueReply,
  type QueueResult,
} from "./types.js";

export interface QueueMachineOptions {
  /**
   * Called when a message leaves the state for good (settled, purged, dropped, dead-letter
   * settled). Local bookkeeping only (the in-memory driver frees the body); must not throw.
   */
  readonly onRelease?: (id: MessageId) => void;
}

const OK: QueueReply = { type: "ok" };

export class QueueMachine implements StateMachine<QueueCommand, QueueResult> {
  private store: MessageStore;
  private consumers: Consumers;
  /** Per-publisher enqueue order (rabbit_fifo's enqueuers). */
  private publishers = new Publishers();
  /** meta.time of the last "use" for x-expires; -1 before the first command. */
  private lastUsed = -1;
  /** The last timer effect issued (so a new leader and a replay issue the same ones). */
  private timerAt = Number.POSITIVE_INFINITY;
  private deleteRequested = false;
  private readonly onRelease: ((id: MessageId) => void) | undefined;

  constructor(
    private config: QueueConfig,
    options: QueueMachineOptions = {},
  ) {
    this.consumers = new Consumers(config.singleActiveConsumer);
    this.store = new MessageStore(config.maxPriority);
    this.onRelease = options.onRelease;
  }

  get queueConfig(): QueueConfig {
    return this.config;
  }

  apply(meta: ApplyMeta, command: QueueCommand): QueueResult {
    const now = meta.time;
    if (this.lastUsed < 0) this.lastUsed = now;
    const effects: QueueEffect[] = [];
    let reply: QueueReply = OK;
    switch (command.type) {
      case "enqueue":
        reply = this.enqueue(meta.index, now, command);
        break;
      case "checkout":
        reply = this.checkout(command);
        break;
      case "cancel": {
        const h = this.consumers.find(command.consumer);
        if (h) this.cancelConsumer(h, now);
        break;
      }
      case "settle":
        reply = this.settle(command.op, command.connection, command.channel, command.ids, now, effects);
        break;
      case "down":
        this.down(this.consumers.holdersOf(command.connection, command.channel), now, effects);
        this.publishers.down(command.connection, command.channel, command.publishersUpToEpoch);
        break;
      case "node-down":
        this.down(this.consumers.holdersWithPrefix(`${command.node}/`), now, effects);
        this.publishers.nodeDown(command.node);
        break;
      case "credit": {
        const h = this.consumers.find(command.consumer);
        if (h?.noAck && !h.cancelled)
          h.noAckCredit = Math.min(h.noAckCredit + Math.max(0, command.credit), noAckWindow(h.prefetch));
        break;
      }
      case "get":
        reply = this.get(command.connection, command.channel, command.noAck, now, effects);
        break;
      case "purge":
        reply = { type: "purged", count: this.purge() };
        break;
      case "tick":
        this.expireHeads(now, effects);
        break;
      case "dead-letter-settled":
        for (const id of command.ids) {
          const at = this.store.locate(id);
          if (at?.level.isDeadLettering(at.p)) {
            at.level.settleDeadLettered(at.p);
            this.onRelease?.(id);
          }
        }
        break;
      case "touch":
        this.lastUsed = now;
        break;
      default:
        // A command from a newer version: every replica ignores it the same way (never crash the log).
        reply = {
          type: "error",
          code: "NOT_IMPLEMENTED",
          message: `unknown queue command ${String((command as { type: unknown }).type)}`,
        };
    }
    this.deliverAll(now, effects);
    // As rabbit_fifo: consumers first, then the length limit (also after requeues).
    if (this.config.overflow === Overflow.DropHead) this.dropHeadOverLimit(now, effects);
    this.checkExpires(now, effects);
    this.scheduleTimer(effects);
    return { reply, effects };
  }

  // ---- commands ----------------------------------------------------------------------------

  private enqueue(index: number, now: number, cmd: EnqueueCommand): QueueReply {
    const p = cmd.publisher;
    if (p === undefined) return this.append(index, now, cmd);
    return this.publishers.sequence(p, index, () => this.append(index, now, cmd));
  }

  private append(index: number, now: number, cmd: EnqueueCommand): QueueReply {
    const size = cmd.body.byteLength;
    const c = this.config;
    if (c.overflow === Overflow.RejectPublish) {
      // Classic queues' will_overflow: refuse a message that would take the queue over a limit.
      const ready = this.readyNow();
      if (
        (c.maxLength !== undefined && ready.count + 1 > c.maxLength) ||
        (c.maxLengthBytes !== undefined && ready.bytes + size > c.maxLengthBytes)
      ) {
        return cmd.publisher ? { type: "rejected", publisher: cmd.publisher } : { type: "rejected" };
      }
    }
    const ttl = messageTtl(c, cmd.properties.expiration);
    const expiry = ttl === undefined ? Number.POSITIVE_INFINITY : now + ttl;
    this.store.levelFor(cmd.properties.priority).append(index, expiry, size);
    return cmd.publisher
      ? { type: "enqueued", id: index, publisher: cmd.publisher }
      : { type: "enqueued", id: index };
  }

  private dropHeadOverLimit(now: number, effects: QueueEffect[]): void {
    const c = this.config;
    if (c.maxLength === undefined && c.maxLengthBytes === undefined) return;
    for (;;) {
      const ready = this.readyNow();
      const over =
        (c.maxLength !== undefined && ready.count > c.maxLength) ||
        (c.maxLengthBytes !== undefined && ready.bytes > c.maxLengthBytes);
      if (!over) return;
      const level = this.store.nextReady()!;
      this.deadLetter(level, level.peekReady(), DeadLetterReason.MaxLen, now, effects);
    }
  }

  private checkout(cmd: CheckoutCommand): QueueReply {
    const name = this.config.name;
    if (this.consumers.find(cmd.consumer)) {
      return {
        type: "error",
        code: "NOT_ALLOWED",
        message: `attempt to reuse consumer tag '${cmd.consumer.tag}'`,
      };
    }
    if (this.consumers.hasExclusive() || (cmd.exclusive && this.consumers.count > 0)) {
      return {
        type: "error",
        code: "ACCESS_REFUSED",
        message: `cannot obtain exclusive access to locked queue '${name}'`,
      };
    }
    this.consumers.add(cmd.consumer, {
      prefetch: Math.max(0, cmd.prefetch),
      noAck: cmd.noAck,
      exclusive: cmd.exclusive,
      priority: cmd.priority ?? 0,
    });
    return OK;
  }

  private cancelConsumer(h: Holder, now: number): void {
    if (h.kind !== "consumer" || h.cancelled) return;
    this.consumers.cancel(h);
    if (this.consumers.count === 0) this.lastUsed = now;
  }

  private settle(
    op: "ack" | "requeue" | "reject",
    connection: string,
    channel: number,
    ids: readonly MessageId[],
    now: number,
    effects: QueueEffect[],
  ): QueueReply {
    const unknown: MessageId[] = [];
    let settled = 0;
    // Original order matters for requeue (the heap sorts anyway) and for dead-letter effects.
    const sorted = [...ids].sort((a, b) => a - b);
    for (const id of sorted) {
      const at = this.store.locate(id);
      const holder =
        at && at.level.states[at.p] === State.CheckedOut
          ? this.consumers.get(at.level.owners[at.p]!)
          : undefined;
      if (!at || !holder || holder.ref.connection !== connection || holder.ref.channel !== channel) {
        unknown.push(id);
        continue;
      }
      holder.checkedOut--;
      settled++;
      if (op === "ack") {
        at.level.settle(at.p);
        this.onRelease?.(id);
      } else if (op === "reject") {
        this.deadLetter(at.level, at.p, DeadLetterReason.Rejected, now, effects);
      } else {
        this.returnMessage(at.level, at.p, now, effects);
      }
      this.consumers.maybeForget(holder);
    }
    return { type: "settled", settled, unknown };
  }

  /** A channel or connection went away: its consumers are gone, its unacked messages return. */
  private down(holders: readonly Holder[], now: number, effects: QueueEffect[]): void {
    if (holders.length === 0) return;
    const slots = new Set(holders.map((h) => h.slot));
    for (const level of this.store) {
      const ids: number[] = [];
      for (const p of level.delivered()) {
        if (level.states[p] === State.CheckedOut && slots.has(level.owners[p]!)) ids.push(level.ids[p]!);
      }
      for (const id of ids) this.returnMessage(level, level.find(id), now, effects);
    }
    const hadConsumers = this.consumers.count > 0;
    for (const h of holders) this.consumers.remove(h);
    if (hadConsumers && this.consumers.count === 0) this.lastUsed = now;
  }

  private get(
    connection: string,
    channel: number,
    noAck: boolean,
    now: number,
    effects: QueueEffect[],
  ): GetReply {
    this.lastUsed = now;
    const level = this.nextLiveReady(now, effects);
    if (!level) return { type: "get" };
    const p = level.peekReady();
    const id = level.ids[p]!;
    const deliveryCount = level.counts[p]!;
    if (noAck) {
      level.dropReady(p);
      this.onRelease?.(id);
    } else {
      const h = this.consumers.getHolder(connection, channel);
      level.checkOut(p, h.slot);
      h.checkedOut++;
    }
    const messageCount = this.readyNow().count;
    return { type: "get", message: { id, redelivered: deliveryCount > 0, deliveryCount, messageCount } };
  }

  private purge(): number {
    let count = 0;
    for (const level of this.store) {
      const ids = level.takeAllReady().map((p) => level.ids[p]!);
      for (const id of ids) {
        level.dropTaken(level.find(id));
        this.onRelease?.(id);
      }
      count += ids.length;
    }
    return count;
  }

  // ---- delivery ------------------------------------------------------------------------------

  /** Serves consumers with credit, in order, until messages or credit run out. */
  private deliverAll(now: number, effects: QueueEffect[]): void {
    for (;;) {
      const h = this.consumers.next();
      if (!h) return;
      const level = this.nextLiveReady(now, effects);
      if (!level) return;
      const p = level.peekReady();
      const id = level.ids[p]!;
      const deliveryCount = level.counts[p]!;
      if (h.noAck) {
        level.dropReady(p);
        this.onRelease?.(id);
        h.noAckCredit--;
      } else {
        level.checkOut(p, h.slot);
        h.checkedOut++;
      }
      this.consumers.served(h);
      effects.push({
        type: "deliver",
        consumer: h.ref,
        id,
        redelivered: deliveryCount > 0,
        deliveryCount,
        settled: h.noAck,
      });
    }
  }

  /**
   * The level whose head is the next message to hand out, after dead-lettering expired heads:
   * a message is never delivered after its TTL passed (checked against meta.time).
   */
  private nextLiveReady(now: number, effects: QueueEffect[]): MessageLevel | undefined {
    for (;;) {
      const level = this.store.nextReady();
      if (!level) return undefined;
      const p = level.peekReady();
      if (now > level.times[p]!) this.deadLetter(level, p, DeadLetterReason.Expired, now, effects);
      else return level;
    }
  }

  /** Expired messages at the head of each level are dead-lettered (RabbitMQ expires at the head only). */
  private expireHeads(now: number, effects: QueueEffect[]): void {
    for (const level of this.store) {
      for (;;) {
        const p = level.peekReady();
        if (p < 0 || !(now > level.times[p]!)) break;
        this.deadLetter(level, p, DeadLetterReason.Expired, now, effects);
      }
    }
  }

  /** Back to the queue, or dead-lettered once returned more often than `x-delivery-limit`. */
  private returnMessage(level: MessageLevel, p: number, now: number, effects: QueueEffect[]): void {
    const limit = this.config.deliveryLimit;
    if (limit !== undefined && level.counts[p]! + 1 > limit) {
      level.counts[p]!++;
      this.deadLetter(level, p, DeadLetterReason.DeliveryLimit, now, effects);
    } else {
      level.requeue(p);
    }
  }

  /**
   * Dead-letters a ready message (the head of its level) or a checked-out one; without a
   * dead-letter exchange it is simply dropped.
   */
  private deadLetter(
    level: MessageLevel,
    p: number,
    reason: DeadLetterReason,
    now: number,
    effects: QueueEffect[],
  ): void {
    const id = level.ids[p]!;
    const ready = level.states[p] === State.Ready;
    if (this.config.deadLetterExchange === undefined) {
      if (ready) level.dropReady(p);
      else level.settle(p);
      this.onRelease?.(id);
      return;
    }
    if (ready) level.deadLetterReady(p, reason, now);
    else level.deadLetterCheckedOut(p, reason, now);
    effects.push(deadLetterEffect(this.config, id, reason, now));
  }

  // ---- timers ------------------------------------------------------------------------------

  private checkExpires(now: number, effects: QueueEffect[]): void {
    const expires = this.config.expires;
    if (expires === undefined || this.deleteRequested || this.consumers.count > 0) return;
    if (now >= this.lastUsed + expires) {
      this.deleteRequested = true;
      effects.push({ type: "delete-queue", reason: "expires" });
    }
  }

  private nextWake(): number {
    let at = Number.POSITIVE_INFINITY;
    for (const level of this.store) {
      const p = level.peekReady();
      if (p >= 0) at = Math.min(at, level.times[p]! + 1);
    }
    const expires = this.config.expires;
    if (expires !== undefined && !this.deleteRequested && this.consumers.count === 0 && this.lastUsed >= 0) {
      at = Math.min(at, this.lastUsed + expires);
    }
    return at;
  }

  private scheduleTimer(effects: QueueEffect[]): void {
    const at = this.nextWake();
    if (at !== this.timerAt) {
      this.timerAt = at;
      if (at !== Number.POSITIVE_INFINITY) effects.push({ type: "timer", at });
    }
  }

  // ---- leader ------------------------------------------------------------------------------

  /**
   * What a new leader must (re)issue, like Ra's `state_enter(leader)`: deliveries of every
   * checked-out message to its live consumer (the node drops ones the channel already has),
   * pending dead-letters, the current timer, and a pending x-expires deletion.
   */
  leaderEffects(): QueueEffect[] {
    return leaderEffects(this.config, this.store, this.consumers, this.timerAt, this.deleteRequested);
  }

  // ---- queries -----------------------------------------------------------------------------

  counts(): QueueCounts {
    const t = this.store.totals();
    return {
      messagesReady: t.ready,
      messagesUnacknowledged: t.checkedOut,
      messagesDeadLettering: t.deadLettering,
      messages: t.ready + t.checkedOut,
      messageBytesReady: t.readyBytes,
      messageBytesUnacknowledged: t.checkedOutBytes,
      messageBytes: t.readyBytes + t.checkedOutBytes,
      consumers: this.consumers.count,
    };
  }

  /** True while the message is held (ready, unacked or dead-lettering): its log entry is live. */
  has(id: MessageId): boolean {
    return this.store.locate(id) !== undefined;
  }

  /** Where a publisher stands in this queue's order (undefined: not known, or forgotten). */
  publisher(id: string): { readonly epoch: number; readonly next: number } | undefined {
    const st = this.publishers.get(id);
    return st === undefined ? undefined : { epoch: st.epoch, next: st.next };
  }

  /** Live consumers in registration order (for the management API). */
  consumerList(): ConsumerInfo[] {
    return this.consumers.describe();
  }

  // ---- snapshots ---------------------------------------------------------------------------

  snapshot(): MachineSnapshot {
    const { levels, live } = this.store.toData();
    const state = encodeSnapshot({
      config: this.config,
      levels,
      consumers: this.consumers.toData(),
      publishers: this.publishers.toData(),
      lastUsed: this.lastUsed,
      timerAt: this.timerAt,
      deleteRequested: this.deleteRequested,
    });
    return { state, live };
  }

  restore(snapshot: MachineSnapshot, _meta?: { readonly index: number; readonly term: number }): void {
    const s = decodeSnapshot(snapshot.state);
    this.config = s.config;
    this.store = MessageStore.fromData(s.config.maxPriority, s.levels);
    this.consumers = Consumers.fromData(s.config.singleActiveConsumer, s.consumers);
    this.publishers = Publishers.fromData(s.publishers);
    this.lastUsed = s.lastUsed;
    this.timerAt = s.timerAt;
    this.deleteRequested = s.deleteRequested;
  }

  private readyNow(): { count: number; bytes: number } {
    const t = this.store.totals();
    return { count: t.ready, bytes: t.readyBytes };
  }
}
