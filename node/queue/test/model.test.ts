/**
 * Model-based tests: random sequences of publish / consume / ack / nack / reject / cancel /
 * channel close / basic.get / purge / time passing / snapshot-restore, applied both to the
 * machine and to the plain-array model; every delivery, dead-letter and count must agree.
 * Publishes may come from two sequenced publishers whose enqueues arrive in order, duplicated,
 * with gaps, from stale or new epochs: the machine must apply exactly the in-order ones.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseQueueArguments, type QueueConfig } from "../config.js";
import { QueueMachine } from "../machine.js";
import type { QueueCommand, QueueResult } from "../types.js";
import {
  type Event,
  Model,
  type ModelConfig,
  PUB_CONN,
  PublisherModel,
  type PubMode,
  type Verdict,
} from "./model.js";

const CONN = PUB_CONN;
const TAGS = ["a", "b", "c"];

type Step =
  | {
      t: "publish";
      size: number;
      expiration?: number | undefined;
      pub?: { who: number; mode: PubMode; k: number } | undefined;
    }
  | { t: "consume"; tag: number; channel: number; prefetch: number; noAck: boolean }
  | { t: "cancel"; tag: number; channel: number }
  | { t: "settle"; op: "ack" | "requeue" | "reject"; channel: number; pick: number; stale: boolean }
  | { t: "down"; channel?: number | undefined }
  | { t: "nodeDown"; node: "n1" | "n2" }
  | { t: "credit"; tag: number; channel: number; n: number }
  | { t: "get"; channel: number; noAck: boolean }
  | { t: "purge" }
  | { t: "time"; ms: number }
  | { t: "dlSettled" }
  | { t: "restore" };

const channelArb = fc.integer({ min: 1, max: 2 });
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record(
      {
        t: fc.constant("publish" as const),
        size: fc.constantFrom(0, 5, 10, 20, 50),
        expiration: fc.option(fc.constantFrom(0, 1, 50, 100, 300), { nil: undefined }),
        pub: fc.option(
          fc.record({
            who: fc.integer({ min: 0, max: 1 }),
            mode: fc.constantFrom<PubMode>("next", "next", "next", "dup", "gap", "stale", "epoch"),
            k: fc.integer({ min: 0, max: 5 }),
          }),
          { nil: undefined, freq: 2 },
        ),
      },
      { requiredKeys: ["t", "size"] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant("consume" as const),
      tag: fc.integer({ min: 0, max: 2 }),
      channel: channelArb,
      prefetch: fc.integer({ min: 0, max: 3 }),
      noAck: fc.integer({ min: 0, max: 9 }).map((n) => n < 3),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant("cancel" as const),
      tag: fc.integer({ min: 0, max: 2 }),
      channel: channelArb,
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant("settle" as const),
      op: fc.constantFrom("ack" as const, "requeue" as const, "reject" as const),
      channel: channelArb,
      pick: fc.integer({ min: 0, max: 255 }),
      stale: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      { t: fc.constant("down" as const), channel: fc.option(channelArb, { nil: undefined }) },
      { requiredKeys: ["t"] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant("get" as const), channel: channelArb, noAck: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("purge" as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant("time" as const),
      ms: fc.oneof(fc.constantFrom(0, 1, 50, 100), fc.integer({ min: 0, max: 200 })),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("dlSettled" as const) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant("restore" as const) }) },
);

const configArb: fc.Arbitrary<ModelConfig> = fc.record(
  {
    ttl: fc.option(fc.constantFrom(0, 1, 50, 100, 400), { nil: undefined }),
    maxLength: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    maxBytes: fc.option(fc.constantFrom(0, 10, 20, 50, 100), { nil: undefined }),
    overflow: fc.constantFrom("drop-head" as const, "reject-publish" as const),
    deliveryLimit: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    dlx: fc.boolean(),
    singleActive: fc.boolean(),
  },
  { requiredKeys: ["overflow", "dlx", "singleActive"] },
);

function toQueueConfig(c: ModelConfig): QueueConfig {
  const args: Record<string, unknown> = {
    "x-overflow": c.overflow,
    "x-single-active-consumer": c.singleActive,
  };
  if (c.ttl !== undefined) args["x-message-ttl"] = c.ttl;
  if (c.maxLength !== undefined) args["x-max-length"] = c.maxLength;
  if (c.maxBytes !== undefined) args["x-max-length-bytes"] = c.maxBytes;
  if (c.deliveryLimit !== undefined) args["x-delivery-limit"] = c.deliveryLimit;
  if (c.dlx) args["x-dead-letter-exchange"] = "dlx";
  return parseQueueArguments("q", args);
}

function eventsOf(r: QueueResult): Event[] {
  const out: Event[] = [];
  for (const e of r.effects) {
    if (e.type === "deliver")
      out.push({
        kind: "deliver",
        id: e.id,
        tag: e.consumer.tag,
        redelivered: e.redelivered,
        count: e.deliveryCount,
      });
    else if (e.type === "dead-letter") out.push({ kind: "dead", id: e.id, reason: e.reason });
  }
  return out;
}

/** Runs steps against machine and model, asserting agreement after each one. */
function run(config: ModelConfig, steps: Step[]): void {
  const qc = toQueueConfig(config);
  let machine = new QueueMachine(qc);
  const model = new Model(config);
  const pubs = new PublisherModel();
  let index = 0;
  let now = 1_000_000;
  const apply = (cmd: QueueCommand): QueueResult =>
    machine.apply({ group: "q", index: ++index, term: 1, time: now }, cmd);
  for (const step of steps) {
    model.events = [];
    let r: QueueResult | undefined;
    switch (step.t) {
      case "publish": {
        const props = step.expiration === undefined ? {} : { expiration: String(step.expiration) };
        const pub = step.pub === undefined ? undefined : pubs.ref(step.pub);
        r = apply({
          type: "enqueue",
          exchange: "",
          routingKeys: ["q"],
          properties: props,
          body: new Uint8Array(step.size),
          ...(pub === undefined ? {} : { publisher: pub }),
        });
        const verdict: Verdict = pub === undefined ? { kind: "apply" } : pubs.check(pub);
        if (verdict.kind !== "apply") {
          expect(r.reply).toEqual(PublisherModel.reply(pub!, verdict));
          break;
        }
        const accepted = model.publish(index, step.size, step.expiration, now);
        expect(r.reply.type).toBe(accepted ? "enqueued" : "rejected");
        if (pub !== undefined) pubs.applied(pub, accepted);
        break;
      }
      case "consume": {
        const tag = TAGS[step.tag]!;
        r = apply({
          type: "checkout",
          consumer: { connection: CONN, channel: step.channel, tag },
          prefetch: step.prefetch,
          noAck: step.noAck,
          exclusive: false,
        });
        const ok = model.consume(tag, step.channel, step.prefetch, step.noAck, now);
        expect(r.reply.type).toBe(ok ? "ok" : "error");
        break;
      }
      case "cancel": {
        const tag = TAGS[step.tag]!;
        r = apply({ type: "cancel", consumer: { connection: CONN, channel: step.channel, tag } });
        model.cancel(tag, step.channel, now);
        break;
      }
      case "settle": {
        const held = model.msgs.filter((m) => m.state === "out").map((m) => m.id);
        const ids = held.filter((_, i) => (step.pick >> (i % 8)) & 1);
        if (step.stale) ids.push(index + 1000);
        r = apply({ type: "settle", op: step.op, connection: CONN, channel: step.channel, ids });
        const n = model.settle(step.op, step.channel, ids, now);
        expect(r.reply.type === "settled" && r.reply.settled).toBe(n);
        break;
      }
      case "down":
        r = apply(
          step.channel === undefined
            ? { type: "down", connection: CONN }
            : { type: "down", connection: CONN, channel: step.channel },
        );
        model.down(step.channel, now);
        pubs.forget(step.channel);
        break;
      case "nodeDown":
        r = apply({ type: "node-down", node: step.node });
        if (step.node === "n1") {
          model.down(undefined, now);
          pubs.forget(undefined);
        } else model.tick(now);
        break;
      case "credit": {
        const tag = TAGS[step.tag]!;
        r = apply({
          type: "credit",
          consumer: { connection: CONN, channel: step.channel, tag },
          credit: step.n,
        });
        model.grant(tag, step.channel, step.n, now);
        break;
      }
      case "get": {
        r = apply({ type: "get", connection: CONN, channel: step.channel, noAck: step.noAck });
        const got = model.get(step.channel, step.noAck, now);
        const msg = r.reply.type === "get" ? r.reply.message : undefined;
        expect(msg && { id: msg.id, count: msg.deliveryCount, left: msg.messageCount }).toEqual(got);
        break;
      }
      case "purge": {
        r = apply({ type: "purge" });
        expect(r.reply).toEqual({ type: "purged", count: model.purge(now) });
        break;
      }
      case "time":
        now += step.ms;
        r = apply({ type: "tick" });
        model.tick(now);
        break;
      case "dlSettled": {
        const ids = model.msgs.filter((m) => m.state === "dead").map((m) => m.id);
        r = apply({ type: "dead-letter-settled", ids });
        model.deadSettled(now);
        break;
      }
      case "restore": {
        const snap = machine.snapshot();
        machine = new QueueMachine(qc);
        machine.restore(snap, { index, term: 1 });
        expect(Buffer.compare(machine.snapshot().state, snap.state)).toBe(0);
        break;
      }
    }
    if (r) expect(eventsOf(r)).toEqual(model.events);
    const c = machine.counts();
    expect({
      ready: c.messagesReady,
      unacked: c.messagesUnacknowledged,
      readyBytes: c.messageBytesReady,
      unackedBytes: c.messageBytesUnacknowledged,
      dead: c.messagesDeadLettering,
      consumers: c.consumers,
    }).toEqual(model.counts());
    expect(machine.snapshot().live).toEqual(model.msgs.map((m) => m.id).sort((a, b) => a - b));
  }
}

