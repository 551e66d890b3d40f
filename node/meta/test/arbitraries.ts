/**
 * Random metadata commands over small name pools, weighted so that entities exist, collide, get
 * bound and cascade often (checked with a sampling script: most binds and declares succeed).
 */
import fc from "fast-check";
import type { MetaMachine } from "../machine.js";
import type { MetaCommand } from "../types.js";

const QUEUES = ["q1", "q2", "q3"];
const CONNECTIONS = ["c1", "c2"];
const NODES = ["n1", "n2"];
const KEYS = ["", "k", "#", "1"];

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });
// Mostly "/": commands in a vhost that does not exist only exercise the 404 path.
const vhost = fc.constantFrom("/", "/", "/", "/", "v");
const conn = opt(fc.constantFrom(...CONNECTIONS));
const exchangeName = fc.constantFrom("a", "b", "c", "a", "b", "c", "amq.direct", "");
// Usually valid, sometimes not (x-match "s", ttl -1), so refusals and successes both occur.
const args = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 4 },
  { arbitrary: fc.constant({ "x-match": "any", a: 1 }), weight: 2 },
  { arbitrary: fc.constant({ a: 1, "x-match": "any" }), weight: 1 },
  {
    arbitrary: fc.dictionary(
      fc.constantFrom("x-match", "x-message-ttl", "alternate-exchange", "a"),
      fc.constantFrom<unknown>("any", "all", 5, "s", -1),
    ),
    weight: 1,
  },
);

/** Each name mostly keeps its type and flags so redeclares agree; now and then they clash (406). `b` auto-deletes. */
const EXCHANGE_SPECS: ReadonlyArray<readonly [string, string, boolean, boolean]> = [
  ["a", "topic", true, false],
  ["a", "topic", true, false],
  ["a", "topic", true, false],
  ["b", "fanout", false, true],
  ["b", "fanout", false, true],
  ["b", "fanout", false, true],
  ["c", "headers", true, false],
  ["c", "headers", true, false],
  ["c", "x-consistent-hash", true, false],
  ["a", "direct", false, true],
  ["amq.direct", "direct", true, false],
  ["", "direct", true, false],
];

/** Placeholder source of an unbind that names an existing binding, resolved by `clean`. */
const EXISTING = "@existing";

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });

/** Fields may be undefined (fc.option nil); `clean` strips them as msgpack decoding would. */
export const command = fc.oneof(
  w(1, fc.record({ type: fc.constant("vhost.create" as const), name: fc.constant("v") })),
  w(1, fc.record({ type: fc.constant("vhost.delete" as const), name: fc.constant("v") })),
  w(
    10,
    fc
      .tuple(vhost, fc.constantFrom(...EXCHANGE_SPECS))
      .map(([vhost, [name, exchangeType, durable, autoDelete]]) => ({
        type: "exchange.declare" as const,
        vhost,
        name,
        exchangeType,
        durable,
        autoDelete,
      })),
  ),
  w(
    2,
    fc.record({
      type: fc.constant("exchange.delete" as const),
      vhost,
      name: exchangeName,
      ifUnused: fc.boolean(),
    }),
  ),
  w(
    6,
    fc.record({
      type: fc.constant("queue.declare" as const),
      vhost,
      name: fc.constantFrom(...QUEUES, ""),
      generatedName: fc.constantFrom("amq.gen-x", "amq.gen-y"),
      durable: fc.boolean(),
      exclusive: fc.constantFrom(false, false, true),
      autoDelete: fc.boolean(),
      arguments: fc.constant(undefined),
      connection: conn,
      node: fc.constantFrom(...NODES),
      placement: fc.constant({ members: NODES, leader: "n1" }),
    }),
  ),
  w(
    2,
    fc.record({
      type: fc.constant("queue.delete" as const),
      vhost,
      name: fc.constantFrom(...QUEUES, "amq.gen-x"),
      connection: conn,
    }),
  ),
  w(
    10,
    fc
      .tuple(
        fc.constantFrom("binding.add" as const, "binding.add" as const, "binding.remove" as const),
        vhost,
        exchangeName,
        fc.oneof(
          fc.tuple(fc.constant("queue" as const), fc.constantFrom(...QUEUES, "amq.gen-x")),
          fc.tuple(fc.constant("exchange" as const), exchangeName),
        ),
        fc.constantFrom(...KEYS),
        args,
        conn,
      )
      .map(([type, vhost, source, [destinationKind, destination], routingKey, args, connection]) => ({
        type,
        vhost,
        source,
        destinationKind,
        destination,
        routingKey,
        arguments: args,
        connection,
      })),
  ),
  // Unbind an existing binding (picked at run time), so removals and auto-delete cascades happen often.
  w(
    4,
    fc.nat(50).map((n) => ({
      type: "binding.remove" as const,
      vhost: "/",
      source: EXISTING,
      destinationKind: "queue" as const,
      destination: "",
      routingKey: String(n),
    })),
  ),
  w(
    1,
    fc.record({
      type: fc.constant("connection.closed" as const),
      connection: fc.constantFrom(...CONNECTIONS),
    }),
  ),
  w(1, fc.record({ type: fc.constant("node.down" as const), node: fc.constantFrom(...NODES) })),
  w(
    2,
    fc.record({
      type: fc.constant("user.put" as const),
      name: fc.constantFrom("guest", "ann"),
      passwordHash: opt(fc.constantFrom("h1", "h2")),
    }),
  ),
  w(1, fc.record({ type: fc.constant("user.delete" as const), name: fc.constantFrom("guest", "ann") })),
  w(
    2,
    fc.record({
      type: fc.constant("permission.set" as const),
      vhost,
      username: fc.constantFrom("guest", "ann"),
      configure: fc.constantFrom(".*", "^$", "("),
      write: fc.constant(".*"),
      read: fc.constant(".*"),
    }),
  ),
  w(
    1,
    fc.record({
      type: fc.constant("permission.delete" as const),
      vhost,
      username: fc.constantFrom("guest", "ann"),
    }),
  ),
  // Auto-delete / expiry proposals name whatever incarnation is current (resolved at run time).
  w(
    1,
    fc.record({
      type: fc.constant("queue.delete-internal" as const),
      vhost,
      name: fc.constantFrom(...QUEUES),
      incarnation: fc.constant(-1),
      reason: fc.constantFrom("auto-delete" as const, "expired" as const),
    }),
  ),
) as unknown as fc.Arbitrary<MetaCommand>;

export const commands = fc.array(command, { minLength: 20, maxLength: 100 });

/** Drops undefined fields (fc.option's nil) so commands look like decoded msgpack. */
export function clean(cmd: MetaCommand, m: MetaMachine): MetaCommand {
  const out = Object.fromEntries(Object.entries(cmd).filter(([, v]) => v !== undefined)) as MetaCommand;
  if (out.type === "binding.remove" && out.source === EXISTING) {
    const all = m.bindings();
    const b = all[Number(out.routingKey) % Math.max(1, all.length)];
    if (b === undefined) return { ...out, source: "a", destination: "q1", routingKey: "k" };
    const { connection } = out;
    return { type: "binding.remove", ...b, ...(connection === undefined ? {} : { connection }) };
  }
  if (out.type === "queue.delete-internal" && out.incarnation === -1) {
    return { ...out, incarnation: m.queue(out.vhost, out.name)?.createdIndex ?? 0 };
  }
  return out;
}
