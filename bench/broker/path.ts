/**
 * The broker's publish -> commit -> deliver -> ack path without a front door: an in-process
 * three-node BrokerCluster (node/broker/test/harness.ts: real LevelDB WAL with fsync, real
 * loopback transport), one quorum queue, 1 KiB persistent messages. All three nodes share this
 * process, so CPU per message is the whole cluster's (leader, followers, the client's node).
 *
 *   npx tsx bench/broker/path.ts [throughput|latency]
 *
 * - throughput: N publishes with a window of 256 unconfirmed (as AMQP scenario (a)) through a
 *   node that does not lead the queue (BENCH_VIA=leader: through the leader), then consume + ack
 *   of all of them with prefetch 500 (scenario (d)); msg/s and CPU µs per message for each phase.
 * - latency: publish-to-deliver at a fixed rate (open loop, scenario (c): 2,000 msg/s, manual
 *   ack, prefetch 100), publisher and consumer on the two nodes that do not lead the queue;
 *   p50/p99/p99.9, and the event-loop stalls and GC pauses seen meanwhile (the tail's causes).
 *
 * BENCH_CONSUME=0 skips the consume phase (instruction counts of the publish path alone).
 * BENCH_ROOT=<checkout> runs another checkout's broker (a `git worktree` of a base commit) with
 * this driver, for same-run before/after comparisons. Prints one JSON line per run.
 */
import { PerformanceObserver } from "node:perf_hooks";
import type * as HarnessModule from "../../node/broker/test/harness.js";
import type { Delivery, MessageId } from "../../node/broker/types.js";

type Harness = typeof HarnessModule;
type Cluster = HarnessModule.BrokerCluster;
type Node = HarnessModule.TestNode;

