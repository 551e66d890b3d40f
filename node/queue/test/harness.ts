/** A small driver for tests: increasing indexes, a settable clock, helpers named after AMQP methods. */
import { parseQueueArguments } from "../config.js";
import { QueueMachine } from "../machine.js";
import type {
  ConsumerRef,
  DeadLetterEffect,
  DeliverEffect,
  MessageProperties,
  QueueCommand,
  QueueEffect,
  QueueResult,
} from "../types.js";

export const CONN = "c1";

export function ref(tag: string, channel = 1, connection = CONN): ConsumerRef {
  return { connection, channel, tag };
}

export class Harness {
  readonly machine: QueueMachine;
  index = 0;
  /** The test publisher's next seq (its enqueues are applied in order, so plain 1, 2, 3, ...). */
  private pubSeq = 0;
  time = 1_700_000_000_000;
  readonly effects: QueueEffect[] = [];

  constructor(args: Record<string, unknown> = {}, name = "q") {
    this.machine = new QueueMachine(parseQueueArguments(name, args));
  }

  apply(command: QueueCommand): QueueResult {
    const r = this.machine.apply({ group: "q", index: ++this.index, term: 1, time: this.time }, command);
    this.effects.push(...r.effects);
    return r;
  }

  publish(body = "m", properties: MessageProperties = {}, routingKeys: string[] = ["rk"]): QueueResult {
    return this.apply({
      type: "enqueue",
      exchange: "ex",
      routingKeys,
      properties,
      body: new TextEncoder().encode(body),
      publisher: { id: "p", seq: ++this.pubSeq },
    });
  }

  /** Publishes n messages and returns their ids. */
  publishMany(n: number, properties: MessageProperties = {}): number[] {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = this.publish(`m${i}`, properties);
      if (r.reply.type === "enqueued") ids.push(r.reply.id);
    }
    return ids;
  }

  consume(
    tag: string,
    opts: {
      prefetch?: number;
      noAck?: boolean;
      exclusive?: boolean;
      priority?: number;
      channel?: number;
    } = {},
  ): QueueResult {
    return this.apply({
      type: "checkout",
      consumer: ref(tag, opts.channel ?? 1),
      prefetch: opts.prefetch ?? 0,
      noAck: opts.noAck ?? false,
      exclusive: opts.exclusive ?? false,
      ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
    });
  }

  ack(ids: number[], channel = 1): QueueResult {
    return this.apply({ type: "settle", op: "ack", connection: CONN, channel, ids });
  }
  requeue(ids: number[], channel = 1): QueueResult {
    return this.apply({ type: "settle", op: "requeue", connection: CONN, channel, ids });
  }
  reject(ids: number[], channel = 1): QueueResult {
    return this.apply({ type: "settle", op: "reject", connection: CONN, channel, ids });
  }
  tick(advanceMs = 0): QueueResult {
    this.time += advanceMs;
    return this.apply({ type: "tick" });
  }
}

export function deliveries(r: QueueResult): DeliverEffect[] {
  return r.effects.filter((e): e is DeliverEffect => e.type === "deliver");
}

export function deadLetters(r: QueueResult): DeadLetterEffect[] {
  return r.effects.filter((e): e is DeadLetterEffect => e.type === "dead-letter");
}
