/**
 * Records of the broker -> the JSON objects RabbitMQ's management API returns (snake_case field
 * names, `arguments` as plain JSON), and the management API's message properties <-> AMQP
 * `MessageProperties`.
 *
 * Field tables may hold values JSON cannot carry (AMQP decodes bigint, byte arrays and dates);
 * `toJson` turns them into what RabbitMQ's management API shows: numbers, strings, seconds.
 */
import { createHash } from "node:crypto";
import type { Delivery, MessageProperties, NodeInfo, QueueInfo } from "../broker/types.js";
import { WarrenError } from "../errors.js";
import type {
  BindingRecord,
  ExchangeRecord,
  FieldTable,
  PermissionRecord,
  UserRecord,
  VHostRecord,
} from "../meta/index.js";

/** The default exchange is "" in AMQP and `amq.default` in management API paths. */
export const DEFAULT_EXCHANGE_ALIAS = "amq.default";

export function exchangeFromPath(name: string): string {
  return name === DEFAULT_EXCHANGE_ALIAS ? "" : name;
}

/** Any decoded AMQP field value -> a JSON value (bigint that fits -> number, bytes -> base64). */
export function toJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case "bigint":
      return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    case "number":
      return Number.isFinite(value) ? value : String(value);
    case "string":
    case "boolean":
      return value;
    case "object":
      if (value instanceof Date) return Math.floor(value.getTime() / 1000);
      if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
      if (Array.isArray(value)) return value.map(toJson);
      return Object.fromEntries(
        Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toJson(v)]),
      );
    default:
      return String(value);
  }
}

export function tableToJson(table: FieldTable | undefined): Record<string, unknown> {
  return (toJson(table ?? {}) as Record<string, unknown>) ?? {};
}

export function formatVhost(v: VHostRecord) {
  return { name: v.name, description: v.description, tags: [...v.tags], default_queue_type: "quorum" };
}

export function formatExchange(x: ExchangeRecord) {
  return {
    name: x.name,
    vhost: x.vhost,
    type: x.type,
    durable: x.durable,
    auto_delete: x.autoDelete,
    internal: x.internal,
    arguments: tableToJson(x.arguments),
    user_who_performed_action: x.createdBy ?? (x.system ? "rmq-internal" : ""),
  };
}

/**
 * RabbitMQ reports classic, quorum and stream queues; Warren's transient queues (exclusive,
 * auto-delete or non-durable, living on their home node) are what RabbitMQ calls classic.
 */
export function formatQueue(q: QueueInfo) {
  const r = q.record;
  return {
    name: r.name,
    vhost: r.vhost,
    durable: r.durable,
    auto_delete: r.autoDelete,
    exclusive: r.owner !== undefined,
    arguments: tableToJson(r.arguments),
    type: r.type === "quorum" ? "quorum" : "classic",
    node: q.leader ?? r.leader,
    leader: q.leader ?? null,
    members: [...q.members],
    state: q.state,
    messages: q.messages,
    messages_ready: q.messagesReady,
    messages_unacknowledged: q.messagesUnacknowledged,
    message_bytes: q.messageBytes,
    consumers: q.consumers,
  };
}

/**
 * RabbitMQ's `properties_key` names a binding in URLs: the routing key (quoted), then `~` and a
 * hash of the arguments when there are any; `~` alone for an empty key without arguments.
 * RabbitMQ hashes with Erlang's phash2; Warren uses the first 4 bytes of SHA-256 over the
 * arguments' JSON, so keys are stable in Warren but differ from RabbitMQ's for bindings with arguments.
 */
export function propertiesKey(routingKey: string, args: FieldTable): string {
  const quote = (s: string) => encodeURIComponent(s).replace(/~/g, "%7E");
  const json = tableToJson(args);
  if (Object.keys(json).length === 0) return routingKey === "" ? "~" : quote(routingKey);
  const hash = createHash("sha256").update(canonicalJson(json)).digest().subarray(0, 4).toString("base64url");
  return `${quote(routingKey)}~${quote(hash)}`;
}

