/**
 * The leader's deliveries when bodies have left the body cache: a consumer gets its messages in
 * the queue's order whatever mix of cached and log-read bodies they have, and the bodies one
 * apply misses are read from the log together (one storage read per batch, not per message).
 * The queue groups and the log are replaced by a scripted reader so each interleaving is exact.
 */
import { describe, expect, it } from "vitest";
import { noopLogger } from "../../../raft/logger.js";
import type { QueueRecord } from "../../meta/index.js";
import type { DeliverEffect, EnqueueCommand, MessageId } from "../../queue/index.js";
import { Consumers } from "../consumers.js";
import type { BrokerContext } from "../context.js";
import { LeaderEffects } from "../leader-effects.js";
import type { BatchBodyReader, BodyReader } from "../queue-groups.js";
import type { Delivery } from "../types.js";

const queue: QueueRecord = {
  vhost: "/",
  name: "q",
  durable: true,
  autoDelete: false,
  owner: undefined,
  arguments: {},
  type: "quorum",
  group: "q:/:q:3",
  members: ["n1"],
  leader: "n1",
  createdIndex: 3,
  createdAt: 0,
  createdBy: "guest",
};

const consumer = { connection: "n1/1", channel: 1, tag: "c1" };

function enqueue(id: MessageId): EnqueueCommand {
  return {
    type: "enqueue",
    exchange: "",
    routingKeys: ["q"],
    properties: {},
    body: new TextEncoder().encode(`m${id}`),
  };
}

function deliver(id: MessageId): DeliverEffect {
  return { type: "deliver", consumer, id, redelivered: false, deliveryCount: 0, settled: false };
}

/** Bodies in memory for `cached` ids; the others come from a log whose reads resolve on demand. */
class ScriptedBodies implements BatchBodyReader {
  readonly reads: MessageId[][] = [];
  private readonly pending: (() => void)[] = [];
  constructor(private readonly inMemory: Set<MessageId>) {}

  cached(id: MessageId): EnqueueCommand | undefined {
    return this.inMemory.has(id) ? enqueue(id) : undefined;
  }

  readMany(ids: readonly MessageId[]): Promise<(EnqueueCommand | undefined)[]> {
    this.reads.push([...ids]);
    return new Promise((resolve) => this.pending.push(() => resolve(ids.map(enqueue))));
  }

  /** Completes the oldest outstanding log read. */
  completeRead(): void {
    this.pending.shift()!();
  }

  readonly read: BodyReader = (id) => this.cached(id) ?? Promise.resolve(enqueue(id));
}

function leader(): { effects: LeaderEffects; got: MessageId[] } {
  const ctx = {
    nodeId: "n1",
    stopped: false,
    settings: { proposalTimeoutMs: 100 },
    logger: noopLogger,
    transport: { on: () => {} },
  } as unknown as BrokerContext;
  const consumers = new Consumers("n1", () => {});
  const got: MessageId[] = [];
  consumers.add({
    ...consumer,
    vhost: "/",
    queue: "q",
    incarnation: queue.createdIndex,
    sink: { deliver: (d: Delivery) => got.push(d.id), cancelled: () => {} },
    noAck: false,
    window: 100,
    delivered: new Map(),
    sinceCredit: 0,
    cancelled: false,
  });
  return { effects: new LeaderEffects(ctx, consumers), got };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe("leader deliveries with bodies read back from the log", () => {
  it("reads the bodies one apply misses with one storage read and delivers in queue order", async () => {
    const { effects, got } = leader();
    const bodies = new ScriptedBodies(new Set([1, 4]));
    effects.run(queue, [1, 2, 3, 4, 5].map(deliver), bodies.read, bodies);
    // The first message's body is in memory and nothing is ahead of it: it goes out at once.
    expect(got).toEqual([1]);
    expect(bodies.reads).toEqual([[2, 3, 5]]);
    bodies.completeRead();
    await settle();
    expect(got).toEqual([1, 2, 3, 4, 5]);
  });

  it("keeps a later cached delivery behind an earlier one still being read", async () => {
    const { effects, got } = leader();
    const bodies = new ScriptedBodies(new Set([3, 4]));
    effects.run(queue, [deliver(1), deliver(2)], bodies.read, bodies);
    effects.run(queue, [deliver(3)], bodies.read, bodies);
    await settle();
    expect(got).toEqual([]);
    bodies.completeRead();
    await settle();
    expect(got).toEqual([1, 2, 3]);
    // Nothing waits any more: a cached body goes out at once again.
    effects.run(queue, [deliver(4)], bodies.read, bodies);
    expect(got).toEqual([1, 2, 3, 4]);
  });

  it("does not hold back a cached delivery behind another queue's read", async () => {
    const { effects, got } = leader();
    const bodies = new ScriptedBodies(new Set([7]));
    const other: QueueRecord = { ...queue, name: "other", group: "q:/:other:9", createdIndex: 9 };
    effects.run(other, [{ ...deliver(6), consumer: { ...consumer, tag: "gone" } }], bodies.read, bodies);
    effects.run(queue, [deliver(7)], bodies.read, bodies);
    expect(got).toEqual([7]);
  });
});