describe("quorum queue agrees with the reference model", () => {
  it("on every delivery, dead-letter and count for random command sequences", () => {
    fc.assert(
      fc.property(configArb, fc.array(stepArb, { minLength: 1, maxLength: 80 }), (config, steps) =>
        run(config, steps),
      ),
      { numRuns: 300 },
    );
  });

  it("replaying from a snapshot taken at any point equals replaying the whole log", () => {
    fc.assert(
      fc.property(
        configArb,
        fc.array(stepArb, { minLength: 1, maxLength: 60 }),
        fc.nat(),
        (config, steps, cut) => {
          // Turn the steps into concrete commands once (settle picks ids from a model run).
          const commands = toCommands(config, steps);
          const qc = toQueueConfig(config);
          const k = cut % (commands.length + 1);
          const full = new QueueMachine(qc);
          const fullResults = commands.map(([time, cmd], i) =>
            full.apply({ group: "q", index: i + 1, term: 1, time }, cmd),
          );
          const prefix = new QueueMachine(qc);
          commands.slice(0, k).forEach(([time, cmd], i) => {
            prefix.apply({ group: "q", index: i + 1, term: 1, time }, cmd);
          });
          const restored = new QueueMachine(qc);
          restored.restore(prefix.snapshot(), { index: k, term: 1 });
          const tailResults = commands
            .slice(k)
            .map(([time, cmd], i) => restored.apply({ group: "q", index: k + i + 1, term: 1, time }, cmd));
          expect(tailResults).toEqual(fullResults.slice(k));
          const [a, b] = [restored.snapshot(), full.snapshot()];
          expect(a.live).toEqual(b.live);
          expect(Buffer.compare(a.state, b.state)).toBe(0);
          expect(restored.leaderEffects()).toEqual(full.leaderEffects());
        },
      ),
      { numRuns: 200 },
    );
  });
});

