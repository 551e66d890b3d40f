/** Drives a MetaMachine like the Raft host would: increasing indexes, a leader-stamped time. */
import type { ErrorData } from "../../errors.js";
import { MetaMachine } from "../machine.js";
import type { MetaChange, MetaCommand, MetaReplies, MetaResult } from "../types.js";

export const NODE = "n1";

export class Harness {
  machine = new MetaMachine();
  index = 0;
  time = 1_700_000_000_000;

  run<T extends MetaCommand>(cmd: T): MetaResult<T["type"]> {
    this.index++;
    this.time += 10;
    return this.machine.apply(
      { group: "meta", index: this.index, term: 1, time: this.time },
      cmd,
    ) as MetaResult<T["type"]>;
  }

  /** Applies a command that must succeed; returns its reply payload. */
  ok<T extends MetaCommand>(cmd: T): MetaReplies[T["type"]] & { changes: readonly MetaChange[] } {
    const r = this.run(cmd);
    if (!r.reply.ok)
      throw new Error(`expected ${cmd.type} to succeed: ${r.reply.error.code} ${r.reply.error.message}`);
    return { ...(r.reply as MetaReplies[T["type"]]), changes: r.changes };
  }

  /** Applies a command that must be refused; returns the error. */
  fail(cmd: MetaCommand): ErrorData {
    const before = this.machine.snapshot().state;
    const r = this.run(cmd);
    if (r.reply.ok) throw new Error(`expected ${cmd.type} to be refused`);
    if (r.changes.length !== 0) throw new Error("a refused command reported changes");
    if (Buffer.compare(Buffer.from(before), Buffer.from(this.machine.snapshot().state)) !== 0) {
      throw new Error("a refused command changed the state");
    }
    return r.reply.error;
  }
}

export function declareQueue(
  name: string,
  opts: Partial<Omit<Extract<MetaCommand, { type: "queue.declare" }>, "type" | "name">> = {},
): Extract<MetaCommand, { type: "queue.declare" }> {
  const durable = opts.durable ?? false;
  return {
    type: "queue.declare",
    vhost: "/",
    name,
    node: NODE,
    placement: { members: ["n1", "n2", "n3"], leader: "n1" },
    ...opts,
    durable,
  };
}

export function declareExchange(
  name: string,
  exchangeType = "direct",
  opts: Partial<
    Omit<Extract<MetaCommand, { type: "exchange.declare" }>, "type" | "name" | "exchangeType">
  > = {},
): Extract<MetaCommand, { type: "exchange.declare" }> {
  return { type: "exchange.declare", vhost: "/", name, exchangeType, ...opts };
}

export function bind(
  source: string,
  destination: string,
  routingKey = "",
  opts: Partial<Omit<Extract<MetaCommand, { type: "binding.add" }>, "type">> = {},
): Extract<MetaCommand, { type: "binding.add" }> {
  return {
    type: "binding.add",
    vhost: "/",
    source,
    destinationKind: "queue",
    destination,
    routingKey,
    ...opts,
  };
}

export function unbind(
  source: string,
  destination: string,
  routingKey = "",
  opts: Partial<Omit<Extract<MetaCommand, { type: "binding.remove" }>, "type">> = {},
): Extract<MetaCommand, { type: "binding.remove" }> {
  return {
    type: "binding.remove",
    vhost: "/",
    source,
    destinationKind: "queue",
    destination,
    routingKey,
    ...opts,
  };
}
