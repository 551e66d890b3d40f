/**
 * Queue state machine benchmark: `npm run bench:queue` (node --expose-gc --import tsx).
 * Enqueues 1,000,000 messages of 1 KiB (bodies in the commands, not retained by the machine),
 * then measures heap per message, snapshot/restore and consume+ack. Prints one JSON line per
 * figure; run-dependent figures are medians of RUNS runs.
 */
import { availableParallelism } from "node:os";
import { parseQueueArguments } from "../../node/queue/config.js";
import { QueueMachine } from "../../node/queue/machine.js";
import type { QueueCommand } from "../../node/queue/types.js";

const N = Number(process.env.BENCH_QUEUE_MESSAGES ?? 1_000_000);
const RUNS = Number(process.env.BENCH_QUEUE_RUNS ?? 3);
const BODY = 1024;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc (npm run bench:queue)");

function memory(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  // Typed-array columns live outside the JS heap: count both.
  return m.heapUsed + m.arrayBuffers;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function emit(figure: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ figure, value: Math.round(value * 100) / 100, unit, ...extra }));
}

interface RunFigures {
  heapBytesPerMessage: number;
  enqueuePerSec: number;
  snapshotMs: number;
  snapshotBytes: number;
  restoreMs: number;
  consumeAckPerSec: number;
}

function once(): RunFigures {
  const config = parseQueueArguments("bench", {});
  let index = 0;
  let time = 1_700_000_000_000;
  const before = memory();
  let machine = new QueueMachine(config);
  const apply = (cmd: QueueCommand) =>
    machine.apply({ group: "bench", index: ++index, term: 1, time: time++ }, cmd);

  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    apply({
      type: "enqueue",
      exchange: "",
      routingKeys: ["bench"],
      properties: { deliveryMode: 2 },
      body: new Uint8Array(BODY),
      publisher: { id: "p", seq: i + 1 },
    });
  }
  const enqueueMs = performance.now() - t0;
  const heapBytesPerMessage = (memory() - before) / N;

  const s0 = performance.now();
  const snap = machine.snapshot();
  const snapshotMs = performance.now() - s0;
  const r0 = performance.now();
  const restored = new QueueMachine(config);
  restored.restore(snap, { index, term: 1 });
  const restoreMs = performance.now() - r0;
  if (restored.counts().messagesReady !== N) throw new Error("restore lost messages");
  machine = restored;

  // One consumer, prefetch 1000, one basic.ack per message (the worst case: no `multiple`).
  const c0 = performance.now();
  let pending: number[] = [];
  const take = (effects: readonly { type: string; id?: number }[]) => {
    for (const e of effects) if (e.type === "deliver") pending.push(e.id!);
  };
  take(
    apply({
      type: "checkout",
      consumer: { connection: "c", channel: 1, tag: "t" },
      prefetch: 1000,
      noAck: false,
      exclusive: false,
    }).effects,
  );
  let acked = 0;
  while (pending.length > 0) {
    const batch = pending;
    pending = [];
    for (const id of batch) {
      take(apply({ type: "settle", op: "ack", connection: "c", channel: 1, ids: [id] }).effects);
      acked++;
    }
  }
  const consumeMs = performance.now() - c0;
  if (acked !== N || machine.counts().messages !== 0) throw new Error(`consumed ${acked} of ${N}`);
  return {
    heapBytesPerMessage,
    enqueuePerSec: N / (enqueueMs / 1000),
    snapshotMs,
    snapshotBytes: snap.state.byteLength,
    restoreMs,
    consumeAckPerSec: N / (consumeMs / 1000),
  };
}

console.log(
  JSON.stringify({
    figure: "machine",
    nproc: availableParallelism(),
    node: process.version,
    messages: N,
    bodyBytes: BODY,
    runs: RUNS,
  }),
);
const runs: RunFigures[] = [];
for (let r = 0; r < RUNS; r++) runs.push(once());
const pick = (k: keyof RunFigures) => median(runs.map((x) => x[k]));
emit("heapBytesPerMessage", pick("heapBytesPerMessage"), "bytes", { target: 32 });
emit("enqueueThroughput", pick("enqueuePerSec"), "msg/s");
emit("snapshotTime", pick("snapshotMs"), "ms");
emit("snapshotSize", pick("snapshotBytes"), "bytes");
emit("restoreTime", pick("restoreMs"), "ms");
emit("consumeAckThroughput", pick("consumeAckPerSec"), "msg/s");
