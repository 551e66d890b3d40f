/**
 * Checks RabbitMQ makes when an exchange is declared or a binding created, exposed so the
 * metadata machine can turn them into client errors before the command reaches the table.
 * `code` names the AMQP condition: `command_invalid` (503, hard) for an unknown exchange type,
 * `precondition_failed` (406, soft) for invalid arguments or binding keys.
 */
import { parseWeight } from "./consistent-hash.js";
import { stringArg } from "./field-values.js";
import { X_MATCH_MODES } from "./headers-match.js";
import { EXCHANGE_TYPES, type ExchangeType, type FieldTable } from "./types.js";

export interface ValidationError {
  readonly code: "command_invalid" | "precondition_failed";
  readonly message: string;
}

/** The message properties `hash-property` may name, as the plugin. */
export const HASH_PROPERTIES = ["correlation_id", "message_id", "timestamp"] as const;

export function isExchangeType(t: string): t is ExchangeType {
  return (EXCHANGE_TYPES as readonly string[]).includes(t);
}

export function validateExchange(type: string, args: FieldTable): ValidationError | undefined {
  if (!isExchangeType(type)) return { code: "command_invalid", message: `unknown exchange type '${type}'` };
  const ae = args["alternate-exchange"];
  if (ae !== undefined && stringArg(ae) === undefined) {
    return { code: "precondition_failed", message: "invalid arg 'alternate-exchange': expected a string" };
  }
  if (type === "x-consistent-hash") {
    const header = args["hash-header"];
    const property = args["hash-property"];
    if (header !== undefined && property !== undefined) {
      return { code: "precondition_failed", message: "hash-header and hash-property are mutually exclusive" };
    }
    if (header !== undefined && stringArg(header) === undefined) {
      return { code: "precondition_failed", message: "hash-header must be a string" };
    }
    if (property !== undefined && !(HASH_PROPERTIES as readonly unknown[]).includes(stringArg(property))) {
      return {
        code: "precondition_failed",
        message: `Unsupported property: ${String(stringArg(property) ?? property)}`,
      };
    }
  }
  return undefined;
}

export function validateBinding(
  type: ExchangeType,
  routingKey: string,
  args: FieldTable,
): ValidationError | undefined {
  if (type === "headers" && args["x-match"] !== undefined) {
    const m = args["x-match"];
    if (typeof m !== "string") {
      return { code: "precondition_failed", message: "Invalid x-match field type; expected longstr" };
    }
    if (!(X_MATCH_MODES as readonly string[]).includes(m)) {
      return {
        code: "precondition_failed",
        message: `Invalid x-match field value "${m}"; expected all, any, all-with-x, or any-with-x`,
      };
    }
  }
  if (type === "x-consistent-hash") {
    const w = parseWeight(routingKey);
    if (typeof w === "string") return { code: "precondition_failed", message: w };
  }
  return undefined;
}
