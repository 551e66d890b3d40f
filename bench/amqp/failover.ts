/**
 * Scenario (e): kill -9 of a queue leader's node while publishing at 1,000 msg/s with confirms.
 * Reports the longest interval without any confirm (from the kill to the end of the window) and
 * how many confirmed messages are missing when the queue is drained afterwards (must be 0).
 *
 * Broker-neutral: the leader comes from `--leader-cmd` (a shell command printing the node name) or
 * `--leader-http` (Warren's `GET /api/queues/%2F/{q}` -> `leader`, also RabbitMQ's management API),
 * the kill from `--kill-cmd` and the restart from `--restart-cmd` (templates with `{node}`).
 */
import { execSync } from "node:child_process";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import { type BenchOptions, fillTemplate, nodeIndex } from "./args.js";
import { body, connect, declareQuorum, deleteQueue } from "./client.js";
import { longestGap } from "./stats.js";

const RATE_E = 1_000;
const BEFORE_KILL_MS = 3_000;
const AFTER_KILL_MS = 7_000;

async function findLeader(o: BenchOptions, queue: string): Promise<string> {
  if (o.leaderCmd !== undefined) {
    const out = execSync(fillTemplate(o.leaderCmd, { queue }), { encoding: "utf8" }).trim();
    if (out === "") throw new Error(`--leader-cmd printed nothing for ${queue}`);
    return out.split(/\s+/)[0]!;
  }
  for (const base of o.leaderHttp) {
    const u = new URL(base);
    const auth = Buffer.from(
      `${decodeURIComponent(u.username || "guest")}:${decodeURIComponent(u.password || "guest")}`,
    );
    const res = await fetch(`${u.origin}/api/queues/%2F/${encodeURIComponent(queue)}`, {
      headers: { authorization: `Basic ${auth.toString("base64")}` },
    }).catch(() => undefined);
    if (res?.ok) {
      const q = (await res.json()) as { leader?: string; node?: string };
      const leader = q.leader ?? q.node;
      if (leader !== undefined) return leader;
    }
  }
  throw new Error(`no leader found for ${queue} through ${o.leaderHttp.join(", ")}`);
}

/** Polls until the leader lookup answers a node (a freshly declared queue may still be electing). */
async function waitLeader(o: BenchOptions, queue: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      return await findLeader(o, queue);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

export async function scenarioE(o: BenchOptions, run: number): Promise<Record<string, number>> {
  const queue = `${o.queuePrefix}-e-${run}`;
  const admin: ChannelModel = await connect(o.urls[0]!);
  await declareQuorum(admin, queue);
  const leader = await waitLeader(o, queue);
  const li = nodeIndex(o.nodes, leader);
  if (li < 0) throw new Error(`leader ${leader} is not among --nodes ${o.nodes.join(",")}`);
  // Publish and later drain through a node that survives the kill.
  const survivor = o.urls[(li + 1) % o.urls.length]!;
  await admin.close().catch(() => {});
  const conn = await connect(survivor);
  const ch: ConfirmChannel = await conn.createConfirmChannel();
  let channelError: unknown;
  ch.on("error", (e) => {
    channelError = e;
  });
  const confirmedSeqs = new Set<number>();
  const confirmTimes: number[] = [];
  let nacked = 0;
  let sent = 0;
  const t0 = performance.now();
  const total = ((BEFORE_KILL_MS + AFTER_KILL_MS) / 1000) * RATE_E;
  let killAt = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (killAt === 0 && now - t0 >= BEFORE_KILL_MS) {
        killAt = performance.now();
        try {
          execSync(fillTemplate(o.killCmd!, { node: leader }), { stdio: "ignore" });
        } catch (err) {
          clearInterval(timer);
          reject(err);
          return;
        }
      }
      const due = Math.min(total, Math.floor(((now - t0) / 1000) * RATE_E));
      while (sent < due && channelError === undefined) {
        const seq = sent++;
        ch.publish("", queue, body(seq), { persistent: true }, (err) => {
          if (err) nacked++;
          else {
            confirmedSeqs.add(seq);
            confirmTimes.push(performance.now());
          }
        });
      }
      if (sent >= total || channelError !== undefined) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  const endAt = performance.now();
  // Let the messages still in flight settle (they count for `lost` only if confirmed).
  const settleDeadline = performance.now() + 30_000;
  while (
    confirmedSeqs.size + nacked < sent &&
    performance.now() < settleDeadline &&
    channelError === undefined
  )
    await new Promise((r) => setTimeout(r, 50));
  const lastConfirm = confirmTimes.length > 0 ? confirmTimes[confirmTimes.length - 1]! : killAt;
  // Confirms that arrive while settling count: a broker that resumes only after the window still had that gap.
  const gap = longestGap(confirmTimes, killAt, Math.max(endAt, lastConfirm));
  await ch.close().catch(() => {});

  // Drain through the survivor and check every confirmed sequence number is there.
  const seen = new Set<number>();
  const sub = await conn.createChannel();
  await sub.prefetch(500);
  let lastDelivery = performance.now();
  await sub.consume(queue, (m) => {
    if (m === null) return;
    seen.add(m.content.readDoubleLE(0));
    lastDelivery = performance.now();
    sub.ack(m);
  });
  const drainDeadline = performance.now() + 60_000;
  while (performance.now() < drainDeadline) {
    if ([...confirmedSeqs].every((s) => seen.has(s))) break;
    if (performance.now() - lastDelivery > 5_000 && seen.size > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  let lost = 0;
  for (const s of confirmedSeqs) if (!seen.has(s)) lost++;
  await sub.close().catch(() => {});

  if (o.restartCmd !== undefined) execSync(fillTemplate(o.restartCmd, { node: leader }), { stdio: "ignore" });
  await deleteQueue(conn, queue);
  await conn.close().catch(() => {});
  return {
    maxGapMs: gap,
    lost,
    confirmed: confirmedSeqs.size,
    nacked,
    sent,
    channelClosed: channelError === undefined ? 0 : 1,
  };
}
