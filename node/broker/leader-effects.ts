/**
 * Runs the effects a queue machine returns, on the node that leads the queue (the Raft leader's
 * node for a quorum queue, the home node for a transient one):
 * - `deliver`: read the body (cache, else the log), build the Delivery and send it to the node
 *   owning the consumer's connection. Deliveries of one queue leave in effect order even when a
 *   body has to be read from disk (one promise chain per queue).
 * - `dead-letter`: handed to the DeadLetterer (publish to the DLX, then `dead-letter-settled`);
 *   those a new leader re-issues wait until the previous leader had its chance to settle them.
 * - `timer`: one timer per queue proposing `tick`; a new timer replaces the old one.
 * - `delete-queue` (x-expires) and a transient queue's last consumer going (auto-delete):
 *   proposed to the metadata group, naming the queue's incarnation.
 */
import type { QueueRecord } from "../meta/index.js";
import type { DeliverEffect, EnqueueCommand, QueueEffect } from "../queue/index.js";
import type { Consumers, DeliverFrame } from "./consumers.js";
import { type BrokerContext, guarded, ownerOf, recordKey } from "./context.js";
import type { DeadLetterer } from "./dead-lettering.js";
import type { BodyReader, EffectSink, QueueGroups } from "./queue-groups.js";
import type { Delivery } from "./types.js";

export const DELIVER_CHANNEL = "deliver";

/** How long after its declare a queue's first leader hands it to the placed leader. */
const PREFERRED_HANDOFF_WINDOW_MS = 10_000;

