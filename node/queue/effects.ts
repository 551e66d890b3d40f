/** Building the effects the leader's node executes (shared by apply and leader hand-over). */
import type { QueueConfig } from "./config.js";
import type { Consumers } from "./consumers.js";
import type { MessageStore } from "./message-store.js";
import { State } from "./message-table.js";
import type { DeadLetterEffect, DeadLetterReason, MessageId, QueueEffect } from "./types.js";

export function deadLetterEffect(
  c: QueueConfig,
  id: MessageId,
  reason: DeadLetterReason,
  time: number,
): DeadLetterEffect {
  const base = {
    type: "dead-letter",
    id,
    reason,
    queue: c.name,
    exchange: c.deadLetterExchange!,
    time,
  } as const;
  return c.deadLetterRoutingKey === undefined ? base : { ...base, routingKey: c.deadLetterRoutingKey };
}

/**
 * What a new leader must (re)issue, like Ra's `state_enter(leader)`: deliveries of every
 * checked-out message to its consumer (the node drops ones the channel already has; basic.get
 * messages are not re-sent), pending dead-letters, the current timer, a pending x-expires deletion.
 */
export function leaderEffects(
  config: QueueConfig,
  store: MessageStore,
  consumers: Consumers,
  timerAt: number,
  deleteRequested: boolean,
): QueueEffect[] {
  const effects: QueueEffect[] = [];
  for (const level of store) {
    for (const p of level.delivered()) {
      const id = level.ids[p]!;
      if (level.states[p] === State.CheckedOut) {
        const h = consumers.get(level.owners[p]!);
        if (h && h.kind === "consumer") {
          const deliveryCount = level.counts[p]!;
          effects.push({
            type: "deliver",
            consumer: h.ref,
            id,
            redelivered: deliveryCount > 0,
            deliveryCount,
            settled: false,
          });
        }
      } else if (level.isDeadLettering(p)) {
        effects.push(deadLetterEffect(config, id, level.deadLetterReasonAt(p), level.times[p]!));
      }
    }
  }
  if (timerAt !== Number.POSITIVE_INFINITY) effects.push({ type: "timer", at: timerAt });
  if (deleteRequested) effects.push({ type: "delete-queue", reason: "expires" });
  return effects;
}
