/**
 * Queue and exchange arguments checked as RabbitMQ checks them (rabbit_amqqueue's declare
 * validators, rabbit_misc's equivalence): the same order, the same Erlang-term error texts, so a
 * client that matches on RabbitMQ's reply text sees the same one. Unknown arguments are accepted
 * and kept, as RabbitMQ does.
 */
import { WarrenError } from "../errors.js";
import {
  describeArg,
  describeField,
  erlString,
  erlTerm,
  fieldTypeName,
  isInteger,
  isStringLike,
  type ResourceKind,
  rs,
  sameArg,
  textOf,
} from "./format.js";
import type { FieldTable, FieldValue } from "./types.js";

/** RabbitMQ's ?MAX_EXPIRY_TIMER: TTLs and expiries are 32-bit unsigned milliseconds. */
const MAX_EXPIRY_MS = 4_294_967_295;
/** RabbitMQ's ?MAX_SUPPORTED_PRIORITY. */
const MAX_PRIORITY = 255;

type Check = (v: FieldValue, args: FieldTable) => string | undefined;

const expectInt: Check = (v) =>
  isInteger(v) ? undefined : erlString(`expected integer, got ${fieldTypeName(v)}`);

const nonNegInt: Check = (v, a) => expectInt(v, a) ?? (Number(v) < 0 ? `{value_negative,${v}}` : undefined);

function expiry(v: FieldValue): string | undefined {
  if (Number(v) > MAX_EXPIRY_MS) return `{value_too_big,${v}}`;
  if (Number(v) < 0) return `{value_negative,${v}}`;
  return undefined;
}

function oneOf(values: readonly string[], invalid: (s: string) => string): Check {
  return (v) => {
    if (!isStringLike(v)) return `{unacceptable_type,${fieldTypeName(v)}}`;
    return values.includes(textOf(v)) ? undefined : invalid(textOf(v));
  };
}

const stringArg: Check = (v) => (isStringLike(v) ? undefined : `{unacceptable_type,${fieldTypeName(v)}}`);

const boolArg: Check = (v) =>
  typeof v === "boolean" ? undefined : `{unacceptable_type,${fieldTypeName(v)}}`;

/** The queue types RabbitMQ knows (Warren runs classic, as replicated or transient, and quorum). */
const KNOWN_QUEUE_TYPES = ["classic", "quorum", "stream"];

/** rabbit_amqqueue:declare_args(), in its order (the first failing argument is the one reported). */
const VALIDATORS: ReadonlyArray<readonly [string, Check]> = [
  ["x-expires", (v, a) => expectInt(v, a) ?? (Number(v) === 0 ? "{value_zero,0}" : expiry(v))],
  ["x-message-ttl", (v, a) => expectInt(v, a) ?? expiry(v)],
  ["x-dead-letter-exchange", stringArg],
  [
    "x-dead-letter-routing-key",
    (v, a) =>
      stringArg(v, a) ??
      (a["x-dead-letter-exchange"] === undefined ? "routing_key_but_no_dlx_defined" : undefined),
  ],
  ["x-dead-letter-strategy", oneOf(["at-most-once", "at-least-once"], () => "invalid_dlx_strategy")],
  ["x-max-length", nonNegInt],
  ["x-max-length-bytes", nonNegInt],
  ["x-max-in-memory-length", nonNegInt],
  ["x-max-in-memory-bytes", nonNegInt],
  [
    "x-max-priority",
    (v, a) => nonNegInt(v, a) ?? (Number(v) > MAX_PRIORITY ? `{max_value_exceeded,${v}}` : undefined),
  ],
  ["x-overflow", oneOf(["drop-head", "reject-publish", "reject-publish-dlx"], () => "invalid_overflow")],
  ["x-queue-mode", oneOf(["default", "lazy"], (s) => erlString(`unsupported queue mode '${s}'`))],
  [
    "x-queue-version",
    (v, a) =>
      nonNegInt(v, a) ??
      ([1, 2].includes(Number(v)) ? undefined : erlString(`unsupported queue version '${v}'`)),
  ],
  ["x-single-active-consumer", boolArg],
  ["x-queue-type", oneOf(KNOWN_QUEUE_TYPES, (s) => erlString(`unsupported queue type '${s}'`))],
  [
    "x-quorum-initial-group-size",
    (v, a) => nonNegInt(v, a) ?? (Number(v) === 0 ? "{value_zero,0}" : undefined),
  ],
  // RabbitMQ 4 semantics: a negative limit means "no limit".
  ["x-delivery-limit", expectInt],
  [
    "x-max-age",
    (v) => (typeof v === "string" && /^[1-9][0-9]*[YMDhms]$/.test(v) ? undefined : "invalid_max_age"),
  ],
  ["x-stream-max-segment-size-bytes", nonNegInt],
  ["x-stream-filter-size-bytes", nonNegInt],
  ["x-initial-cluster-size", (v, a) => nonNegInt(v, a) ?? (Number(v) === 0 ? "{value_zero,0}" : undefined)],
  [
    "x-queue-leader-locator",
    oneOf(["client-local", "balanced", "random", "least-leaders"], () => "invalid_queue_locator_arg"),
  ],
];

