/**
 * The AMQP door alone, in one process: `startAmqpServer` over a stub broker that answers at once
 * (every publish routed, deliveries as fast as the consumer's prefetch allows), driven by a raw
 * client in a child process. It measures what the door costs per message (CPU time of
 * the server process, user + system: the client is a child process, and CPU time does not count
 * the waits a loaded machine adds), which the cluster benchmark cannot separate from Raft, fsync and the machine's other load. Run
 * before and after a change:
 *
 *   npx tsx bench/amqp/door.ts [--messages 200000] [--runs 3]
 *
 * Scenarios: `publish` (confirms on, window 256, 1 KiB persistent messages) and `consume`
 * (prefetch 500, one basic.ack per delivery). One JSON line each: msg/s and µs of door CPU per msg.
 */
import { fork } from "node:child_process";
import { loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import pino from "pino";
import { startAmqpServer } from "../../node/amqp/server.js";
import type {
  Broker,
  ClientContext,
  ConsumerSink,
  Delivery,
  MessageId,
  PublishOutcome,
  PublishRequest,
} from "../../node/broker/types.js";
import { type DoorClientJob, runDoorClient } from "./door-client.js";

interface Options {
  messages: number;
  runs: number;
}

function parse(argv: string[]): Options {
  const o: Options = { messages: 200_000, runs: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const v = Number(argv[i + 1]);
    if (argv[i] === "--messages") o.messages = v;
    else if (argv[i] === "--runs") o.runs = v;
    else throw new Error(`unknown flag ${argv[i]}`);
  }
  return o;
}

/** A consumer of the stub queue: deliveries go out while it has credit (its prefetch). */
interface StubConsumer {
  readonly sink: ConsumerSink;
  readonly tag: string;
  credit: number;
}

/**
 * Just what the door calls, answering at once: publishes are routed (and, to a queue with a
 * consumer, delivered), settles return credit. Nothing is stored.
 */
class StubBroker {
  readonly nodeId = "door-bench";
  private seq = 0;
  private readonly consumers = new Map<string, StubConsumer>();
  /** Messages the consume scenario still has to hand out, per queue. */
  readonly backlog = new Map<string, number>();
  private readonly body = Buffer.alloc(1024, 7);

  newConnectionId(): string {
    return `door-bench/${++this.seq}`;
  }
  async authenticate(name: string): Promise<{ name: string; tags: string[] }> {
    return { name, tags: ["administrator"] };
  }
  checkVhostAccess(): void {}
  isBlocked(): boolean {
    return false;
  }
  onBlockedChange(): void {}
  async declareQueue(_ctx: ClientContext, req: { name: string }) {
    return { queue: { name: req.name }, messageCount: 0, consumerCount: 0 };
  }
  publish(_ctx: ClientContext, _req: PublishRequest): Promise<PublishOutcome> {
    return Promise.resolve({ kind: "routed", queues: 1 });
  }
  async consume(
    _ctx: ClientContext,
    req: { queue: string; consumerTag: string; prefetch: number },
    sink: ConsumerSink,
  ) {
    const c = { sink, tag: req.consumerTag, credit: req.prefetch };
    this.consumers.set(req.queue, c);
    setImmediate(() => this.pump(req.queue));
    return req.consumerTag;
  }
  async settle(_ctx: ClientContext, _ch: number, queue: string, _op: string, ids: readonly MessageId[]) {
    const c = this.consumers.get(queue);
    if (c === undefined) return;
    c.credit += ids.length;
    this.pump(queue);
  }
  async cancel(): Promise<void> {}
  async channelClosed(): Promise<void> {}
  async connectionClosed(): Promise<void> {
    this.consumers.clear();
  }

  private pump(queue: string): void {
    const c = this.consumers.get(queue);
    let left = this.backlog.get(queue) ?? 0;
    if (c === undefined) return;
    while (c.credit > 0 && left > 0) {
      c.credit--;
      left--;
      const d: Delivery = {
        queue,
        id: left as MessageId,
        consumerTag: c.tag,
        redelivered: false,
        deliveryCount: 0,
        exchange: "",
        routingKey: queue,
        properties: { deliveryMode: 2, contentType: "application/octet-stream" },
        body: this.body,
      };
      c.sink.deliver(d);
    }
    this.backlog.set(queue, left);
  }
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const broker = new StubBroker();
  const server = await startAmqpServer({
    broker: broker as unknown as Broker,
    config: {
      host: "127.0.0.1",
      port: 0,
      heartbeat: 0,
      frameMax: 131_072,
      channelMax: 2047,
      maxMessageSize: 128 * 1024 * 1024,
    },
    logger: pino({ level: "warn" }),
  });
  try {
    for (const scenario of ["publish", "consume"] as const) {
      const perRun: { msgPerSec: number; doorUsPerMsg: number }[] = [];
      for (let run = 0; run < o.runs; run++) {
        const queue = `door-${scenario}-${run}`;
        if (scenario === "consume") broker.backlog.set(queue, o.messages);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        await inChild({ port: server.port, scenario, queue, messages: o.messages });
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        perRun.push({
          msgPerSec: Math.round((o.messages / ms) * 1000),
          doorUsPerMsg: Number(((cpu.user + cpu.system) / o.messages).toFixed(2)),
        });
      }
      const med = (k: "msgPerSec" | "doorUsPerMsg") =>
        perRun.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(perRun.length / 2)];
      console.log(
        JSON.stringify({
          scenario,
          messages: o.messages,
          msgPerSec: med("msgPerSec"),
          doorUsPerMsg: med("doorUsPerMsg"),
          perRun,
          load: loadavg().map((l) => l.toFixed(2)),
        }),
      );
    }
  } finally {
    await server.close();
  }
}

function inChild(job: DoorClientJob): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--client", JSON.stringify(job)], {
      execArgv: ["--import", "tsx"],
    });
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`client exited ${code}`))));
  });
}

if (process.argv[2] === "--client") {
  runDoorClient(JSON.parse(process.argv[3] ?? "{}") as DoorClientJob).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
