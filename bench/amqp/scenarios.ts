/**
 * Scenarios (a)-(d) of the AMQP benchmark (issue 5). Each run declares its own quorum queues,
 * measures, deletes them, and returns flat numeric figures (run.ts prints medians over runs).
 */
import type { ConsumeMessage } from "amqplib";
import type { BenchOptions } from "./args.js";
import { body, connect, declareQuorum, deleteQueue, firstConfirm, publishWindow } from "./client.js";
import { summarize } from "./stats.js";

const WINDOW = 256;

/** (a) One publisher with confirms, window 256, 1 KiB persistent messages. */
export async function scenarioA(o: BenchOptions, run: number): Promise<Record<string, number>> {
  const queue = `${o.queuePrefix}-a-${run}`;
  const conn = await connect(o.urls[0]!);
  try {
    await declareQuorum(conn, queue);
    const ch = await conn.createConfirmChannel();
    const firstConfirmMs = await firstConfirm(ch, queue);
    const r = await publishWindow(ch, queue, { window: WINDOW, stopAt: performance.now() + o.durationMs });
    await ch.close();
    const l = summarize(r.latencies);
    await deleteQueue(conn, queue);
    return {
      msgPerSec: (r.confirmed / r.elapsedMs) * 1000,
      confirmP50Ms: l.p50,
      confirmP99Ms: l.p99,
      nacked: r.nacked,
      firstConfirmMs,
    };
  } finally {
    await conn.close().catch(() => {});
  }
}

/** (b) Four publishers (one connection each, spread over the nodes) on four queues. */
export async function scenarioB(o: BenchOptions, run: number): Promise<Record<string, number>> {
  const conns = await Promise.all([0, 1, 2, 3].map((i) => connect(o.urls[i % o.urls.length]!)));
  const queues = conns.map((_, i) => `${o.queuePrefix}-b-${run}-${i}`);
  try {
    // Declared through its publisher's node: RabbitMQ (queue_leader_locator client-local, its
    // default) places the queue's leader there; Warren places leaders by load (the node leading
    // the fewest queues, ties by a hash of the name), so some publishers go through another node.
    await Promise.all(conns.map((c, i) => declareQuorum(c, queues[i]!)));
    const channels = await Promise.all(conns.map((c) => c.createConfirmChannel()));
    // Every queue has a leader (each took one confirmed publish) before the clock starts.
    const firsts = await Promise.all(channels.map((ch, i) => firstConfirm(ch, queues[i]!)));
    const stopAt = performance.now() + o.durationMs;
    const results = await Promise.all(
      channels.map(async (ch, i) => {
        const r = await publishWindow(ch, queues[i]!, { window: WINDOW, stopAt });
        await ch.close();
        return r;
      }),
    );
    await Promise.all(conns.map((c, i) => deleteQueue(c, queues[i]!)));
    const elapsed = Math.max(...results.map((r) => r.elapsedMs));
    const confirmed = results.reduce((n, r) => n + r.confirmed, 0);
    return {
      msgPerSec: (confirmed / elapsed) * 1000,
      slowestPublisherMsgPerSec: Math.min(...results.map((r) => (r.confirmed / r.elapsedMs) * 1000)),
      nacked: results.reduce((n, r) => n + r.nacked, 0),
      firstConfirmMs: Math.max(...firsts),
    };
  } finally {
    await Promise.all(conns.map((c) => c.close().catch(() => {})));
  }
}

const RATE_C = 2_000;
const WARMUP_MS = 1_000;

/** (c) Publish-to-deliver latency at a fixed 2,000 msg/s, manual-ack consumer with prefetch 100. */
export async function scenarioC(o: BenchOptions, run: number): Promise<Record<string, number>> {
  const queue = `${o.queuePrefix}-c-${run}`;
  const pubConn = await connect(o.urls[0]!);
  const subConn = await connect(o.urls[0]!);
  try {
    await declareQuorum(pubConn, queue);
    const sub = await subConn.createChannel();
    await sub.prefetch(100);
    const samples: number[] = [];
    let delivered = 0;
    // Set when publishing starts (below): messages sent before measureFrom are the warm-up.
    let measureFrom = Number.POSITIVE_INFINITY;
    await sub.consume(
      queue,
      (m: ConsumeMessage | null) => {
        if (m === null) return;
        const sentAt = m.content.readDoubleLE(0);
        if (sentAt >= measureFrom) samples.push(performance.now() - sentAt);
        delivered++;
        sub.ack(m);
      },
      { noAck: false },
    );
    const pub = await pubConn.createConfirmChannel();
    const total = Math.round(((WARMUP_MS + o.durationMs) / 1000) * RATE_C);
    let sent = 0;
    // Open-loop schedule: each tick publishes what the clock says is due, so a slow broker shows
    // up as latency rather than as a lower offered rate. The clock starts once the publisher's
    // channel is open: started before (with the consumer's setup), the first tick would send a
    // burst of everything "due" meanwhile, and on a loaded machine that burst is a backlog the
    // consumer (prefetch 100) drains only slowly, well into the measured window.
    const t0 = performance.now();
    measureFrom = t0 + WARMUP_MS;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE_C));
        while (sent < due) {
          pub.publish("", queue, body(performance.now()), { persistent: true });
          sent++;
        }
        if (sent >= total) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    await pub.waitForConfirms();
    const deadline = performance.now() + 30_000;
    while (delivered < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await sub.close();
    await pub.close();
    await deleteQueue(pubConn, queue);
    const l = summarize(samples);
    return { p50Ms: l.p50, p99Ms: l.p99, p999Ms: l.p999, maxMs: l.max, delivered, sent };
  } finally {
    await pubConn.close().catch(() => {});
    await subConn.close().catch(() => {});
  }
}

/** (d) Consume `preload` (100,000) preloaded messages with an ack each, prefetch 500. */
export async function scenarioD(o: BenchOptions, run: number): Promise<Record<string, number>> {
  const queue = `${o.queuePrefix}-d-${run}`;
  const conn = await connect(o.urls[0]!);
  try {
    await declareQuorum(conn, queue);
    const pub = await conn.createConfirmChannel();
    const pre = await publishWindow(pub, queue, { window: WINDOW, count: o.preload });
    await pub.close();
    const preloadPerSec = (pre.confirmed / pre.elapsedMs) * 1000;
    const ch = await conn.createChannel();
    await ch.prefetch(500);
    const t0 = performance.now();
    let got = 0;
    const elapsed = await new Promise<number>((resolve, reject) => {
      const watchdog = setTimeout(
        () => reject(new Error(`(d) consumed ${got}/${pre.confirmed} in 120 s`)),
        120_000,
      );
      ch.consume(
        queue,
        (m) => {
          if (m === null) return;
          ch.ack(m);
          if (++got === pre.confirmed) {
            clearTimeout(watchdog);
            resolve(performance.now() - t0);
          }
        },
        { noAck: false },
      ).catch(reject);
    });
    await ch.close();
    await deleteQueue(conn, queue);
    return { msgPerSec: (got / elapsed) * 1000, consumed: got, preloadMsgPerSec: preloadPerSec };
  } finally {
    await conn.close().catch(() => {});
  }
}
