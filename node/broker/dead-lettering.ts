/**
 * At-least-once dead-lettering, run by the source queue's leader: read the dead message, rewrite
 * it as RabbitMQ does (`deadLetterMessage`: x-death, x-first/last-death-*), route it through the
 * DLX (dropping targets where it would cycle), enqueue it to every target, and only when all of
 * them committed propose `dead-letter-settled` to the source queue. Until then the message stays
 * in the source queue (counted as dead-lettering); a new leader re-issues the effect, so a crash
 * between the two steps yields a duplicate in the target, never a loss.
 *
 * Failures retry with capped exponential backoff: the publish while this node leads the source
 * queue, then the settle alone (a failed settle never publishes the message a second time).
 *
 * A leader change with the old leader alive (a hand-off to the preferred leader, a rebalance, an
 * election under load) must not dead-letter every pending message twice: the old leader finishes
 * what it started (its settle reaches the new leader through the forwarder), and the new leader
 * holds the dead-letters it re-issues (`resume`) for a proposal timeout, then publishes only those
 * its machine still holds. Only a message whose old leader died mid-way is published twice.
 */
import { WarrenError } from "../errors.js";
import type { QueueRecord } from "../meta/index.js";
import {
  type DeadLetterEffect,
  deadLetterMessage,
  type EnqueueCommand,
  isDeadLetterCycle,
  type MessageId,
} from "../queue/index.js";
import { type BrokerContext, recordKey } from "./context.js";
import type { LeaderEffects } from "./leader-effects.js";
import type { Publisher } from "./publish.js";
import type { QueueGroups } from "./queue-groups.js";

