/**
 * At-least-once dead-lettering across leader changes, with the queue groups and the publisher
 * replaced by a scripted world and virtual time, so each interleaving is exact: the old leader
 * still publishing when the new leader re-issues its pending dead-letters, a failed settle, a
 * failed publish.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { noopLogger } from "../../../raft/logger.js";
import { WarrenError } from "../../errors.js";
import type { QueueRecord } from "../../meta/index.js";
import type { DeadLetterEffect, EnqueueCommand, QueueCommand } from "../../queue/index.js";
import { Consumers } from "../consumers.js";
import type { BrokerContext } from "../context.js";
import { DeadLetterer } from "../dead-lettering.js";
import { LeaderEffects } from "../leader-effects.js";
import type { Publisher } from "../publish.js";
import type { QueueGroups } from "../queue-groups.js";
import type { PublishOutcome } from "../types.js";

const PROPOSAL_TIMEOUT_MS = 100;

const source: QueueRecord = {
  vhost: "/",
  name: "source",
  durable: true,
  autoDelete: false,
  owner: undefined,
  arguments: { "x-dead-letter-exchange": "" },
  type: "quorum",
  group: "q:/:source:5",
  members: ["n1", "n2", "n3"],
  leader: "n2",
  createdIndex: 5,
  createdAt: 0,
  createdBy: "guest",
};
const target: QueueRecord = { ...source, name: "target", group: "q:/:target:4", createdIndex: 4 };

const body: EnqueueCommand = {
  type: "enqueue",
  exchange: "",
  routingKeys: ["source"],
  properties: {},
  body: new TextEncoder().encode("dead"),
};

const effect: DeadLetterEffect = {
  type: "dead-letter",
  id: 7,
  reason: "rejected",
  queue: "source",
  exchange: "",
  routingKey: "target",
  time: 1,
};

/** The source queue's replicated state as every node sees it, and what reached the target. */
class World {
  leader = "n1";
  readonly held = new Set<number>([effect.id]);
  readonly published: EnqueueCommand[] = [];
  readonly settles: number[][] = [];
  /** Each publish takes the next scripted outcome (default: committed at once). */
  readonly publishes: (() => Promise<PublishOutcome>)[] = [];
  /** Each settle takes the next scripted failure (default: committed at once). */
  readonly settleFailures: Error[] = [];
  /** Whether the DLX routes to the target in the nodes' routing mirrors (a lagging one: not yet). */
  routable = true;
  /** Metadata read barriers taken; one brings a lagging mirror up to date. */
  catchUps = 0;
  /** False: the DLX routes nowhere even in the metadata leader's view. */
  routableAfterCatchUp = true;

  node(id: string): LeaderEffects {
    const ctx = {
      nodeId: id,
      stopped: false,
      settings: { proposalTimeoutMs: PROPOSAL_TIMEOUT_MS },
      logger: noopLogger,
      transport: { on: () => {} },
      meta: {
        catchUp: async () => {
          this.catchUps++;
          this.routable = this.routableAfterCatchUp;
        },
      },
    } as unknown as BrokerContext;
    const queues = {
      leaderOf: () => this.leader,
      holds: (_r: QueueRecord, id: number) => this.held.has(id),
      execute: async (_r: QueueRecord, cmd: QueueCommand) => {
        if (cmd.type !== "dead-letter-settled") throw new Error(`unexpected ${cmd.type}`);
        const failure = this.settleFailures.shift();
        if (failure !== undefined) throw failure;
        this.settles.push([...cmd.ids]);
        for (const i of cmd.ids) this.held.delete(i);
        return { type: "ok" };
      },
    } as unknown as QueueGroups;
    const publisher = {
      route: () => (this.routable ? [target] : []),
      enqueue: (targets: readonly QueueRecord[], cmd: EnqueueCommand) => {
        if (targets.length === 0) return Promise.resolve({ kind: "unroutable" });
        this.published.push(cmd);
        const next = this.publishes.shift();
        return next !== undefined ? next() : Promise.resolve({ kind: "routed", queues: 1 });
      },
    } as unknown as Publisher;
    const effects = new LeaderEffects(ctx, new Consumers(id, () => {}));
    effects.queues = queues;
    effects.deadLetterer = new DeadLetterer(ctx, queues, publisher, effects);
    return effects;
  }
}

