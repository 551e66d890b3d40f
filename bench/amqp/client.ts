/**
 * amqplib helpers shared by the scenarios: connecting, declaring quorum queues, and a publisher
 * that keeps a fixed window of unconfirmed messages in flight.
 */
import amqp, { type ChannelModel, type ConfirmChannel } from "amqplib";

export const BODY_BYTES = 1024;

/** A 1 KiB body; the first 8 bytes carry a sequence number or a send time, read by the consumer. */
export function body(stamp: number): Buffer {
  const b = Buffer.alloc(BODY_BYTES, 0x61);
  b.writeDoubleLE(stamp, 0);
  return b;
}

export async function connect(url: string): Promise<ChannelModel> {
  const conn = await amqp.connect(url);
  // A broker that goes away mid-scenario surfaces as a failed publish or consume; an unhandled
  // 'error' event would only crash the benchmark instead.
  conn.on("error", () => {});
  return conn;
}

/** Declares a durable quorum queue, deleting any leftover of an earlier interrupted run first. */
export async function declareQuorum(conn: ChannelModel, name: string): Promise<void> {
  await deleteQueue(conn, name);
  const ch = await conn.createChannel();
  await ch.assertQueue(name, { durable: true, arguments: { "x-queue-type": "quorum" } });
  await ch.close();
}

export async function deleteQueue(conn: ChannelModel, name: string): Promise<void> {
  const ch = await conn.createChannel();
  ch.on("error", () => {});
  await ch.deleteQueue(name).catch(() => {});
  await ch.close().catch(() => {});
}

/**
 * Publishes one message and waits for its confirm; returns how long that took (ms). The
 * throughput scenarios start their clock after it: a new quorum queue first needs a leader
 * (Warren's declare returns before the queue's group has elected one, RabbitMQ's after), and
 * that wait is a figure of its own, not part of the publish rate.
 */
export async function firstConfirm(ch: ConfirmChannel, queue: string): Promise<number> {
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    ch.publish("", queue, body(0), { persistent: true }, (err) => (err ? reject(err) : resolve()));
  });
  return performance.now() - t0;
}

export interface WindowResult {
  confirmed: number;
  nacked: number;
  elapsedMs: number;
  /** Confirm latency of every confirmed message, in milliseconds. */
  latencies: Float64Array;
}

/**
 * Publishes persistent 1 KiB messages to `queue` with confirms, `window` in flight, until `stopAt`
 * (performance.now() deadline) or `count` confirmed, whichever comes first.
 */
export async function publishWindow(
  ch: ConfirmChannel,
  queue: string,
  opts: { window: number; stopAt?: number; count?: number },
): Promise<WindowResult> {
  const limit = opts.count ?? Number.POSITIVE_INFINITY;
  const stopAt = opts.stopAt ?? Number.POSITIVE_INFINITY;
  const latencies = new Float64Array(Math.min(limit, 4_000_000));
  let sent = 0;
  let confirmed = 0;
  let nacked = 0;
  let inFlight = 0;
  let blocked = false;
  const t0 = performance.now();
  const payload = body(0);
  return new Promise<WindowResult>((resolve, reject) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      resolve({
        confirmed,
        nacked,
        elapsedMs: performance.now() - t0,
        latencies: latencies.subarray(0, confirmed),
      });
    };
    const pump = () => {
      while (!blocked && inFlight < opts.window && sent < limit && performance.now() < stopAt) {
        const sentAt = performance.now();
        sent++;
        inFlight++;
        const ok = ch.publish("", queue, payload, { persistent: true }, (err) => {
          inFlight--;
          if (err) nacked++;
          else if (confirmed < latencies.length) latencies[confirmed++] = performance.now() - sentAt;
          else confirmed++;
          if (inFlight === 0 && (sent >= limit || performance.now() >= stopAt)) finish();
          else pump();
        });
        if (!ok) {
          blocked = true;
          ch.once("drain", () => {
            blocked = false;
            pump();
          });
        }
      }
      if (inFlight === 0 && (sent >= limit || performance.now() >= stopAt)) finish();
    };
    ch.on("close", () => (finished ? undefined : reject(new Error("channel closed while publishing"))));
    pump();
  });
}
