/**
 * basic.publish: route with this node's routing mirror, then one `enqueue` per target queue in
 * parallel (each proposed to its queue's Raft group through the leader, or sent to a transient
 * queue's home). The outcome is known only when every target answered: a publish is confirmed
 * only after all its quorum targets committed it.
 *
 * A publish with a publisher id (an AMQP channel, or this node's HTTP publishes) reaches each
 * quorum queue through that publisher's stream (publish-streams.ts), so the queue stores its
 * messages in publish order exactly once, across leader changes and retries.
 */
import { WarrenError } from "../errors.js";
import type { QueueRecord } from "../meta/index.js";
import type { EnqueueCommand, MessageProperties, QueueReply } from "../queue/index.js";
import type { BrokerContext } from "./context.js";
import { PublishStreams } from "./publish-streams.js";
import type { QueueGroups } from "./queue-groups.js";
import type { PublishOutcome } from "./types.js";

/** Routing keys for sender-selected distribution: the key, then the CC and BCC headers. */
export function routingKeysOf(routingKey: string, headers: Record<string, unknown> | undefined): string[] {
  const keys = [routingKey];
  for (const h of ["CC", "BCC"]) {
    const v = headers?.[h];
    if (!Array.isArray(v)) continue;
    for (const k of v) {
      if (typeof k === "string") keys.push(k);
      else if (k instanceof Uint8Array) keys.push(Buffer.from(k).toString("utf8"));
    }
  }
  return keys;
}

/** BCC never reaches a consumer (RabbitMQ strips it after routing). */
export function withoutBcc(p: MessageProperties): MessageProperties {
  if (p.headers === undefined || !("BCC" in p.headers)) return p;
  const { BCC: _bcc, ...headers } = p.headers;
  return { ...p, headers };
}

export class Publisher {
  readonly streams: PublishStreams;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly queues: QueueGroups,
  ) {
    this.streams = new PublishStreams(ctx.forwarder, ctx.settings.proposalTimeoutMs);
  }

  /** Route `exchange`/`keys` in `vhost`: the target queue records (none: unroutable). */
  route(
    vhost: string,
    exchange: string,
    keys: readonly string[],
    properties: MessageProperties,
    exclude?: (queue: string) => boolean,
  ): QueueRecord[] {
    const table = this.ctx.routing.table(vhost);
    if (table === undefined) return [];
    const hashable = {
      correlationId: properties.correlationId,
      messageId: properties.messageId,
      timestamp: properties.timestamp,
    };
    const { queues } = table.route(exchange, keys, properties.headers ?? {}, hashable);
    const out: QueueRecord[] = [];
    for (const name of queues) {
      if (exclude?.(name)) continue;
      const q = this.ctx.meta.machine.queue(vhost, name);
      if (q !== undefined) out.push(q);
    }
    return out;
  }

  /**
   * Enqueues one message into every target; resolves once all answered. With `publisher`, quorum
   * targets get it in that publisher's order (transient queues are applied in call order anyway).
   */
  enqueue(
    targets: readonly QueueRecord[],
    command: EnqueueCommand,
    publisher?: string,
  ): Promise<PublishOutcome> {
    if (targets.length === 0) return Promise.resolve({ kind: "unroutable" });
    if (targets.length === 1) return this.enqueueSingle(targets[0]!, command, publisher);
    return this.enqueueMany(targets, command, publisher);
  }

  private async enqueueMany(
    targets: readonly QueueRecord[],
    command: EnqueueCommand,
    publisher: string | undefined,
  ): Promise<PublishOutcome> {
    const settled = await Promise.allSettled(targets.map((q) => this.enqueueOne(q, command, publisher)));
    let rejected = false;
    let stored = 0;
    let reached = 0;
    for (const s of settled) {
      if (s.status === "rejected") {
        // A target deleted since routing, or a transient queue whose home node is down, simply
        // does not get the message (as RabbitMQ drops it); anything else fails the publish.
        if (WarrenError.is(s.reason, "NOT_FOUND")) continue;
        throw s.reason;
      }
      reached++;
      const r = s.value;
      if (r.type === "rejected" || (r.type === "duplicate" && r.outcome === "rejected")) rejected = true;
      else if (r.type === "enqueued" || r.type === "duplicate") stored++;
      else if (r.type === "error") throw new WarrenError(r.code, r.message);
    }
    if (reached === 0) return { kind: "unroutable" };
    return rejected ? { kind: "rejected", queues: stored } : { kind: "routed", queues: stored };
  }

  /**
   * The common case, one target: the same outcomes as `enqueue` without a settled-array per
   * publish, and one promise reaction (no async function: this runs per publish).
   */
  private enqueueSingle(
    q: QueueRecord,
    command: EnqueueCommand,
    publisher: string | undefined,
  ): Promise<PublishOutcome> {
    let reply: Promise<QueueReply>;
    try {
      reply = this.enqueueOne(q, command, publisher);
    } catch (err) {
      reply = Promise.reject(err);
    }
    return reply.then(singleOutcome, singleFailure);
  }

  private enqueueOne(
    q: QueueRecord,
    command: EnqueueCommand,
    publisher: string | undefined,
  ): Promise<QueueReply> {
    if (publisher === undefined || q.type !== "quorum" || q.group === undefined) {
      return this.queues.execute(q, command);
    }
    return this.streams.enqueue(publisher, q.group, q.members, command);
  }
}

function singleOutcome(r: QueueReply): PublishOutcome {
  if (r.type === "rejected" || (r.type === "duplicate" && r.outcome === "rejected"))
    return { kind: "rejected", queues: 0 };
  if (r.type === "error") throw new WarrenError(r.code, r.message);
  return { kind: "routed", queues: r.type === "enqueued" || r.type === "duplicate" ? 1 : 0 };
}

/** A target deleted since routing (or a transient queue whose home is down) leaves it unroutable. */
function singleFailure(err: unknown): PublishOutcome {
  if (WarrenError.is(err, "NOT_FOUND")) return { kind: "unroutable" };
  throw err;
}
