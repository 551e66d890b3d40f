/**
 * At-least-once dead-lettering, run by the source queue's leader: read the dead message, rewrite
 * it as RabbitMQ does (`deadLetterMessage`: x-death, x-first/last-death-*), route it through the
 * DLX (dropping targets where it would cycle), enqueue it to every target, and only when all of
 * them committed propose `dead-letter-settled` to the source queue. Until then the message stays
 * in the source queue (counted as dead-lettering); a new leader re-issues the effect, so a crash
 * between the two steps yields a duplicate in the target, never a loss.
 */
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

const RETRY_MS = 250;

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

  constructor(
    private readonly ctx: BrokerContext,
    private readonly queues: QueueGroups,
    private readonly publisher: Publisher,
    private readonly effects: LeaderEffects,
  ) {}

  handle(
    record: QueueRecord,
    effect: DeadLetterEffect,
    body: EnqueueCommand | undefined | Promise<EnqueueCommand | undefined>,
  ): void {
    const key = `${recordKey(record)}#${record.createdIndex}#${effect.id}`;
    if (this.inflight.has(key)) return;
    this.inflight.add(key);
    void this.run(record, effect, body).finally(() => this.inflight.delete(key));
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
    for (;;) {
      if (this.ctx.stopped || !this.effects.leads(record)) return;
      try {
        if (original !== undefined) {
          const dl = deadLetterMessage({
            exchange: original.exchange,
            routingKeys: original.routingKeys,
            properties: original.properties,
            effect,
          });
          const targets = this.publisher.route(
            record.vhost,
            dl.exchange,
            dl.routingKeys,
            dl.properties,
            (q) => isDeadLetterCycle(dl.properties.headers, q),
          );
          await this.publisher.enqueue(targets, {
            type: "enqueue",
            exchange: dl.exchange,
            routingKeys: dl.routingKeys,
            properties: dl.properties,
            body: original.body,
          });
        } else {
          this.ctx.logger.warn(
            { queue: record.name, id: effect.id },
            "dead-lettered message not found; dropped",
          );
        }
        await this.settle(record, effect.id);
        return;
      } catch (err) {
        this.ctx.logger.debug({ err, queue: record.name, id: effect.id }, "dead-lettering failed; retrying");
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }
}
