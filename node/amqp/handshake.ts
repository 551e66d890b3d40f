/**
 * The connection handshake's pure parts: what connection.start offers, how SASL responses are
 * read, and how tune values are negotiated (RabbitMQ's rabbit_reader rules and texts).
 */
import { WarrenError } from "../errors.js";

/** The extensions clients look for in server_properties.capabilities (RabbitMQ's list). */
export const SERVER_CAPABILITIES = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  "basic.nack": true,
  consumer_cancel_notify: true,
  "connection.blocked": true,
  consumer_priorities: true,
  authentication_failure_close: true,
  per_consumer_qos: true,
  direct_reply_to: true,
} as const;

export const MECHANISMS = ["PLAIN", "AMQPLAIN"] as const;

export function serverProperties(nodeId: string): Record<string, unknown> {
  return {
    product: "Warren",
    // Clients gate features on the version; we speak RabbitMQ 3.10's dialect.
    version: "3.10.0",
    platform: `Node.js ${process.version}`,
    cluster_name: "warren",
    node: nodeId,
    copyright: "Warren authors",
    information: "Replicated AMQP 0-9-1 broker with RabbitMQ semantics",
    capabilities: { ...SERVER_CAPABILITIES },
  };
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

function text(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("utf8");
  return undefined;
}

/**
 * Reads a start-ok response. PLAIN is `authzid \0 user \0 password`; AMQPLAIN is a field table
 * with LOGIN and PASSWORD (decoded by `decodeTable`). Anything unreadable is refused as a bad login.
 */
export function parseSaslResponse(
  mechanism: string,
  response: Uint8Array,
  decodeTable: (bytes: Uint8Array) => Record<string, unknown>,
): Credentials {
  if (mechanism === "PLAIN") {
    const parts = Buffer.from(response).toString("utf8").split("\u0000");
    if (parts.length !== 3) throw loginRefused(mechanism);
    return { username: parts[1] ?? "", password: parts[2] ?? "" };
  }
  if (mechanism === "AMQPLAIN") {
    let t: Record<string, unknown>;
    try {
      t = decodeTable(response);
    } catch {
      throw loginRefused(mechanism);
    }
    const username = text(t.LOGIN);
    const password = text(t.PASSWORD);
    if (username === undefined || password === undefined) throw loginRefused(mechanism);
    return { username, password };
  }
  throw new WarrenError("COMMAND_INVALID", `unknown authentication mechanism '${mechanism}'`);
}

/** RabbitMQ's text for a refused login (authentication_failure_close: 403 then close). */
export function loginRefused(mechanism: string): WarrenError {
  return new WarrenError(
    "UNAUTHORIZED",
    `Login was refused using authentication mechanism ${mechanism}. For details see the broker logfile.`,
  );
}

/**
 * tune-ok: the client may lower frame_max/channel_max but not exceed the server's offer
 * (0 from the client means "no limit", which exceeds any non-zero offer). rabbit_reader texts.
 */
export function negotiate(
  field: "frame_max" | "channel_max",
  offered: number,
  min: number,
  client: number,
): number {
  if (client !== 0 && client < min) {
    throw new WarrenError(
      "NOT_ALLOWED",
      `negotiated ${field} = ${client} is lower than the minimum allowed value (${min})`,
    );
  }
  if (offered !== 0 && (client === 0 || client > offered)) {
    throw new WarrenError(
      "NOT_ALLOWED",
      `negotiated ${field} = ${client} is higher than the maximum allowed value (${offered})`,
    );
  }
  return client;
}