/** First pause after a failed attempt; doubled per failure up to RETRY_MAX_MS. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

interface SettleBatch {
  readonly record: QueueRecord;
  readonly ids: MessageId[];
  readonly waiters: { resolve: () => void; reject: (e: unknown) => void }[];
}

export class DeadLetterer {
  /** Dead-letters in progress, by queue + message id: a re-issued effect does not start a second. */
  private readonly inflight = new Set<string>();
  /** `dead-letter-settled` ids gathered per queue during one event-loop turn: one proposal each. */
  private readonly batches = new Map<string, SettleBatch>();
  /** The metadata read barrier the dead-letters routed nowhere during this turn wait for. */
  private barrier: Promise<void> | undefined;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly queues: QueueGroups,
    private readonly publisher: Publisher,
    private readonly effects: LeaderEffects,
  ) {}

  /** A dead-letter effect from an entry this node applied as leader: starts at once. */
  handle(
    record: QueueRecord,
    effect: DeadLetterEffect,
    body: EnqueueCommand | undefined | Promise<EnqueueCommand | undefined>,
  ): void {
    const key = inflightKey(record, effect);
    if (this.inflight.has(key)) return;
    this.inflight.add(key);
    void this.run(record, effect, body).finally(() => this.inflight.delete(key));
  }

  /**
   * A dead-letter a new leader re-issues (`leaderEffects()`): the previous leader may still be
   * publishing it. Waits a proposal timeout (what the previous leader's enqueue may take), then
   * goes on only if the queue still holds the message, i.e. nobody settled it meanwhile.
   */
  resume(
    record: QueueRecord,
    effect: DeadLetterEffect,
    read: () => EnqueueCommand | undefined | Promise<EnqueueCommand | undefined>,
  ): void {
    const key = inflightKey(record, effect);
    if (this.inflight.has(key)) return;
    this.inflight.add(key);
    const t = setTimeout(() => {
      if (this.ctx.stopped || !this.effects.leads(record) || !this.queues.holds(record, effect.id)) {
        this.inflight.delete(key);
        return;
      }
      void this.run(record, effect, read()).finally(() => this.inflight.delete(key));
    }, this.resumeDelayMs());
    t.unref?.();
  }

  private resumeDelayMs(): number {
    return this.ctx.settings.proposalTimeoutMs;
  }

  /**
   * One metadata read barrier per event-loop turn, started after every dead-letter of the turn
   * asked for it, so it covers what each of them may depend on.
   */
  private metaCaughtUp(): Promise<void> {
    if (this.barrier === undefined) {
      const started = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
        if (this.barrier === started) this.barrier = undefined;
        return this.ctx.meta.catchUp();
      });
      this.barrier = started;
    }
    return this.barrier;
  }

  /** Joins this turn's `dead-letter-settled` batch of the queue (a burst of expiries is one entry). */
  private settle(record: QueueRecord, id: MessageId): Promise<void> {
    const key = `${recordKey(record)}#${record.createdIndex}`;
    let batch = this.batches.get(key);
    if (batch === undefined) {
      const created: SettleBatch = { record, ids: [], waiters: [] };
      batch = created;
      this.batches.set(key, created);
      setImmediate(() => {
        this.batches.delete(key);
        this.queues.execute(created.record, { type: "dead-letter-settled", ids: created.ids }).then(
          () => {
            for (const w of created.waiters) w.resolve();
          },
          (err: unknown) => {
            for (const w of created.waiters) w.reject(err);
          },
        );
      });
    }
    batch.ids.push(id);
    const b = batch;
    return new Promise<void>((resolve, reject) => b.waiters.push({ resolve, reject }));
  }

  private async run(
    record: QueueRecord,
    effect: DeadLetterEffect,
    bodyP: EnqueueCommand | undefined | Promise<EnqueueCommand | undefined>,
  ): Promise<void> {
    const original = await bodyP;
    let published = false;
    let pause = RETRY_MIN_MS;
    for (;;) {
      if (this.ctx.stopped) return;
      // Not leading any more: the new leader re-issues what was not published. What was
      // published is settled from here (through the new leader), or it would be published twice.
      if (!published && !this.effects.leads(record)) return;
      try {
        if (!published) {
          await this.publish(record, effect, original);
          published = true;
        }
        await this.settle(record, effect.id);
        return;
      } catch (err) {
        // The queue is gone (deleted): nothing to settle any more.
        if (WarrenError.is(err, "NOT_FOUND")) return;
        this.ctx.logger.debug(
          { err, queue: record.name, id: effect.id, published },
          "dead-lettering failed; retrying",
        );
        await new Promise((r) => setTimeout(r, pause).unref?.());
        pause = Math.min(pause * 2, RETRY_MAX_MS);
      }
    }
  }

  /** Enqueues the dead-lettered message to every DLX target; resolves when all committed. */
  private async publish(
    record: QueueRecord,
    effect: DeadLetterEffect,
    original: EnqueueCommand | undefined,
  ): Promise<void> {
    if (original === undefined) {
      this.ctx.logger.warn({ queue: record.name, id: effect.id }, "dead-lettered message not found; dropped");
      return;
    }
    const dl = deadLetterMessage({
      exchange: original.exchange,
      routingKeys: original.routingKeys,
      properties: original.properties,
      effect,
    });
    const route = () =>
      this.publisher.route(record.vhost, dl.exchange, dl.routingKeys, dl.properties, (q) =>
        isDeadLetterCycle(dl.properties.headers, q),
      );
    let targets = route();
    if (targets.length === 0) {
      // This node's metadata replica may lag the node through which the DLX, its bindings or the
      // target queue were just declared: drop the message as unroutable only once it caught up.
      await this.metaCaughtUp();
      targets = route();
    }
    await this.publisher.enqueue(targets, {
      type: "enqueue",
      exchange: dl.exchange,
      routingKeys: dl.routingKeys,
      properties: dl.properties,
      body: original.body,
    });
  }
}

function inflightKey(record: QueueRecord, effect: DeadLetterEffect): string {
  return `${recordKey(record)}#${record.createdIndex}#${effect.id}`;
}