const mode = process.argv[2] ?? "throughput";
const ROOT = process.env.BENCH_ROOT;
const N = Number(process.env.BENCH_MESSAGES ?? 20_000);
const WINDOW = 256;
const RATE = Number(process.env.BENCH_RATE ?? 2_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP_MS = 1_000;

const h: Harness = ROOT
  ? ((await import(`${ROOT}/node/broker/test/harness.ts`)) as Harness)
  : await import("../../node/broker/test/harness.js");

/** Declares `q` and waits until its placed leader leads it on every node. */
async function setUp(c: Cluster): Promise<{ leader: Node; others: Node[] }> {
  const n1 = c.node("n1");
  await n1.broker.declareQueue(h.client(n1), {
    name: "q",
    passive: false,
    durable: true,
    exclusive: false,
    autoDelete: false,
    arguments: {},
  });
  // The first leader hands the queue to its placed leader: measure after that.
  const settled = await h.eventually("the placed leader", async () => {
    const infos = await Promise.all(c.nodes.map((n) => n.broker.getQueue("/", "q")));
    const leader = infos[0]?.leader;
    if (leader === undefined || infos.some((i) => i?.leader !== leader)) return undefined;
    return leader === infos[0]?.record.leader ? leader : undefined;
  });
  return { leader: c.node(settled), others: c.nodes.filter((n) => n.id !== settled) };
}

const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system;

/** One persistent message to queue `q` through the default exchange, as publisher channel 1. */
function publishToQ(node: Node, ctx: ReturnType<Harness["client"]>, body: Uint8Array) {
  return node.broker.publish(ctx, {
    exchange: "",
    routingKey: "q",
    properties: { deliveryMode: 2 },
    body,
    mandatory: false,
    channel: 1,
  });
}

async function publishWindowed(node: Node, count: number): Promise<void> {
  const ctx = h.client(node);
  const body = new Uint8Array(1024).fill(97);
  let issued = 0;
  let done = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (issued - done < WINDOW && issued < count) {
        issued++;
        publishToQ(node, ctx, body).then(() => {
          if (++done === count) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
}

/** A manual-ack consumer that acks what it got once per event-loop turn (as the AMQP door). */
async function consumeAcking(node: Node, prefetch: number, onDelivery: (d: Delivery) => void): Promise<void> {
  const ctx = h.client(node);
  let pending: MessageId[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const ids = pending;
    pending = [];
    node.broker.settle(ctx, 1, "q", "ack", ids).catch(() => undefined);
  };
  await node.broker.consume(
    ctx,
    { queue: "q", channel: 1, consumerTag: "c", prefetch, noAck: false, exclusive: false, arguments: {} },
    {
      deliver: (d) => {
        onDelivery(d);
        pending.push(d.id);
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      },
      cancelled: () => undefined,
    },
  );
}

async function throughput(c: Cluster): Promise<Record<string, unknown>> {
  const { leader, others } = await setUp(c);
  const via = process.env.BENCH_VIA === "leader" ? leader : others[0]!;
  await publishWindowed(via, 2_000); // warm-up
  let t0 = performance.now();
  let u0 = process.cpuUsage();
  await publishWindowed(via, N);
  const publish = {
    msgPerSec: Math.round(N / ((performance.now() - t0) / 1000)),
    cpuMicrosPerMsg: Math.round((cpuMicros(process.cpuUsage(u0)) / N) * 10) / 10,
  };
  // BENCH_CONSUME=0: the publish phase alone (e.g. under `perf stat`, whose count covers the process).
  if (process.env.BENCH_CONSUME === "0")
    return { mode, via: via === leader ? "leader" : "follower", messages: N, publish };
  const total = N + 2_000;
  let got = 0;
  t0 = performance.now();
  u0 = process.cpuUsage();
  await new Promise<void>((resolve, reject) => {
    consumeAcking(via, 500, () => {
      if (++got === total) resolve();
    }).catch(reject);
  });
  const consume = {
    msgPerSec: Math.round(total / ((performance.now() - t0) / 1000)),
    cpuMicrosPerMsg: Math.round((cpuMicros(process.cpuUsage(u0)) / total) * 10) / 10,
  };
  return { mode, via: via === leader ? "leader" : "follower", messages: N, publish, consume };
}

async function latency(c: Cluster): Promise<Record<string, unknown>> {
  const { others } = await setUp(c);
  const [pubNode, conNode] = [others[0]!, others[1]!];
  const latencies: number[] = [];
  let measureFrom = Number.POSITIVE_INFINITY;
  await consumeAcking(conNode, 100, (d) => {
    const sentAt = new DataView(d.body.buffer, d.body.byteOffset).getFloat64(0);
    if (sentAt >= measureFrom) latencies.push(performance.now() - sentAt);
  });
  const stalls: number[] = [];
  const gcs: number[] = [];
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcs.push(e.duration);
  });
  gcObserver.observe({ entryTypes: ["gc"] });
  let lastTick = performance.now();
  const lagTimer = setInterval(() => {
    const now = performance.now();
    if (now - lastTick > 30) stalls.push(now - lastTick - 10);
    lastTick = now;
  }, 10);
  const ctx = h.client(pubNode);
  const start = performance.now();
  measureFrom = start + WARMUP_MS;
  const u0 = process.cpuUsage();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.floor(((now - start) / 1000) * RATE);
      while (sent < due) {
        sent++;
        const body = new Uint8Array(1024);
        new DataView(body.buffer).setFloat64(0, performance.now());
        publishToQ(pubNode, ctx, body).catch(() => undefined);
      }
      if (now - start >= WARMUP_MS + SECONDS * 1000) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await h
    .eventually(
      "the queue drained",
      async () => (await conNode.broker.getQueue("/", "q"))?.messages === 0,
      30_000,
    )
    .catch(() => undefined);
  clearInterval(lagTimer);
  gcObserver.disconnect();
  const cpu = cpuMicros(process.cpuUsage(u0)) / sent;
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    Number(
      (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN).toFixed(1),
    );
  const over = (xs: number[], ms: number) => xs.filter((x) => x > ms).length;
  return {
    mode,
    rate: RATE,
    measured: latencies.length,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    p999Ms: q(0.999),
    maxMs: q(1),
    cpuMicrosPerMsg: Math.round(cpu),
    loopStallsOver50Ms: over(stalls, 50),
    longestStallMs: Math.round(Math.max(0, ...stalls)),
    gcPausesOver20Ms: over(gcs, 20),
    longestGcMs: Math.round(Math.max(0, ...gcs)),
  };
}

const c = await h.BrokerCluster.start(3);
try {
  const result = mode === "latency" ? await latency(c) : await throughput(c);
  console.log(JSON.stringify({ ...result, root: ROOT ?? ".", load: (await import("node:os")).loadavg()[0] }));
} finally {
  await c.close();
}
process.exit(0);
