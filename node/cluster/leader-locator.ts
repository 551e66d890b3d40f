/**
 * Which node a new quorum queue's leader goes to, as RabbitMQ 3.10+ decides it: the
 * `x-queue-leader-locator` queue argument, else the node's `queueLeaderLocator` setting (RabbitMQ's
 * `queue_leader_locator`, default `client-local`). Warren has no policies, so RabbitMQ's
 * `queue-leader-locator` policy key has no equivalent here.
 *
 * - `client-local`: the node the declaring client is connected to (the node that received the
 *   AMQP declare or the HTTP request): its publishes then need no forward to another node.
 * - `balanced`: the node leading the fewest queues. The older values `random` and `least-leaders`
 *   mean `balanced`, as in RabbitMQ.
 */
import {
  DEFAULT_QUEUE_LEADER_LOCATOR,
  QUEUE_LEADER_LOCATORS,
  type QueueLeaderLocator,
} from "../config/defaults.js";

export { DEFAULT_QUEUE_LEADER_LOCATOR, QUEUE_LEADER_LOCATORS, type QueueLeaderLocator };

/** The argument's value (already validated by node/meta/args.ts), mapped onto the two strategies. */
export function locatorFromArgument(v: unknown): QueueLeaderLocator | undefined {
  if (v === "client-local") return "client-local";
  if (v === "balanced" || v === "random" || v === "least-leaders") return "balanced";
  return undefined;
}

/** The strategy for a queue declared with `args` on a node configured with `setting`. */
export function effectiveLeaderLocator(
  args: Readonly<Record<string, unknown>>,
  setting: QueueLeaderLocator | undefined,
): QueueLeaderLocator {
  return locatorFromArgument(args["x-queue-leader-locator"]) ?? setting ?? DEFAULT_QUEUE_LEADER_LOCATOR;
}
