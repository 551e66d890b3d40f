/**
 * The raw client of bench/amqp/door.ts (runs in a worker thread): pre-encoded frames, one socket
 * write per batch, so that it costs the measured door as little as possible. `publish` keeps
 * 256 unconfirmed 1 KiB messages in flight; `consume` acks every delivery (prefetch 500).
 */
import { connect, type Socket } from "node:net";
import {
  encodeContentFrames,
  encodeMethodFrame,
  FrameParser,
  type Method,
  PROTOCOL_HEADER,
} from "../../node/amqp/codec/index.js";

const WINDOW = 256;
const PREFETCH = 500;

export interface DoorClientJob {
  readonly port: number;
  readonly scenario: "publish" | "consume";
  readonly queue: string;
  readonly messages: number;
}

class Client {
  private readonly parser = new FrameParser({ frameMax: 0, expectProtocolHeader: false });
  private waiter: { name: string; resolve: (m: Method) => void } | undefined;
  /** Called for each method the scenario handles itself (acks, deliveries). */
  onMethod: (m: Method) => void = () => {};
  /** Called once per socket read, after its frames (to write a batch). */
  onRead: () => void = () => {};

  constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      for (const f of this.parser.push(chunk)) {
        if (f.type !== "method") continue;
        const w = this.waiter;
        if (w !== undefined && f.method.name === w.name) {
          this.waiter = undefined;
          w.resolve(f.method);
        } else this.onMethod(f.method);
      }
      this.onRead();
    });
  }

  send(channel: number, m: Method): void {
    this.socket.write(encodeMethodFrame(channel, m));
  }

  expect(name: string): Promise<Method> {
    return new Promise((resolve) => {
      this.waiter = { name, resolve };
    });
  }

  async call(channel: number, m: Method, reply: string): Promise<Method> {
    const p = this.expect(reply);
    this.send(channel, m);
    return p;
  }
}

async function open(port: number): Promise<Client> {
  const socket = connect(port, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.setNoDelay(true);
  const c = new Client(socket);
  const start = c.expect("connection.start");
  socket.write(PROTOCOL_HEADER);
  await start;
  const tune = (await c.call(
    0,
    {
      name: "connection.start-ok",
      clientProperties: {},
      mechanism: "PLAIN",
      response: Buffer.from("\u0000guest\u0000guest"),
      locale: "en_US",
    },
    "connection.tune",
  )) as Extract<Method, { name: "connection.tune" }>;
  c.send(0, {
    name: "connection.tune-ok",
    channelMax: tune.channelMax,
    frameMax: tune.frameMax,
    heartbeat: 0,
  });
  await c.call(0, { name: "connection.open", virtualHost: "/" }, "connection.open-ok");
  await c.call(1, { name: "channel.open" }, "channel.open-ok");
  return c;
}

async function publish(c: Client, job: DoorClientJob): Promise<void> {
  await c.call(1, { name: "confirm.select", noWait: false }, "confirm.select-ok");
  const one = Buffer.concat([
    encodeMethodFrame(1, {
      name: "basic.publish",
      exchange: "",
      routingKey: job.queue,
      mandatory: false,
      immediate: false,
    }),
    ...encodeContentFrames(1, 60, { deliveryMode: 2 }, Buffer.alloc(1024, 1), 131_072),
  ]);
  const batch = Buffer.concat(Array.from({ length: WINDOW }, () => one));
  let sent = 0;
  let acked = 0;
  const refill = () => {
    const room = Math.min(WINDOW - (sent - acked), job.messages - sent);
    if (room <= 0) return;
    c.socket.write(room === WINDOW ? batch : batch.subarray(0, room * one.length));
    sent += room;
  };
  await new Promise<void>((resolve) => {
    c.onMethod = (m) => {
      if (m.name === "basic.ack") acked = Number(m.deliveryTag);
      else if (m.name === "basic.nack") throw new Error("nacked");
    };
    c.onRead = () => {
      if (acked >= job.messages) resolve();
      else refill();
    };
    refill();
  });
}

async function consume(c: Client, job: DoorClientJob): Promise<void> {
  await c.call(
    1,
    { name: "basic.qos", prefetchSize: 0, prefetchCount: PREFETCH, global: false },
    "basic.qos-ok",
  );
  const ack = encodeMethodFrame(1, { name: "basic.ack", deliveryTag: 1, multiple: false });
  const pending: Buffer[] = [];
  let got = 0;
  await new Promise<void>((resolve) => {
    c.onMethod = (m) => {
      if (m.name !== "basic.deliver") return;
      got++;
      const a = Buffer.from(ack);
      // basic.ack's delivery tag: after the frame header (7) and class/method ids (4).
      a.writeBigUInt64BE(BigInt(m.deliveryTag), 11);
      pending.push(a);
    };
    c.onRead = () => {
      if (pending.length > 0) c.socket.write(Buffer.concat(pending.splice(0)));
      if (got >= job.messages) resolve();
    };
    c.send(1, {
      name: "basic.consume",
      queue: job.queue,
      consumerTag: "door",
      noLocal: false,
      noAck: false,
      exclusive: false,
      noWait: false,
      arguments: {},
    });
  });
}

export async function runDoorClient(job: DoorClientJob): Promise<void> {
  const c = await open(job.port);
  if (job.scenario === "publish") await publish(c, job);
  else await consume(c, job);
  c.onMethod = () => {};
  c.onRead = () => {};
  await c.call(
    0,
    { name: "connection.close", replyCode: 200, replyText: "", classId: 0, methodId: 0 },
    "connection.close-ok",
  );
  c.socket.destroy();
}
