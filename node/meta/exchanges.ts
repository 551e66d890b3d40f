/**
 * exchange.declare and exchange.delete, in rabbit_channel's order of checks:
 * type, default exchange, existence, reserved name, arguments, then equivalence.
 */
import { WarrenError } from "../errors.js";
import { assertExchangeArgsEquivalence, assertFieldEquivalence, checkExchangeArguments } from "./args.js";
import {
  type ApplyContext,
  checkName,
  checkNotDefaultExchange,
  notFound,
  requireVHost,
  stripCrLf,
} from "./context.js";
import { rs } from "./format.js";
import { cleanTable } from "./store.js";
import {
  EXCHANGE_TYPES,
  type ExchangeDeclare,
  type ExchangeDelete,
  type ExchangeRecord,
  type ExchangeType,
  type MetaReplies,
} from "./types.js";

function checkType(type: string): ExchangeType {
  if (!(EXCHANGE_TYPES as readonly string[]).includes(type)) {
    throw new WarrenError("PRECONDITION_FAILED", `unknown exchange type '${type}'`);
  }
  return type as ExchangeType;
}

export function declareExchange(ctx: ApplyContext, cmd: ExchangeDeclare): MetaReplies["exchange.declare"] {
  const name = stripCrLf(cmd.name);
  requireVHost(ctx, cmd.vhost);
  if (cmd.passive === true) {
    checkNotDefaultExchange(name);
    const found = ctx.store.exchange(cmd.vhost, name);
    if (found === undefined) throw notFound("exchange", cmd.vhost, name);
    return { created: false, exchange: found };
  }
  const type = checkType(cmd.exchangeType);
  checkNotDefaultExchange(name);
  const args = cleanTable(cmd.arguments);
  const durable = cmd.durable ?? false;
  const autoDelete = cmd.autoDelete ?? false;
  const internal = cmd.internal ?? false;
  const existing = ctx.store.exchange(cmd.vhost, name);
  if (existing !== undefined) {
    assertEquivalent(existing, type, durable, autoDelete, internal, args);
    return { created: false, exchange: existing };
  }
  checkName("exchange", name);
  checkExchangeArguments(cmd.vhost, name, type, args);
  const exchange: ExchangeRecord = {
    vhost: cmd.vhost,
    name,
    type,
    durable,
    autoDelete,
    internal,
    arguments: args,
    system: false,
    createdIndex: ctx.index,
    createdAt: ctx.time,
    createdBy: cmd.user,
  };
  ctx.store.putExchange(exchange);
  ctx.changes.push({ type: "exchange-declared", exchange });
  return { created: true, exchange };
}

/** rabbit_exchange:assert_equivalence/6: type, durable, auto_delete, internal, alternate-exchange. */
function assertEquivalent(
  x: ExchangeRecord,
  type: ExchangeType,
  durable: boolean,
  autoDelete: boolean,
  internal: boolean,
  args: Readonly<Record<string, unknown>>,
): void {
  assertFieldEquivalence("exchange", x.vhost, x.name, "type", x.type, type);
  assertFieldEquivalence("exchange", x.vhost, x.name, "durable", x.durable, durable);
  assertFieldEquivalence("exchange", x.vhost, x.name, "auto_delete", x.autoDelete, autoDelete);
  assertFieldEquivalence("exchange", x.vhost, x.name, "internal", x.internal, internal);
  assertExchangeArgsEquivalence(x.vhost, x.name, x.arguments, args);
}

export function deleteExchange(ctx: ApplyContext, cmd: ExchangeDelete): MetaReplies["exchange.delete"] {
  const name = stripCrLf(cmd.name);
  requireVHost(ctx, cmd.vhost);
  checkNotDefaultExchange(name);
  if (name.startsWith("amq.")) {
    throw new WarrenError(
      "ACCESS_REFUSED",
      `deletion of system ${rs("exchange", cmd.vhost, name)} not allowed`,
    );
  }
  const x = ctx.store.exchange(cmd.vhost, name);
  // RabbitMQ answers delete-ok for an exchange that does not exist.
  if (x === undefined) return { deleted: false };
  if (cmd.ifUnused === true && ctx.store.hasBindingsFrom(cmd.vhost, name)) {
    throw new WarrenError("PRECONDITION_FAILED", `${rs("exchange", cmd.vhost, name)} in use`);
  }
  ctx.store.deleteExchange(x, "deleted", ctx.changes);
  return { deleted: true };
}
