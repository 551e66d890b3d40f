/**
 * RabbitMQ: messages published on one channel to one queue are enqueued in publish order. Here
 * one channel pipelines publishes through a node that does not lead the queue while the queue's
 * leadership moves around the cluster: the queue must hold the channel's messages in publish
 * order, each once, with every confirmed one among them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WarrenError } from "../../errors.js";
import type { QueueGroups } from "../queue-groups.js";
import {
  BrokerCluster,
  client,
  declareLed,
  declareQueue,
  drainBodies,
  eventually,
  type TestNode,
  text,
} from "./harness.js";

const WINDOW = 40;

/**
 * Pipelines publishes `0, 1, 2, ...` on channel 1 of one connection to `queue` via `node` (at
 * most WINDOW unconfirmed) until `more(i)` says stop; a publish that fails is not republished.
 */
async function publishAll(node: TestNode, queue: string, more: (i: number) => boolean) {
  const ctx = client(node);
  const confirmed = new Set<number>();
  let failed = 0;
  const inFlight = new Set<Promise<void>>();
  let i = 0;
  for (; more(i); i++) {
    const n = i;
    const p = node.broker
      .publish(ctx, {
        exchange: "",
        routingKey: queue,
        properties: {},
        body: text(String(n)),
        mandatory: false,
        channel: 1,
      })
      .then(
        (out) => {
          expect(out).toEqual({ kind: "routed", queues: 1 });
          confirmed.add(n);
        },
        (err: unknown) => {
          // Not committed within the proposal timeout: a nack, never a false confirm.
          expect(WarrenError.is(err, "NO_QUORUM")).toBe(true);
          failed++;
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= WINDOW) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  expect(failed + confirmed.size).toBe(i);
  return { published: i, confirmed };
}

/** Drains `queue` with basic.get (no-ack) via `node`: the message numbers in queue order. */
const drain = async (node: TestNode, queue: string) => (await drainBodies(node.broker, queue)).map(Number);

/** Publish order, each message at most once, every confirmed one stored. */
function expectInOrder(stored: number[], confirmed: Set<number>): void {
  for (let k = 1; k < stored.length; k++) expect(stored[k]!).toBeGreaterThan(stored[k - 1]!);
  for (const i of confirmed) expect(stored).toContain(i);
}

/**
 * Destroys `node`'s outbound TCP connection to `peer` as a network reset would (the transport
 * reconnects): RPCs in flight on it fail at once (RpcUnreachableError) whether or not the peer
 * ran them. Reaches into the transport's internals: there is no public way to cut a live link.
 */
function resetLink(node: TestNode, peer: string): boolean {
  const links = (
    node.transport as unknown as { links: Map<string, { conn?: { socket: { destroy(): void } } }> }
  ).links;
  const socket = links.get(peer)?.conn?.socket;
  socket?.destroy();
  return socket !== undefined;
}

describe("per-channel publish order on a three-node broker", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3, { proposalTimeoutMs: 3000 });
  });
  afterAll(async () => {
    await c.close();
  });

  it("keeps one channel's messages in publish order, once each, right after the queue is declared", async () => {
    // The queue's group is still being created and electing its first leader: early publishes
    // wait and retry while later ones may find the leader at once.
    await declareQueue(c.node("n1").broker, "fresh");
    const { confirmed } = await publishAll(c.node("n1"), "fresh", (i) => i < 300);
    expect(confirmed.size).toBeGreaterThan(150);
    expectInOrder(await drain(c.node("n3"), "fresh"), confirmed);
  });

  it("keeps one channel's messages in publish order, once each, while the queue's leader moves", async () => {
    const info = await declareLed(c, c.node("n1").broker, "moving");
    const group = info.record.group!;
    // Publish through a node that does not lead the queue at first: publishes are forwarded.
    const pubNode = c.nodes.find((n) => n.id !== info.leader)!;
    let progress = 0;
    let done = false;
    let moves = 0;
    // Every 60 publishes leadership is handed to another node (sometimes the publisher's own)
    // while the channel keeps publishing. A hand-off can be refused (another one under way, such
    // as the first leader's hand-off to the placed leader): the channel then publishes on until
    // at least one move happened, so the scenario never depends on how fast publishing is.
    const mover = (async () => {
      for (let k = 1; k <= 5 || moves === 0; k++) {
        await eventually("publishing progress", () => done || progress >= k * 60, 30_000);
        if (done) break;
        const from = c.nodes.find((n) => n.host.leaderOf(group) === n.id);
        const to = c.nodes.filter((n) => n !== from)[k % 2];
        if (from === undefined || to === undefined) continue;
        await from.host.transferLeadership(group, to.id).then(
          () => moves++,
          () => undefined,
        );
      }
      return moves;
    })();
    const { confirmed } = await publishAll(pubNode, "moving", (i) => {
      progress = i;
      return i < 400 || (moves === 0 && i < 20_000);
    });
    done = true;
    expect(await mover).toBeGreaterThanOrEqual(1);
    expect(confirmed.size).toBeGreaterThan(150);
    expectInOrder(await drain(c.node("n1"), "moving"), confirmed);
  });

  it("keeps one channel's messages in publish order, once each, while its node's link to the leader resets", async () => {
    // A reset fails the requests in flight at once although the leader may have applied them:
    // their resends must not store a message twice nor let later messages overtake them.
    const info = await declareLed(c, c.node("n1").broker, "resets");
    const leader = c.node(info.leader!);
    const pubNode = c.nodes.find((n) => n !== leader)!;
    let resets = 0;
    let done = false;
    const resetter = (async () => {
      while (!done) {
        await new Promise((r) => setTimeout(r, 30));
        if (resetLink(pubNode, leader.id)) resets++;
      }
    })();
    const { confirmed } = await publishAll(pubNode, "resets", (i) => i < 300 || (resets < 5 && i < 5000));
    done = true;
    await resetter;
    expect(confirmed.size).toBeGreaterThan(150);
    expectInOrder(await drain(c.node("n1"), "resets"), confirmed);
  });

  it("forgets a channel's place in the queue's publish order once the channel closes", async () => {
    await declareLed(c, c.node("n1").broker, "tidy");
    const n2 = c.node("n2");
    const ctx = client(n2);
    const publisher = `${ctx.connection}|3`;
    const req = { exchange: "", routingKey: "tidy", properties: {}, body: text("x"), mandatory: false };
    await n2.broker.publish(ctx, { ...req, channel: 3 });
    const known = () =>
      c.nodes.filter((n) =>
        (n.broker as unknown as { queues: QueueGroups }).queues
          .hostedReplicas()
          .some((r) => r.record.name === "tidy" && r.machine.publisher(publisher) !== undefined),
      ).length;
    await eventually("every replica knows the publisher", () => known() === 3);
    await n2.broker.channelClosed(ctx, 3);
    await eventually("every replica forgot it", () => known() === 0);
  });
});