/** setTimeout's limit (~24.8 days); a later timer is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class LeaderEffects implements EffectSink {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Groups already handed to their preferred leader once. */
  private readonly handedOff = new Set<string>();
  queues!: QueueGroups;
  deadLetterer!: DeadLetterer;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly consumers: Consumers,
  ) {
    ctx.transport.on(DELIVER_CHANNEL, (from, payload) => {
      const f = payload as DeliverFrame;
      if (typeof f !== "object" || f === null || typeof f.connection !== "string") return;
      if (ownerOf(f.connection) !== ctx.nodeId) return;
      guarded(ctx.logger, "remote delivery", () => this.consumers.deliver(f));
      void from;
    });
  }

  run(record: QueueRecord, effects: readonly QueueEffect[], read: BodyReader): void {
    if (this.ctx.stopped) return;
    for (const e of effects) {
      switch (e.type) {
        case "deliver":
          this.deliver(record, e, read(e.id));
          break;
        case "dead-letter":
          this.deadLetterer.handle(record, e, read(e.id));
          break;
        case "timer":
          this.setTimer(record, e.at);
          break;
        case "delete-queue":
          this.deleteQueue(record, "expired");
          break;
      }
    }
  }

  leaderGained(record: QueueRecord, effects: readonly QueueEffect[], read: BodyReader): void {
    this.ctx.logger.debug({ queue: record.name, vhost: record.vhost }, "queue leadership gained");
    // Pending dead-letters may still be in the previous leader's hands (dead-lettering.ts).
    for (const e of effects) {
      if (e.type === "dead-letter" && !this.ctx.stopped)
        this.deadLetterer.resume(record, e, () => read(e.id));
    }
    this.run(
      record,
      effects.filter((e) => e.type !== "dead-letter"),
      read,
    );
    this.maybeHandToPreferred(record);
    // x-expires counts from the queue's first command; a queue nobody has used yet has had
    // none, so give it one (a tick is harmless) to start the clock and arm the timer.
    if (record.arguments["x-expires"] !== undefined) {
      this.tickWhileLeading(record, 0);
    }
  }

  queueGone(record: QueueRecord, reason: string): void {
    const key = recordKey(record);
    const t = this.timers.get(key);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(key);
    this.chains.delete(key);
    if (record.group !== undefined) this.handedOff.delete(record.group);
    this.consumers.cancelQueue(record.vhost, record.name, record.createdIndex, reason);
  }

  lastConsumerGone(record: QueueRecord): void {
    this.deleteQueue(record, "auto-delete");
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private deliver(
    record: QueueRecord,
    e: DeliverEffect,
    body: EnqueueCommand | undefined | Promise<EnqueueCommand | undefined>,
  ): void {
    // The common case (no queue waits for a disk read, body in the cache) builds no key.
    if (this.chains.size === 0 && !(body instanceof Promise)) {
      this.send(record, e, body);
      return;
    }
    const key = recordKey(record);
    const pending = this.chains.get(key);
    if (pending === undefined && !(body instanceof Promise)) {
      this.send(record, e, body);
      return;
    }
    // Keep effect order behind a body that has to be read from the log.
    const next = (pending ?? Promise.resolve())
      .then(() => body)
      .then((cmd) => this.send(record, e, cmd))
      .catch((err: unknown) => this.ctx.logger.warn({ err, queue: record.name }, "delivery failed"))
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }

  private send(record: QueueRecord, e: DeliverEffect, cmd: EnqueueCommand | undefined): void {
    if (cmd === undefined) {
      this.ctx.logger.warn({ queue: record.name, id: e.id }, "body of a delivered message not found");
      return;
    }
    const properties =
      e.deliveryCount > 0
        ? {
            ...cmd.properties,
            headers: { ...(cmd.properties.headers ?? {}), "x-delivery-count": e.deliveryCount },
          }
        : cmd.properties;
    const delivery: Delivery = {
      queue: record.name,
      id: e.id,
      consumerTag: e.consumer.tag,
      redelivered: e.redelivered,
      deliveryCount: e.deliveryCount,
      exchange: cmd.exchange,
      routingKey: cmd.routingKeys[0] ?? "",
      properties,
      body: cmd.body,
    };
    const frame: DeliverFrame = {
      connection: e.consumer.connection,
      channel: e.consumer.channel,
      tag: e.consumer.tag,
      delivery,
    };
    const owner = ownerOf(e.consumer.connection);
    if (owner === this.ctx.nodeId)
      guarded(this.ctx.logger, "local delivery", () => this.consumers.deliver(frame));
    else if (!this.ctx.transport.send(owner, DELIVER_CHANNEL, frame)) {
      // The message stays checked out to the consumer: it returns when its channel closes or
      // its node is declared down.
      this.ctx.logger.warn(
        { queue: record.name, id: e.id, peer: owner },
        "delivery to a consumer's node dropped",
      );
    }
  }

  private setTimer(record: QueueRecord, at: number): void {
    const key = recordKey(record);
    const old = this.timers.get(key);
    if (old !== undefined) clearTimeout(old);
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()));
    const t = setTimeout(() => {
      this.timers.delete(key);
      if (this.ctx.stopped || !this.leads(record)) return;
      // Timers run on a monotonic clock and may fire a millisecond before Date.now() reaches
      // `at`; a tick stamped before `at` would find nothing due, and the machine does not
      // re-issue a timer it already issued. Wait out the remainder.
      if (Date.now() < at) {
        this.setTimer(record, at);
        return;
      }
      this.queues.execute(record, { type: "tick" }).catch((err: unknown) => {
        this.ctx.logger.debug({ err, queue: record.name }, "tick failed; retrying");
        if (!this.ctx.stopped && this.leads(record)) this.setTimer(record, Date.now() + 200);
      });
    }, delay);
    t.unref?.();
    this.timers.set(key, t);
  }

  /**
   * Placement chose a preferred leader for the queue (spreading leaders over nodes), but the
   * first election is won by whoever times out first: hand leadership to the preferred node
   * when it is up. Only once per queue incarnation, so a later failover does not bounce back
   * (the rebalancer evens leadership out after a node returns).
   */
  private maybeHandToPreferred(record: QueueRecord): void {
    const preferred = record.leader;
    const group = record.group;
    if (record.type !== "quorum" || group === undefined || preferred === this.ctx.nodeId) return;
    if (this.handedOff.has(group) || !this.ctx.transport.isPeerUp(preferred)) return;
    // Only for the group's first elections, right after the declare: after a failover or a
    // rebalance (later terms) the rebalancer decides, and a hand-off would undo its work.
    if (Date.now() - record.createdAt > PREFERRED_HANDOFF_WINDOW_MS || this.termOf(group) > 2) return;
    this.handedOff.add(group);
    this.ctx.host.transferLeadership(group, preferred).catch((err: unknown) => {
      this.ctx.logger.debug({ err, group, to: preferred }, "hand-off to the preferred leader failed");
    });
  }

  private termOf(group: string): number {
    try {
      return this.ctx.host.status(group).term;
    } catch {
      return Number.POSITIVE_INFINITY;
    }
  }

  private tickWhileLeading(record: QueueRecord, attempt: number): void {
    this.queues.execute(record, { type: "tick" }).catch(() => {
      if (attempt < 10 && !this.ctx.stopped && this.leads(record)) {
        setTimeout(() => this.tickWhileLeading(record, attempt + 1), 200).unref?.();
      }
    });
  }

  private deleteQueue(record: QueueRecord, reason: "expired" | "auto-delete"): void {
    const attempt = (n: number): void => {
      if (this.ctx.stopped) return;
      this.ctx.meta
        .propose({
          type: "queue.delete-internal",
          vhost: record.vhost,
          name: record.name,
          incarnation: record.createdIndex,
          reason,
        })
        .catch((err: unknown) => {
          this.ctx.logger.warn({ err, queue: record.name, reason }, "queue deletion failed");
          if (n < 5) setTimeout(() => attempt(n + 1), 500).unref?.();
        });
    };
    attempt(0);
  }

  /** True while this node runs the queue's effects. */
  leads(record: QueueRecord): boolean {
    if (record.type === "transient") return record.leader === this.ctx.nodeId;
    return record.group !== undefined && this.queues.leaderOf(record.group) === this.ctx.nodeId;
  }
}
