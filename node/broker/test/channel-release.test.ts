/**
 * A closed channel's unacked messages go back to their queue even when the queue could not
 * commit at the moment of the close (no quorum, or its leader frozen): the release (`down`) is
 * retried until it commits. Before, one failed attempt left the messages checked out to a
 * channel that no longer existed, for as long as its node lived: the chaos suite's SIGSTOP
 * scenario reported them as lost (confirmed, never delivered) while they sat unacked.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WarrenError } from "../../errors.js";
import { BrokerCluster, client, declareLed, eventually, recorder, str, text } from "./harness.js";

describe("releasing a closed channel's messages", () => {
  let c: BrokerCluster;
  beforeAll(async () => {
    c = await BrokerCluster.start(3, { proposalTimeoutMs: 800 });
  });
  afterAll(async () => {
    await c.close();
  });

  it("a channel closed while its queue has no quorum returns its unacked messages once the queue has one again", async () => {
    const n1 = c.node("n1");
    const ctx = client(n1);
    await declareLed(c, n1.broker, "release");
    const out = await n1.broker.publish(ctx, {
      exchange: "",
      routingKey: "release",
      properties: {},
      body: text("m0"),
      mandatory: false,
    });
    expect(out.kind).toBe("routed");

    const first = recorder();
    const consumeReq = {
      queue: "release",
      channel: 1,
      consumerTag: "",
      prefetch: 10,
      noAck: false,
      exclusive: false,
      arguments: {},
    };
    await n1.broker.consume(ctx, consumeReq, first);
    await eventually("the delivery", () => first.deliveries.length === 1);

    // The queue loses its quorum; closing the channel cannot commit now.
    await c.kill("n2");
    await c.kill("n3");
    const closed = await n1.broker.channelClosed(ctx, 1).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(WarrenError.is(closed, "NO_QUORUM")).toBe(true);

    // Quorum again: the message is back in the queue (ready, nobody holds it) and reaches
    // another consumer.
    await c.restart("n2");
    await eventually(
      "the message ready again",
      async () => {
        const q = await n1.broker.getQueue("/", "release");
        return (
          q !== undefined && q.messagesReady === 1 && q.messagesUnacknowledged === 0 && q.consumers === 0
        );
      },
      20_000,
    );
    const second = recorder();
    await n1.broker.consume(client(n1), consumeReq, second);
    const d = await eventually("the message redelivered", () => second.deliveries[0]);
    expect(str(d.body)).toBe("m0");
    expect(d.redelivered).toBe(true);
  }, 60_000);
});
