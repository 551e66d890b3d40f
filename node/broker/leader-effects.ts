/**
 * Runs the effects a queue machine returns, on the node that leads the queue (the Raft leader's
 * node for a quorum queue, the home node for a transient one):
 * - `deliver`: read the body (cache, else the log), build the Delivery and send it to the node
 *   owning the consumer's connection (grouped per consumer: deliver-outbox.ts). Deliveries of
 *   one queue leave in effect order even when a body has to be read from disk (one promise chain
 *   per queue); the bodies one apply's deliveries miss in memory are read with one storage read.
 * - `dead-letter`: handed to the DeadLetterer (publish to the DLX, then `dead-letter-settled`);
 *   those a new leader re-issues wait until the previous leader had its chance to settle them.
 * - `timer`: one timer per queue proposing `tick`; a new timer replaces the old one.
 * - `delete-queue` (x-expires) and a transient queue's last consumer going (auto-delete):
 *   proposed to the metadata group, naming the queue's incarnation.
 */
import type { QueueRecord } from "../meta/index.js";
import type { DeliverEffect, EnqueueCommand, MessageId, QueueEffect } from "../queue/index.js";
import type { Consumers, DeliverFrame } from "./consumers.js";
import { type BrokerContext, guarded, ownerOf, recordKey } from "./context.js";
import type { DeadLetterer } from "./dead-lettering.js";
import { DeliverOutbox } from "./deliver-outbox.js";
import type { BatchBodyReader, BodyReader, EffectSink, QueueGroups } from "./queue-groups.js";
import type { Delivery } from "./types.js";

/** The deliveries of one `run` that wait for bodies (or behind ones that do). */
interface Gathered {
  readonly items: {
    readonly effect: DeliverEffect;
    readonly body: ReturnType<BodyReader>;
    /** Index in `misses` when the body is read with the batch; -1 otherwise. */
    readonly miss: number;
  }[];
  /** Ids of the bodies to read with one `BatchBodyReader.readMany`. */
  readonly misses: MessageId[];
}

export const DELIVER_CHANNEL = "deliver";

/** How long after its declare a queue's first leader hands it to the placed leader. */
const PREFERRED_HANDOFF_WINDOW_MS = 10_000;

/** setTimeout's limit (~24.8 days); a later timer is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class LeaderEffects implements EffectSink {
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Per queue, the deliveries waiting for bodies from the log (they leave in effect order). */
  private readonly lines = new Map<string, Promise<void>>();
  /** Groups already handed to their preferred leader once. */
  private readonly handedOff = new Set<string>();
  /** Deliveries of the current `run` (or read batch), per consumer, sent at its end. */
  private readonly outbox: DeliverOutbox;
  queues!: QueueGroups;
  deadLetterer!: DeadLetterer;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly consumers: Consumers,
  ) {
    this.outbox = new DeliverOutbox(ctx, consumers);
    // Single deliveries, as nodes before delivery batches sent them (a rolling upgrade).
    ctx.transport.on(DELIVER_CHANNEL, (from, payload) => {
      const f = payload as DeliverFrame;
      if (typeof f !== "object" || f === null || typeof f.connection !== "string") return;
      if (ownerOf(f.connection) !== ctx.nodeId) return;
      guarded(ctx.logger, "remote delivery", () => this.consumers.deliver(f));
      void from;
    });
  }

  run(record: QueueRecord, effects: readonly QueueEffect[], read: BodyReader, batch?: BatchBodyReader): void {
    if (this.ctx.stopped) return;
    let gather: Gathered | undefined;
    /** Earlier deliveries of this queue still wait for bodies (asked at the first delivery). */
    let waiting: boolean | undefined;
    for (const e of effects) {
      switch (e.type) {
        case "deliver": {
          const body = batch === undefined ? read(e.id) : batch.cached(e.id);
          if (gather === undefined && body !== undefined && !(body instanceof Promise)) {
            // The common case (no delivery of any queue waits for a read) builds no key.
            waiting ??= this.lines.size > 0 && this.lines.has(recordKey(record));
            if (!waiting) {
              this.send(record, e, body);
              break;
            }
          }
          gather ??= { items: [], misses: [] };
          const miss = body === undefined && batch !== undefined ? gather.misses.push(e.id) - 1 : -1;
          gather.items.push({ effect: e, body, miss });
          break;
        }
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
    this.outbox.flush();
    if (gather !== undefined) this.deliverAfterReads(record, gather, batch);
  }

  leaderGained(
    record: QueueRecord,
    effects: readonly QueueEffect[],
    read: BodyReader,
    batch?: BatchBodyReader,
  ): void {
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
      batch,
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
    this.lines.delete(key);
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

  /**
   * Deliveries that wait for a body from the log, or behind earlier ones that do: the bodies not
   * in memory are read with one storage read (issued now, while the entries are surely live),
   * and the deliveries go out in effect order after the queue's earlier ones.
   */
  private deliverAfterReads(record: QueueRecord, g: Gathered, batch: BatchBodyReader | undefined): void {
    const key = recordKey(record);
    const reads = batch !== undefined && g.misses.length > 0 ? batch.readMany(g.misses) : undefined;
    const line = this.lines.get(key) ?? Promise.resolve();
    const next = line
      .then(() => Promise.all([reads, Promise.all(g.items.map((i) => i.body))]))
      .then(([read, bodies]) => {
        for (let k = 0; k < g.items.length; k++) {
          const item = g.items[k]!;
          const cmd = item.miss >= 0 ? read?.[item.miss] : bodies[k];
          guarded(this.ctx.logger, "delivery", () => this.send(record, item.effect, cmd));
        }
        this.outbox.flush();
      })
      .catch((err: unknown) => this.ctx.logger.warn({ err, queue: record.name }, "delivery failed"))
      .finally(() => {
        if (this.lines.get(key) === next) this.lines.delete(key);
      });
    this.lines.set(key, next);
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
    this.outbox.add(e.consumer, delivery);
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
