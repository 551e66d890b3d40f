/**
 * JSON schemas shared by the routes. fastify validates params, query strings and bodies with
 * them (a mismatch is a 400 `bad_request`), serialises responses through them, and
 * @fastify/swagger publishes them at /api/docs.
 */

export const errorSchema = {
  type: "object",
  properties: { error: { type: "string" }, reason: { type: "string" } },
  required: ["error", "reason"],
} as const;

/** Responses every authenticated route may give. */
export const authErrors = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  404: errorSchema,
  503: errorSchema,
} as const;

export const emptyResponse = { type: "null", description: "No content" } as const;

const name = { type: "string", minLength: 1, maxLength: 255 } as const;
const anyName = { type: "string", maxLength: 255 } as const;

export const vhostParams = {
  type: "object",
  properties: {
    vhost: { type: "string", minLength: 1, description: "The vhost, URL-encoded (`/` is `%2F`)" },
  },
  required: ["vhost"],
} as const;

export const vhostNameParams = {
  type: "object",
  properties: { vhost: vhostParams.properties.vhost, name },
  required: ["vhost", "name"],
} as const;

export const nameParams = {
  type: "object",
  properties: { name },
  required: ["name"],
} as const;

/** `arguments` are free-form tables (x-arguments). */
export const argumentsSchema = { type: "object", additionalProperties: true } as const;

export const vhostSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    description: { type: "string" },
    tags: { type: "array", items: { type: "string" } },
    default_queue_type: { type: "string" },
  },
} as const;

export const exchangeSchema = {
  type: "object",
  properties: {
    name: anyName,
    vhost: { type: "string" },
    type: { type: "string" },
    durable: { type: "boolean" },
    auto_delete: { type: "boolean" },
    internal: { type: "boolean" },
    arguments: argumentsSchema,
    user_who_performed_action: { type: "string" },
  },
} as const;

export const queueSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    vhost: { type: "string" },
    durable: { type: "boolean" },
    auto_delete: { type: "boolean" },
    exclusive: { type: "boolean" },
    arguments: argumentsSchema,
    type: { type: "string", enum: ["quorum", "classic"] },
    node: { type: "string" },
    leader: { type: ["string", "null"] },
    members: { type: "array", items: { type: "string" } },
    state: { type: "string" },
    messages: { type: "integer" },
    messages_ready: { type: "integer" },
    messages_unacknowledged: { type: "integer" },
    message_bytes: { type: "integer" },
    consumers: { type: "integer" },
  },
} as const;

export const bindingSchema = {
  type: "object",
  properties: {
    source: { type: "string" },
    vhost: { type: "string" },
    destination: { type: "string" },
    destination_type: { type: "string", enum: ["queue", "exchange"] },
    routing_key: { type: "string" },
    arguments: argumentsSchema,
    properties_key: { type: "string" },
  },
} as const;

export const userSchema = {
  type: "object",
  properties: {
    name: { type: "string" },
    password_hash: { type: "string" },
    hashing_algorithm: { type: "string" },
    tags: { type: "array", items: { type: "string" } },
    limits: { type: "object", additionalProperties: true },
  },
} as const;

export const permissionSchema = {
  type: "object",
  properties: {
    user: { type: "string" },
    vhost: { type: "string" },
    configure: { type: "string" },
    write: { type: "string" },
    read: { type: "string" },
  },
} as const;

/** AMQP basic properties with the management API's names. */
export const propertiesSchema = {
  type: "object",
  properties: {
    content_type: { type: "string", maxLength: 255 },
    content_encoding: { type: "string", maxLength: 255 },
    headers: { type: "object", additionalProperties: true },
    delivery_mode: { type: "integer", minimum: 1, maximum: 2 },
    priority: { type: "integer", minimum: 0, maximum: 255 },
    correlation_id: { type: "string", maxLength: 255 },
    reply_to: { type: "string", maxLength: 255 },
    expiration: { type: "string", pattern: "^[0-9]+$" },
    message_id: { type: "string", maxLength: 255 },
    timestamp: { type: "integer", minimum: 0 },
    type: { type: "string", maxLength: 255 },
    user_id: { type: "string", maxLength: 255 },
    app_id: { type: "string", maxLength: 255 },
  },
} as const;

/** A message as get/consume return it. */
export const messageSchema = {
  type: "object",
  properties: {
    payload: { type: "string" },
    payload_bytes: { type: "integer" },
    payload_encoding: { type: "string", enum: ["string", "base64"] },
    redelivered: { type: "boolean" },
    exchange: { type: "string" },
    routing_key: { type: "string" },
    message_count: { type: "integer" },
    properties: propertiesSchema,
    delivery_id: { type: "string" },
    delivery_count: { type: "integer" },
  },
} as const;

export const stringOrList = {
  anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
} as const;