/** Per-type queue_arguments lists (rabbit_classic_queue / rabbit_quorum_queue capabilities). */
const CLASSIC_ARGS = [
  "x-expires",
  "x-message-ttl",
  "x-dead-letter-exchange",
  "x-dead-letter-routing-key",
  "x-max-length",
  "x-max-length-bytes",
  "x-max-priority",
  "x-overflow",
  "x-queue-mode",
  "x-queue-version",
  "x-single-active-consumer",
  "x-queue-type",
  "x-queue-master-locator",
];
const QUORUM_ARGS = [
  "x-dead-letter-exchange",
  "x-dead-letter-routing-key",
  "x-dead-letter-strategy",
  "x-expires",
  "x-max-length",
  "x-max-length-bytes",
  "x-max-in-memory-length",
  "x-max-in-memory-bytes",
  "x-overflow",
  "x-single-active-consumer",
  "x-queue-type",
  "x-quorum-initial-group-size",
  "x-delivery-limit",
  "x-message-ttl",
  "x-queue-leader-locator",
];
const STREAM_ARGS = [
  "x-max-age",
  "x-stream-max-segment-size-bytes",
  "x-stream-filter-size-bytes",
  "x-initial-cluster-size",
];
const ALL_KNOWN = new Set([...CLASSIC_ARGS, ...QUORUM_ARGS, ...STREAM_ARGS]);

/**
 * Arguments a declare may carry, by declared type. A queue declared `classic` (or without a type)
 * may carry quorum arguments too: Warren runs it as a replicated or transient queue that honours
 * both sets, where RabbitMQ would refuse them on a classic queue.
 */
const ALLOWED: Record<string, ReadonlySet<string>> = {
  classic: new Set([...CLASSIC_ARGS, ...QUORUM_ARGS]),
  quorum: new Set(QUORUM_ARGS),
};
const RABBIT_MODULE: Record<string, string> = {
  classic: "rabbit_classic_queue",
  quorum: "rabbit_quorum_queue",
};

/** Arguments compared on redeclare: every one Warren interprets (RabbitMQ compares its type's list). */
const COMPARED_QUEUE_ARGS = [...new Set([...CLASSIC_ARGS, ...QUORUM_ARGS])];

function precondition(message: string): WarrenError {
  return new WarrenError("PRECONDITION_FAILED", message);
}

/** The declared `x-queue-type` ("classic" when absent), checked first as RabbitMQ does. */
export function declaredQueueType(vhost: string, name: string, args: FieldTable): "classic" | "quorum" {
  const t = args["x-queue-type"];
  if (t === undefined) return "classic";
  const where = `invalid arg 'x-queue-type' for ${rs("queue", vhost, name)}`;
  if (!isStringLike(t)) throw precondition(`${where}: {unacceptable_type,${fieldTypeName(t)}}`);
  const s = textOf(t);
  // Streams are a RabbitMQ type Warren does not run: refused as an unknown type would be.
  if (s !== "classic" && s !== "quorum")
    throw precondition(`${where}: ${erlString(`unsupported queue type '${s}'`)}`);
  return s;
}

/** rabbit_amqqueue:check_declare_arguments/2 for a new queue. Throws PRECONDITION_FAILED. */
export function checkQueueArguments(vhost: string, name: string, args: FieldTable): "classic" | "quorum" {
  const dlx = args["x-dead-letter-exchange"];
  if (dlx !== undefined && !isStringLike(dlx)) {
    // rabbit_channel checks the DLX's type before the queue validators run.
    throw precondition(
      `invalid type '${fieldTypeName(dlx)}' for arg 'x-dead-letter-exchange' in ${rs("queue", vhost, name)}`,
    );
  }
  const type = declaredQueueType(vhost, name, args);
  const allowed = ALLOWED[type] as ReadonlySet<string>;
  for (const [key, check] of VALIDATORS) {
    const v = args[key];
    if (v === undefined || !allowed.has(key)) continue;
    const err = check(v, args);
    if (err !== undefined) throw precondition(`invalid arg '${key}' for ${rs("queue", vhost, name)}: ${err}`);
  }
  for (const key of Object.keys(args)) {
    if (ALL_KNOWN.has(key) && !allowed.has(key)) {
      throw precondition(
        `invalid arg '${key}' for ${rs("queue", vhost, name)} of queue type ${RABBIT_MODULE[type]}`,
      );
    }
  }
  return type;
}