function toCommands(config: ModelConfig, steps: Step[]): [number, QueueCommand][] {
  const model = new Model(config);
  const pubs = new PublisherModel();
  const out: [number, QueueCommand][] = [];
  let now = 1_000_000;
  for (const step of steps) {
    const index = out.length + 1;
    switch (step.t) {
      case "publish": {
        const pub = step.pub === undefined ? undefined : pubs.ref(step.pub);
        out.push([
          now,
          {
            type: "enqueue",
            exchange: "",
            routingKeys: ["q"],
            properties: step.expiration === undefined ? {} : { expiration: String(step.expiration) },
            body: new Uint8Array(step.size),
            ...(pub === undefined ? {} : { publisher: pub }),
          },
        ]);
        if (pub === undefined || pubs.check(pub).kind === "apply") {
          const accepted = model.publish(index, step.size, step.expiration, now);
          if (pub !== undefined) pubs.applied(pub, accepted);
        }
        break;
      }
      case "consume":
        out.push([
          now,
          {
            type: "checkout",
            consumer: { connection: CONN, channel: step.channel, tag: TAGS[step.tag]! },
            prefetch: step.prefetch,
            noAck: step.noAck,
            exclusive: false,
          },
        ]);
        model.consume(TAGS[step.tag]!, step.channel, step.prefetch, step.noAck, now);
        break;
      case "cancel":
        out.push([
          now,
          { type: "cancel", consumer: { connection: CONN, channel: step.channel, tag: TAGS[step.tag]! } },
        ]);
        model.cancel(TAGS[step.tag]!, step.channel, now);
        break;
      case "settle": {
        const ids = model.msgs
          .filter((m) => m.state === "out")
          .map((m) => m.id)
          .filter((_, i) => (step.pick >> (i % 8)) & 1);
        out.push([now, { type: "settle", op: step.op, connection: CONN, channel: step.channel, ids }]);
        model.settle(step.op, step.channel, ids, now);
        break;
      }
      case "down":
        out.push([
          now,
          step.channel === undefined
            ? { type: "down", connection: CONN }
            : { type: "down", connection: CONN, channel: step.channel },
        ]);
        model.down(step.channel, now);
        pubs.forget(step.channel);
        break;
      case "nodeDown":
        out.push([now, { type: "node-down", node: step.node }]);
        if (step.node === "n1") {
          model.down(undefined, now);
          pubs.forget(undefined);
        }
        break;
      case "credit":
        out.push([
          now,
          {
            type: "credit",
            consumer: { connection: CONN, channel: step.channel, tag: TAGS[step.tag]! },
            credit: step.n,
          },
        ]);
        model.grant(TAGS[step.tag]!, step.channel, step.n, now);
        break;
      case "get":
        out.push([now, { type: "get", connection: CONN, channel: step.channel, noAck: step.noAck }]);
        model.get(step.channel, step.noAck, now);
        break;
      case "purge":
        out.push([now, { type: "purge" }]);
        model.purge(now);
        break;
      case "time":
        now += step.ms;
        out.push([now, { type: "tick" }]);
        model.tick(now);
        break;
      case "dlSettled":
        out.push([
          now,
          { type: "dead-letter-settled", ids: model.msgs.filter((m) => m.state === "dead").map((m) => m.id) },
        ]);
        model.deadSettled(now);
        break;
      case "restore":
        out.push([now, { type: "touch" }]);
        break;
    }
  }
  return out;
}