/** Lets every promise chain and event-loop turn (the settle batch) that is due now run. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) {
    await vi.advanceTimersByTimeAsync(0);
    await new Promise((r) => setImmediate(r));
  }
}

async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await flush();
}

describe("at-least-once dead-lettering", () => {
  beforeEach(() => {
    // Virtual time for the pauses; setImmediate stays real (one batch per event-loop turn).
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("does not dead-letter a message twice when leadership moves while the old leader publishes it", async () => {
    const w = new World();
    let commit!: () => void;
    w.publishes.push(
      () => new Promise<PublishOutcome>((r) => (commit = () => r({ kind: "routed", queues: 1 }))),
    );
    const n1 = w.node("n1");
    const n2 = w.node("n2");
    n1.run(source, [effect], () => body);
    await flush();
    expect(w.published).toHaveLength(1);

    // Handed to the preferred leader: n2 re-issues the pending dead-letter (leaderEffects()).
    w.leader = "n2";
    n2.leaderGained(source, [effect], () => body);
    await flush();
    expect(w.published).toHaveLength(1);

    // The old leader's publish commits; it settles the message through the new leader.
    commit();
    await flush();
    expect(w.settles).toEqual([[effect.id]]);

    await advance(PROPOSAL_TIMEOUT_MS * 3);
    expect(w.published).toHaveLength(1);
    expect(w.held.size).toBe(0);
  });

  it("has the new leader dead-letter what its predecessor left unpublished", async () => {
    const w = new World();
    w.leader = "n2";
    w.node("n2").leaderGained(source, [effect], () => body);
    await flush();
    expect(w.published).toHaveLength(0);
    await advance(PROPOSAL_TIMEOUT_MS);
    expect(w.published).toHaveLength(1);
    expect(w.published[0]?.properties.headers?.["x-death"]).toBeDefined();
    await flush();
    expect(w.held.size).toBe(0);
  });

  it("retries a failed dead-letter-settled alone, without publishing the message again", async () => {
    const w = new World();
    w.settleFailures.push(new WarrenError("NO_QUORUM", "no quorum"));
    w.node("n1").run(source, [effect], () => body);
    await flush();
    expect(w.settles).toEqual([]);
    await advance(1000);
    expect(w.settles).toEqual([[effect.id]]);
    expect(w.published).toHaveLength(1);
  });

  it("retries a failed publish with growing pauses until the target commits", async () => {
    const w = new World();
    const fail = () => Promise.reject(new WarrenError("NO_QUORUM", "no quorum"));
    w.publishes.push(fail, fail);
    w.node("n1").run(source, [effect], () => body);
    await flush();
    expect(w.published).toHaveLength(1);
    await advance(99);
    expect(w.published).toHaveLength(1);
    await advance(1);
    expect(w.published).toHaveLength(2);
    await advance(199);
    expect(w.published).toHaveLength(2);
    await advance(1);
    expect(w.published).toHaveLength(3);
    await flush();
    expect(w.settles).toEqual([[effect.id]]);
  });

  it("stops publishing on a node that no longer leads the queue", async () => {
    const w = new World();
    w.publishes.push(() => Promise.reject(new WarrenError("NO_QUORUM", "no quorum")));
    w.node("n1").run(source, [effect], () => body);
    await flush();
    w.leader = "n3";
    await advance(10_000);
    expect(w.published).toHaveLength(1);
    expect(w.held.has(effect.id)).toBe(true);
  });

  it("routes a dead-letter only once this node's metadata caught up, so a queue just declared elsewhere gets it", async () => {
    const w = new World();
    w.routable = false;
    w.node("n1").run(source, [effect, { ...effect, id: 8 }], () => body);
    await flush();
    expect(w.catchUps).toBe(1);
    expect(w.published).toHaveLength(2);
    expect(w.settles).toEqual([[7, 8]]);
  });

  it("drops a dead-letter its DLX routes nowhere (after catching up) and settles it", async () => {
    const w = new World();
    w.routable = false;
    w.routableAfterCatchUp = false;
    w.node("n1").run(source, [effect], () => body);
    await flush();
    expect(w.catchUps).toBe(1);
    expect(w.published).toHaveLength(0);
    expect(w.settles).toEqual([[effect.id]]);
  });
});