/** rabbit_misc:assert_field_equivalence/4 for a plain property. */
export function assertFieldEquivalence(
  kind: ResourceKind,
  vhost: string,
  name: string,
  field: string,
  current: string | boolean,
  received: string | boolean,
): void {
  if (current === received) return;
  throw precondition(
    `inequivalent arg '${field}' for ${rs(kind, vhost, name)}: received ${describeField(received)} but current is ${describeField(current)}`,
  );
}

/** rabbit_misc:assert_args_equivalence/4 over `keys`. */
export function assertArgsEquivalence(
  kind: ResourceKind,
  vhost: string,
  name: string,
  current: FieldTable,
  received: FieldTable,
  keys: readonly string[],
): void {
  for (const key of keys) {
    const a = current[key];
    const b = received[key];
    if (sameArg(a, b)) continue;
    // rabbitmq-common#341: a missing x-queue-type and "classic" are the same.
    if (key === "x-queue-type" && isClassicOrAbsent(a) && isClassicOrAbsent(b)) continue;
    throw precondition(
      `inequivalent arg '${key}' for ${rs(kind, vhost, name)}: received ${describeArg(b)} but current is ${describeArg(a)}`,
    );
  }
}

function isClassicOrAbsent(v: FieldValue): boolean {
  return v === undefined || (isStringLike(v) && textOf(v) === "classic");
}

export function assertQueueArgsEquivalence(
  vhost: string,
  name: string,
  current: FieldTable,
  received: FieldTable,
): void {
  assertArgsEquivalence("queue", vhost, name, current, received, COMPARED_QUEUE_ARGS);
}

/** Exchange arguments: RabbitMQ compares only `alternate-exchange`. */
export function assertExchangeArgsEquivalence(
  vhost: string,
  name: string,
  current: FieldTable,
  received: FieldTable,
): void {
  assertArgsEquivalence("exchange", vhost, name, current, received, ["alternate-exchange"]);
}

/** Checks on a new exchange's arguments (rabbit_channel + the exchange type's validate/1). */
export function checkExchangeArguments(vhost: string, name: string, type: string, args: FieldTable): void {
  const ae = args["alternate-exchange"];
  if (ae !== undefined && !isStringLike(ae)) {
    throw precondition(
      `invalid type '${fieldTypeName(ae)}' for arg 'alternate-exchange' in ${rs("exchange", vhost, name)}`,
    );
  }
  if (type !== "x-consistent-hash") return;
  const header = args["hash-header"];
  const property = args["hash-property"];
  if (header !== undefined && property !== undefined) {
    throw precondition("hash-header and hash-property are mutually exclusive");
  }
  if (property !== undefined) {
    const p = isStringLike(property) ? textOf(property) : erlTerm(property);
    if (!["correlation_id", "message_id", "timestamp"].includes(p))
      throw precondition(`Unsupported property: ${p}`);
  }
}

/** The exchange type's validate_binding/2: headers `x-match`, consistent-hash weights. */
export function checkBinding(exchangeType: string, routingKey: string, args: FieldTable): void {
  if (exchangeType === "headers") {
    const m = args["x-match"];
    if (m === undefined) return;
    if (typeof m !== "string") {
      throw precondition(
        `Invalid x-match field type ${fieldTypeName(m)} (value ${erlTerm(m)}); expected longstr`,
      );
    }
    if (!["all", "any", "all-with-x", "any-with-x"].includes(m)) {
      throw precondition(
        `Invalid x-match field value ${erlTerm(m)}; expected all, any, all-with-x, or any-with-x`,
      );
    }
  } else if (exchangeType === "x-consistent-hash") {
    if (!/^[+-]?[0-9]+$/.test(routingKey)) {
      throw precondition(`The binding key must be an integer: ${erlTerm(routingKey)}`);
    }
    if (Number(routingKey) < 1) throw precondition("The binding key must be greater than 0");
  }
}