/** JSON with object keys sorted at every depth: equal tables give equal text. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

export function formatBinding(b: BindingRecord) {
  return {
    source: b.source,
    vhost: b.vhost,
    destination: b.destination,
    destination_type: b.destinationKind,
    routing_key: b.routingKey,
    arguments: tableToJson(b.arguments),
    properties_key: propertiesKey(b.routingKey, b.arguments),
  };
}

export function formatUser(u: UserRecord) {
  return {
    name: u.name,
    password_hash: u.passwordHash ?? "",
    hashing_algorithm: u.hashingAlgorithm,
    tags: [...u.tags],
    limits: {},
  };
}

export function formatPermission(p: PermissionRecord) {
  return { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read };
}

export function formatNode(n: NodeInfo) {
  return {
    name: n.name,
    type: "disc",
    running: n.running,
    uptime: n.uptimeMs ?? 0,
    raft_listener: n.raft,
    amqp_listener: n.amqp ?? null,
    http_listener: n.http ?? null,
    leader_of: n.leaderOf,
  };
}

/** Tags come as a list or, as RabbitMQ's management API writes them, comma-separated. */
export function parseTags(tags: string | readonly string[] | undefined): string[] {
  if (tags === undefined) return [];
  const list = typeof tags === "string" ? tags.split(",") : tags;
  return list.map((t) => t.trim()).filter((t) => t !== "");
}

// ---------------------------------------------------------------------------------------------
// Message properties (management API names <-> AMQP basic properties)
// ---------------------------------------------------------------------------------------------

/** The management API's `properties` object, as publish accepts and get returns it. */
export interface JsonProperties {
  content_type?: string;
  content_encoding?: string;
  headers?: Record<string, unknown>;
  delivery_mode?: number;
  priority?: number;
  correlation_id?: string;
  reply_to?: string;
  expiration?: string;
  message_id?: string;
  timestamp?: number;
  type?: string;
  user_id?: string;
  app_id?: string;
}

const STRING_PROPS = [
  ["content_type", "contentType"],
  ["content_encoding", "contentEncoding"],
  ["correlation_id", "correlationId"],
  ["reply_to", "replyTo"],
  ["expiration", "expiration"],
  ["message_id", "messageId"],
  ["type", "type"],
  ["user_id", "userId"],
  ["app_id", "appId"],
] as const;

export function propertiesFromJson(p: JsonProperties | undefined): MessageProperties {
  const out: MessageProperties = {};
  if (!p) return out;
  for (const [json, amqp] of STRING_PROPS) {
    const v = p[json];
    if (v !== undefined) out[amqp] = v;
  }
  if (p.headers !== undefined) out.headers = { ...p.headers };
  if (p.delivery_mode !== undefined) out.deliveryMode = p.delivery_mode;
  if (p.priority !== undefined) out.priority = p.priority;
  if (p.timestamp !== undefined) out.timestamp = p.timestamp;
  return out;
}

export function propertiesToJson(p: MessageProperties): JsonProperties {
  const out: JsonProperties = {};
  for (const [json, amqp] of STRING_PROPS) {
    const v = p[amqp];
    if (v !== undefined) out[json] = v;
  }
  if (p.headers !== undefined) out.headers = toJson(p.headers) as Record<string, unknown>;
  if (p.deliveryMode !== undefined) out.delivery_mode = p.deliveryMode;
  if (p.priority !== undefined) out.priority = p.priority;
  if (p.timestamp !== undefined) out.timestamp = toJson(p.timestamp) as number;
  return out;
}

export type PayloadEncoding = "auto" | "base64";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** `encoding: auto` gives the payload as a string when it is valid UTF-8, else base64 (as RabbitMQ). */
export function encodePayload(
  body: Uint8Array,
  encoding: PayloadEncoding,
  truncate: number | undefined,
): { payload: string; payload_encoding: "string" | "base64" } {
  const bytes = truncate !== undefined && body.length > truncate ? body.subarray(0, truncate) : body;
  if (encoding === "auto") {
    try {
      return { payload: strictUtf8.decode(bytes), payload_encoding: "string" };
    } catch {
      // not UTF-8: fall through to base64
    }
  }
  return { payload: Buffer.from(bytes).toString("base64"), payload_encoding: "base64" };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodePayload(payload: string, encoding: "string" | "base64"): Uint8Array {
  if (encoding === "string") return Buffer.from(payload, "utf8");
  const compact = payload.replace(/\s+/g, "");
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new WarrenError("BAD_REQUEST", "payload is not valid base64");
  }
  return Buffer.from(compact, "base64");
}

/** A delivered (or got) message as the management API's get returns it. */
export function formatMessage(d: Delivery, encoding: PayloadEncoding, truncate: number | undefined) {
  return {
    payload_bytes: d.body.length,
    redelivered: d.redelivered,
    exchange: d.exchange,
    routing_key: d.routingKey,
    properties: propertiesToJson(d.properties),
    ...encodePayload(d.body, encoding, truncate),
  };
}
