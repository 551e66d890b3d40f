import { pack, unpack } from "msgpackr";
import { describe, expect, it } from "vitest";
import { parseQueueArguments } from "../config.js";
import { QueueMachine } from "../machine.js";
import type { QueueCommand } from "../types.js";

const commands: QueueCommand[] = [
  {
    type: "checkout",
    consumer: { connection: "n1/c1", channel: 1, tag: "amq.ctag-1" },
    prefetch: 2,
    noAck: false,
    exclusive: false,
    priority: 1,
  },
  {
    type: "enqueue",
    exchange: "orders",
    routingKeys: ["new", "cc"],
    properties: {
      contentType: "application/json",
      headers: { "x-retry-count": 2, nested: { a: [1, "b"] } },
      expiration: "60000",
      deliveryMode: 2,
    },
    body: new TextEncoder().encode('{"id":1}'),
    publisher: { id: "n1/c1/1", seq: 7 },
  },
  { type: "enqueue", exchange: "", routingKeys: ["q"], properties: {}, body: new Uint8Array(0) },
  { type: "settle", op: "reject", connection: "n1/c1", channel: 1, ids: [2] },
  { type: "get", connection: "n1/c1", channel: 2, noAck: false },
  { type: "down", connection: "n1/c1", channel: 2 },
  { type: "tick" },
  { type: "dead-letter-settled", ids: [2] },
  { type: "purge" },
  { type: "touch" },
  { type: "cancel", consumer: { connection: "n1/c1", channel: 1, tag: "amq.ctag-1" } },
];

describe("commands and results on the wire", () => {
  it("survive a msgpackr round trip (as the Raft host encodes them) with identical results", () => {
    const config = parseQueueArguments("q", { "x-dead-letter-exchange": "dlx", "x-message-ttl": 1000 });
    const direct = new QueueMachine(config);
    const wire = new QueueMachine(config);
    commands.forEach((cmd, i) => {
      const meta = { group: "q", index: i + 1, term: 1, time: 1_700_000_000_000 + i };
      const a = direct.apply(meta, cmd);
      const [time, decoded] = unpack(pack([meta.time, cmd])) as [number, QueueCommand];
      const b = wire.apply({ ...meta, time }, decoded);
      expect(unpack(pack(b))).toEqual(a);
    });
    expect(Buffer.compare(wire.snapshot().state, direct.snapshot().state)).toBe(0);
  });
});

describe("unknown commands", () => {
  it("are refused the same way on every replica instead of crashing the log", () => {
    const m = new QueueMachine(parseQueueArguments("q", {}));
    const r = m.apply({ group: "q", index: 1, term: 1, time: 0 }, {
      type: "from-the-future",
    } as unknown as QueueCommand);
    expect(r).toEqual({
      reply: { type: "error", code: "NOT_IMPLEMENTED", message: "unknown queue command from-the-future" },
      effects: [],
    });
  });
});
