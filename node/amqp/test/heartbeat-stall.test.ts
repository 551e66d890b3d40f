/**
 * A stall of the broker's own process (GC, a loaded machine) is not a client's silence: a
 * client that sends its heartbeats keeps its connection through a stall longer than two
 * heartbeat intervals. One node, so the stall disturbs no election.
 */
import { afterAll, describe, expect, it } from "vitest";
import { eventually } from "./harness.js";
import { RawClient } from "./raw-client.js";
import { useAmqpCluster } from "./suite.js";

const HEARTBEAT_FRAME = Buffer.from([8, 0, 0, 0, 0, 0, 0, 0xce]);

/** Blocks this process's event loop, as a long GC pause or a starved CPU does. */
function stall(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy: nothing else runs, neither the broker's timers nor its socket reads
  }
}

describe("AMQP heartbeats through a stall of the broker's process", () => {
  const { c } = useAmqpCluster(1);
  const raws: RawClient[] = [];
  afterAll(() => {
    for (const r of raws) r.destroy();
  });

  it("keeps a client that sends heartbeats through a 2.5 s stall at 1 s heartbeats", async () => {
    const r = await RawClient.open(c.port(0), { heartbeat: 1 });
    raws.push(r);
    const beat = setInterval(() => r.write(HEARTBEAT_FRAME), 300);
    try {
      stall(2_500);
      // The server's heartbeats after the stall show it judged the client and kept it.
      const seen = r.frames.length;
      await eventually(
        "a server heartbeat after the stall",
        () => r.ended || r.frames.slice(seen).some((f) => f.type === "heartbeat"),
        5_000,
      );
      expect(r.ended).toBe(false);
    } finally {
      clearInterval(beat);
    }
  });
});
