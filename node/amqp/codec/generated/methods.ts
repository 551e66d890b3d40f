// GENERATED FILE: do not edit. Regenerate with `npx tsx node/amqp/codec/gen/cli.ts`, which reads
// node/amqp/codec/spec/amqp0-9-1.stripped.extended.xml (RabbitMQ's extended AMQP 0-9-1 spec, from
// Debian's amqp-specs package: /usr/share/amqp/specs/0-9-1-rabbit/) and spec/rabbitmq-extensions.xml.
// test/generated.test.ts checks this file is exactly what the generator produces from them.

import type { FieldTable } from "../field-value.js";

export const AMQP_VERSION = { major: 0, minor: 9, revision: 1 } as const;

/** Every `<constant>` of the spec: frame types, sizes, reply codes. */
export const Constant = {
  FRAME_METHOD: 1,
  FRAME_HEADER: 2,
  FRAME_BODY: 3,
  FRAME_HEARTBEAT: 8,
  FRAME_MIN_SIZE: 4096,
  FRAME_END: 206,
  REPLY_SUCCESS: 200,
  CONTENT_TOO_LARGE: 311,
  NO_CONSUMERS: 313,
  CONNECTION_FORCED: 320,
  INVALID_PATH: 402,
  ACCESS_REFUSED: 403,
  NOT_FOUND: 404,
  RESOURCE_LOCKED: 405,
  PRECONDITION_FAILED: 406,
  FRAME_ERROR: 501,
  SYNTAX_ERROR: 502,
  COMMAND_INVALID: 503,
  CHANNEL_ERROR: 504,
  UNEXPECTED_FRAME: 505,
  RESOURCE_ERROR: 506,
  NOT_ALLOWED: 530,
  NOT_IMPLEMENTED: 540,
  INTERNAL_ERROR: 541,
} as const;

/** Reply codes that close a channel (soft) or the whole connection (hard), per the spec. */
export const ErrorClass = {
  311: "soft-error",
  313: "soft-error",
  320: "hard-error",
  402: "hard-error",
  403: "soft-error",
  404: "soft-error",
  405: "soft-error",
  406: "soft-error",
  501: "hard-error",
  502: "hard-error",
  503: "hard-error",
  504: "hard-error",
  505: "hard-error",
  506: "hard-error",
  530: "hard-error",
  540: "hard-error",
  541: "hard-error",
} as const;

export const ClassId = {
  connection: 10,
  channel: 20,
  exchange: 40,
  queue: 50,
  basic: 60,
  tx: 90,
  confirm: 85,
} as const;

/** Primitive argument types once domains are resolved. */
export type FieldType =
  | "bit"
  | "octet"
  | "short"
  | "long"
  | "longlong"
  | "shortstr"
  | "longstr"
  | "timestamp"
  | "table";

/** connection.start (10/10, synchronous, server to client, answered by connection.start-ok). */
export interface ConnectionStart {
  name: "connection.start";
  versionMajor: number;
  versionMinor: number;
  serverProperties: FieldTable;
  mechanisms: Buffer;
  locales: Buffer;
}

/** connection.start-ok (10/11, synchronous, client to server). */
export interface ConnectionStartOk {
  name: "connection.start-ok";
  clientProperties: FieldTable;
  mechanism: string;
  response: Buffer;
  locale: string;
}

/** connection.secure (10/20, synchronous, server to client, answered by connection.secure-ok). */
export interface ConnectionSecure {
  name: "connection.secure";
  challenge: Buffer;
}

/** connection.secure-ok (10/21, synchronous, client to server). */
export interface ConnectionSecureOk {
  name: "connection.secure-ok";
  response: Buffer;
}

/** connection.tune (10/30, synchronous, server to client, answered by connection.tune-ok). */
export interface ConnectionTune {
  name: "connection.tune";
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}

/** connection.tune-ok (10/31, synchronous, client to server). */
export interface ConnectionTuneOk {
  name: "connection.tune-ok";
  channelMax: number;
  frameMax: number;
  heartbeat: number;
}

/** connection.open (10/40, synchronous, client to server, answered by connection.open-ok). */
export interface ConnectionOpen {
  name: "connection.open";
  virtualHost: string;
}

/** connection.open-ok (10/41, synchronous, server to client). */
export interface ConnectionOpenOk {
  name: "connection.open-ok";
}

/** connection.close (10/50, synchronous, both ways, answered by connection.close-ok). */
export interface ConnectionClose {
  name: "connection.close";
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}

/** connection.close-ok (10/51, synchronous, both ways). */
export interface ConnectionCloseOk {
  name: "connection.close-ok";
}

/** connection.blocked (10/60, asynchronous, server to client). */
export interface ConnectionBlocked {
  name: "connection.blocked";
  reason: string;
}

/** connection.unblocked (10/61, asynchronous, server to client). */
export interface ConnectionUnblocked {
  name: "connection.unblocked";
}

/** connection.update-secret (10/70, synchronous, client to server, answered by connection.update-secret-ok). */
export interface ConnectionUpdateSecret {
  name: "connection.update-secret";
  newSecret: Buffer;
  reason: string;
}

/** connection.update-secret-ok (10/71, synchronous, server to client). */
export interface ConnectionUpdateSecretOk {
  name: "connection.update-secret-ok";
}

/** channel.open (20/10, synchronous, client to server, answered by channel.open-ok). */
export interface ChannelOpen {
  name: "channel.open";
}

/** channel.open-ok (20/11, synchronous, server to client). */
export interface ChannelOpenOk {
  name: "channel.open-ok";
}

/** channel.flow (20/20, synchronous, both ways, answered by channel.flow-ok). */
export interface ChannelFlow {
  name: "channel.flow";
  active: boolean;
}

/** channel.flow-ok (20/21, asynchronous, both ways). */
export interface ChannelFlowOk {
  name: "channel.flow-ok";
  active: boolean;
}

/** channel.close (20/40, synchronous, both ways, answered by channel.close-ok). */
export interface ChannelClose {
  name: "channel.close";
  replyCode: number;
  replyText: string;
  classId: number;
  methodId: number;
}

/** channel.close-ok (20/41, synchronous, both ways). */
export interface ChannelCloseOk {
  name: "channel.close-ok";
}

/** exchange.declare (40/10, synchronous, client to server, answered by exchange.declare-ok). */
export interface ExchangeDeclare {
  name: "exchange.declare";
  exchange: string;
  type: string;
  passive: boolean;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  noWait: boolean;
  arguments: FieldTable;
}

/** exchange.declare-ok (40/11, synchronous, server to client). */
export interface ExchangeDeclareOk {
  name: "exchange.declare-ok";
}

/** exchange.delete (40/20, synchronous, client to server, answered by exchange.delete-ok). */
export interface ExchangeDelete {
  name: "exchange.delete";
  exchange: string;
  ifUnused: boolean;
  noWait: boolean;
}

/** exchange.delete-ok (40/21, synchronous, server to client). */
export interface ExchangeDeleteOk {
  name: "exchange.delete-ok";
}

/** exchange.bind (40/30, synchronous, client to server, answered by exchange.bind-ok). */
export interface ExchangeBind {
  name: "exchange.bind";
  destination: string;
  source: string;
  routingKey: string;
  noWait: boolean;
  arguments: FieldTable;
}

/** exchange.bind-ok (40/31, synchronous, server to client). */
export interface ExchangeBindOk {
  name: "exchange.bind-ok";
}

/** exchange.unbind (40/40, synchronous, client to server, answered by exchange.unbind-ok). */
export interface ExchangeUnbind {
  name: "exchange.unbind";
  destination: string;
  source: string;
  routingKey: string;
  noWait: boolean;
  arguments: FieldTable;
}

/** exchange.unbind-ok (40/51, synchronous, server to client). */
export interface ExchangeUnbindOk {
  name: "exchange.unbind-ok";
}

/** queue.declare (50/10, synchronous, client to server, answered by queue.declare-ok). */
export interface QueueDeclare {
  name: "queue.declare";
  queue: string;
  passive: boolean;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  noWait: boolean;
  arguments: FieldTable;
}

/** queue.declare-ok (50/11, synchronous, server to client). */
export interface QueueDeclareOk {
  name: "queue.declare-ok";
  queue: string;
  messageCount: number;
  consumerCount: number;
}

/** queue.bind (50/20, synchronous, client to server, answered by queue.bind-ok). */
export interface QueueBind {
  name: "queue.bind";
  queue: string;
  exchange: string;
  routingKey: string;
  noWait: boolean;
  arguments: FieldTable;
}

/** queue.bind-ok (50/21, synchronous, server to client). */
export interface QueueBindOk {
  name: "queue.bind-ok";
}

/** queue.unbind (50/50, synchronous, client to server, answered by queue.unbind-ok). */
export interface QueueUnbind {
  name: "queue.unbind";
  queue: string;
  exchange: string;
  routingKey: string;
  arguments: FieldTable;
}

/** queue.unbind-ok (50/51, synchronous, server to client). */
export interface QueueUnbindOk {
  name: "queue.unbind-ok";
}

/** queue.purge (50/30, synchronous, client to server, answered by queue.purge-ok). */
export interface QueuePurge {
  name: "queue.purge";
  queue: string;
  noWait: boolean;
}

/** queue.purge-ok (50/31, synchronous, server to client). */
export interface QueuePurgeOk {
  name: "queue.purge-ok";
  messageCount: number;
}

/** queue.delete (50/40, synchronous, client to server, answered by queue.delete-ok). */
export interface QueueDelete {
  name: "queue.delete";
  queue: string;
  ifUnused: boolean;
  ifEmpty: boolean;
  noWait: boolean;
}

/** queue.delete-ok (50/41, synchronous, server to client). */
export interface QueueDeleteOk {
  name: "queue.delete-ok";
  messageCount: number;
}

/** basic.qos (60/10, synchronous, client to server, answered by basic.qos-ok). */
export interface BasicQos {
  name: "basic.qos";
  prefetchSize: number;
  prefetchCount: number;
  global: boolean;
}

/** basic.qos-ok (60/11, synchronous, server to client). */
export interface BasicQosOk {
  name: "basic.qos-ok";
}

/** basic.consume (60/20, synchronous, client to server, answered by basic.consume-ok). */
export interface BasicConsume {
  name: "basic.consume";
  queue: string;
  consumerTag: string;
  noLocal: boolean;
  noAck: boolean;
  exclusive: boolean;
  noWait: boolean;
  arguments: FieldTable;
}

/** basic.consume-ok (60/21, synchronous, server to client). */
export interface BasicConsumeOk {
  name: "basic.consume-ok";
  consumerTag: string;
}

/** basic.cancel (60/30, synchronous, both ways, answered by basic.cancel-ok). */
export interface BasicCancel {
  name: "basic.cancel";
  consumerTag: string;
  noWait: boolean;
}

/** basic.cancel-ok (60/31, synchronous, both ways). */
export interface BasicCancelOk {
  name: "basic.cancel-ok";
  consumerTag: string;
}

/** basic.publish (60/40, asynchronous, carries content, client to server). */
export interface BasicPublish {
  name: "basic.publish";
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  immediate: boolean;
}

/** basic.return (60/50, asynchronous, carries content, server to client). */
export interface BasicReturn {
  name: "basic.return";
  replyCode: number;
  replyText: string;
  exchange: string;
  routingKey: string;
}

/** basic.deliver (60/60, asynchronous, carries content, server to client). */
export interface BasicDeliver {
  name: "basic.deliver";
  consumerTag: string;
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
}

/** basic.get (60/70, synchronous, client to server, answered by basic.get-ok or basic.get-empty). */
export interface BasicGet {
  name: "basic.get";
  queue: string;
  noAck: boolean;
}

/** basic.get-ok (60/71, synchronous, carries content, server to client). */
export interface BasicGetOk {
  name: "basic.get-ok";
  deliveryTag: number;
  redelivered: boolean;
  exchange: string;
  routingKey: string;
  messageCount: number;
}

/** basic.get-empty (60/72, synchronous, server to client). */
export interface BasicGetEmpty {
  name: "basic.get-empty";
}

/** basic.ack (60/80, asynchronous, both ways). */
export interface BasicAck {
  name: "basic.ack";
  deliveryTag: number;
  multiple: boolean;
}

/** basic.reject (60/90, asynchronous, client to server). */
export interface BasicReject {
  name: "basic.reject";
  deliveryTag: number;
  requeue: boolean;
}

/** basic.recover-async (60/100, asynchronous, client to server). */
export interface BasicRecoverAsync {
  name: "basic.recover-async";
  requeue: boolean;
}

/** basic.recover (60/110, asynchronous, client to server). */
export interface BasicRecover {
  name: "basic.recover";
  requeue: boolean;
}

/** basic.recover-ok (60/111, synchronous, server to client). */
export interface BasicRecoverOk {
  name: "basic.recover-ok";
}

/** basic.nack (60/120, asynchronous, both ways). */
export interface BasicNack {
  name: "basic.nack";
  deliveryTag: number;
  multiple: boolean;
  requeue: boolean;
}

/** tx.select (90/10, synchronous, client to server, answered by tx.select-ok). */
export interface TxSelect {
  name: "tx.select";
}

/** tx.select-ok (90/11, synchronous, server to client). */
export interface TxSelectOk {
  name: "tx.select-ok";
}

/** tx.commit (90/20, synchronous, client to server, answered by tx.commit-ok). */
export interface TxCommit {
  name: "tx.commit";
}

/** tx.commit-ok (90/21, synchronous, server to client). */
export interface TxCommitOk {
  name: "tx.commit-ok";
}

/** tx.rollback (90/30, synchronous, client to server, answered by tx.rollback-ok). */
export interface TxRollback {
  name: "tx.rollback";
}

/** tx.rollback-ok (90/31, synchronous, server to client). */
export interface TxRollbackOk {
  name: "tx.rollback-ok";
}

/** confirm.select (85/10, synchronous, client to server, answered by confirm.select-ok). */
export interface ConfirmSelect {
  name: "confirm.select";
  noWait: boolean;
}

/** confirm.select-ok (85/11, synchronous, server to client). */
export interface ConfirmSelectOk {
  name: "confirm.select-ok";
}

/** Every method of the protocol, discriminated by `name`. */
export type Method =
  | ConnectionStart
  | ConnectionStartOk
  | ConnectionSecure
  | ConnectionSecureOk
  | ConnectionTune
  | ConnectionTuneOk
  | ConnectionOpen
  | ConnectionOpenOk
  | ConnectionClose
  | ConnectionCloseOk
  | ConnectionBlocked
  | ConnectionUnblocked
  | ConnectionUpdateSecret
  | ConnectionUpdateSecretOk
  | ChannelOpen
  | ChannelOpenOk
  | ChannelFlow
  | ChannelFlowOk
  | ChannelClose
  | ChannelCloseOk
  | ExchangeDeclare
  | ExchangeDeclareOk
  | ExchangeDelete
  | ExchangeDeleteOk
  | ExchangeBind
  | ExchangeBindOk
  | ExchangeUnbind
  | ExchangeUnbindOk
  | QueueDeclare
  | QueueDeclareOk
  | QueueBind
  | QueueBindOk
  | QueueUnbind
  | QueueUnbindOk
  | QueuePurge
  | QueuePurgeOk
  | QueueDelete
  | QueueDeleteOk
  | BasicQos
  | BasicQosOk
  | BasicConsume
  | BasicConsumeOk
  | BasicCancel
  | BasicCancelOk
  | BasicPublish
  | BasicReturn
  | BasicDeliver
  | BasicGet
  | BasicGetOk
  | BasicGetEmpty
  | BasicAck
  | BasicReject
  | BasicRecoverAsync
  | BasicRecover
  | BasicRecoverOk
  | BasicNack
  | TxSelect
  | TxSelectOk
  | TxCommit
  | TxCommitOk
  | TxRollback
  | TxRollbackOk
  | ConfirmSelect
  | ConfirmSelectOk;

export type MethodName = Method["name"];

export interface FieldSpec {
  /** camelCase; reserved fields keep a name but are written as zero and skipped on decode. */
  readonly name: string;
  readonly type: FieldType;
  readonly reserved?: true;
}

export interface MethodSpec {
  readonly name: MethodName;
  readonly classId: number;
  readonly methodId: number;
  /** The sender waits for one of `responses` before sending another synchronous method. */
  readonly synchronous: boolean;
  /** Followed by a content header and body frames. */
  readonly content: boolean;
  readonly responses: readonly MethodName[];
  /** The server receives it (a spec `<chassis name="server">`): anything else from a client is 503. */
  readonly server: boolean;
  /** The client receives it. */
  readonly client: boolean;
  readonly fields: readonly FieldSpec[];
}

export const METHOD_SPECS: readonly MethodSpec[] = [
  {
    name: "connection.start",
    classId: 10,
    methodId: 10,
    synchronous: true,
    content: false,
    responses: ["connection.start-ok"],
    server: false,
    client: true,
    fields: [
      { name: "versionMajor", type: "octet" },
      { name: "versionMinor", type: "octet" },
      { name: "serverProperties", type: "table" },
      { name: "mechanisms", type: "longstr" },
      { name: "locales", type: "longstr" },
    ],
  },
  {
    name: "connection.start-ok",
    classId: 10,
    methodId: 11,
    synchronous: true,
    content: false,
    responses: [],
    server: true,
    client: false,
    fields: [
      { name: "clientProperties", type: "table" },
      { name: "mechanism", type: "shortstr" },
      { name: "response", type: "longstr" },
      { name: "locale", type: "shortstr" },
    ],
  },
  {
    name: "connection.secure",
    classId: 10,
    methodId: 20,
    synchronous: true,
    content: false,
    responses: ["connection.secure-ok"],
    server: false,
    client: true,
    fields: [{ name: "challenge", type: "longstr" }],
  },
  {
    name: "connection.secure-ok",
    classId: 10,
    methodId: 21,
    synchronous: true,
    content: false,
    responses: [],
    server: true,
    client: false,
    fields: [{ name: "response", type: "longstr" }],
  },
  {
    name: "connection.tune",
    classId: 10,
    methodId: 30,
    synchronous: true,
    content: false,
    responses: ["connection.tune-ok"],
    server: false,
    client: true,
    fields: [
      { name: "channelMax", type: "short" },
      { name: "frameMax", type: "long" },
      { name: "heartbeat", type: "short" },
    ],
  },
  {
    name: "connection.tune-ok",
    classId: 10,
    methodId: 31,
    synchronous: true,
    content: false,
    responses: [],
    server: true,
    client: false,
    fields: [
      { name: "channelMax", type: "short" },
      { name: "frameMax", type: "long" },
      { name: "heartbeat", type: "short" },
    ],
  },
  {
    name: "connection.open",
    classId: 10,
    methodId: 40,
    synchronous: true,
    content: false,
    responses: ["connection.open-ok"],
    server: true,
    client: false,
    fields: [
      { name: "virtualHost", type: "shortstr" },
      { name: "reserved1", type: "shortstr", reserved: true },
      { name: "reserved2", type: "bit", reserved: true },
    ],
  },
  {
    name: "connection.open-ok",
    classId: 10,
    methodId: 41,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [{ name: "reserved1", type: "shortstr", reserved: true }],
  },
  {
    name: "connection.close",
    classId: 10,
    methodId: 50,
    synchronous: true,
    content: false,
    responses: ["connection.close-ok"],
    server: true,
    client: true,
    fields: [
      { name: "replyCode", type: "short" },
      { name: "replyText", type: "shortstr" },
      { name: "classId", type: "short" },
      { name: "methodId", type: "short" },
    ],
  },
  {
    name: "connection.close-ok",
    classId: 10,
    methodId: 51,
    synchronous: true,
    content: false,
    responses: [],
    server: true,
    client: true,
    fields: [],
  },
  {
    name: "connection.blocked",
    classId: 10,
    methodId: 60,
    synchronous: false,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [{ name: "reason", type: "shortstr" }],
  },
  {
    name: "connection.unblocked",
    classId: 10,
    methodId: 61,
    synchronous: false,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "connection.update-secret",
    classId: 10,
    methodId: 70,
    synchronous: true,
    content: false,
    responses: ["connection.update-secret-ok"],
    server: true,
    client: false,
    fields: [
      { name: "newSecret", type: "longstr" },
      { name: "reason", type: "shortstr" },
    ],
  },
  {
    name: "connection.update-secret-ok",
    classId: 10,
    methodId: 71,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "channel.open",
    classId: 20,
    methodId: 10,
    synchronous: true,
    content: false,
    responses: ["channel.open-ok"],
    server: true,
    client: false,
    fields: [{ name: "reserved1", type: "shortstr", reserved: true }],
  },
  {
    name: "channel.open-ok",
    classId: 20,
    methodId: 11,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [{ name: "reserved1", type: "longstr", reserved: true }],
  },
  {
    name: "channel.flow",
    classId: 20,
    methodId: 20,
    synchronous: true,
    content: false,
    responses: ["channel.flow-ok"],
    server: true,
    client: true,
    fields: [{ name: "active", type: "bit" }],
  },
  {
    name: "channel.flow-ok",
    classId: 20,
    methodId: 21,
    synchronous: false,
    content: false,
    responses: [],
    server: true,
    client: true,
    fields: [{ name: "active", type: "bit" }],
  },
  {
    name: "channel.close",
    classId: 20,
    methodId: 40,
    synchronous: true,
    content: false,
    responses: ["channel.close-ok"],
    server: true,
    client: true,
    fields: [
      { name: "replyCode", type: "short" },
      { name: "replyText", type: "shortstr" },
      { name: "classId", type: "short" },
      { name: "methodId", type: "short" },
    ],
  },
  {
    name: "channel.close-ok",
    classId: 20,
    methodId: 41,
    synchronous: true,
    content: false,
    responses: [],
    server: true,
    client: true,
    fields: [],
  },
  {
    name: "exchange.declare",
    classId: 40,
    methodId: 10,
    synchronous: true,
    content: false,
    responses: ["exchange.declare-ok"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "exchange", type: "shortstr" },
      { name: "type", type: "shortstr" },
      { name: "passive", type: "bit" },
      { name: "durable", type: "bit" },
      { name: "autoDelete", type: "bit" },
      { name: "internal", type: "bit" },
      { name: "noWait", type: "bit" },
      { name: "arguments", type: "table" },
    ],
  },
  {
    name: "exchange.declare-ok",
    classId: 40,
    methodId: 11,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "exchange.delete",
    classId: 40,
    methodId: 20,
    synchronous: true,
    content: false,
    responses: ["exchange.delete-ok"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "exchange", type: "shortstr" },
      { name: "ifUnused", type: "bit" },
      { name: "noWait", type: "bit" },
    ],
  },
  {
    name: "exchange.delete-ok",
    classId: 40,
    methodId: 21,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "exchange.bind",
    classId: 40,
    methodId: 30,
    synchronous: true,
    content: false,
    responses: ["exchange.bind-ok"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "destination", type: "shortstr" },
      { name: "source", type: "shortstr" },
      { name: "routingKey", type: "shortstr" },
      { name: "noWait", type: "bit" },
      { name: "arguments", type: "table" },
    ],
  },
  {
    name: "exchange.bind-ok",
    classId: 40,
    methodId: 31,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "exchange.unbind",
    classId: 40,
    methodId: 40,
    synchronous: true,
    content: false,
    responses: ["exchange.unbind-ok"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "destination", type: "shortstr" },
      { name: "source", type: "shortstr" },
      { name: "routingKey", type: "shortstr" },
      { name: "noWait", type: "bit" },
      { name: "arguments", type: "table" },
    ],
  },
  {
    name: "exchange.unbind-ok",
    classId: 40,
    methodId: 51,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "queue.declare",
    classId: 50,
    methodId: 10,
    synchronous: true,
    content: false,
    responses: ["queue.declare-ok"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "queue", type: "shortstr" },
      { name: "passive", type: "bit" },
      { name: "durable", type: "bit" },
      { name: "exclusive", type: "bit" },
      { name: "autoDelete", type: "bit" },
      { name: "noWait", type: "bit" },
      { name: "arguments", type: "table" },
    ],
  },
  {
    name: "queue.declare-ok",
    classId: 50,
    methodId: 11,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [
      { name: "queue", type: "shortstr" },
      { name: "messageCount", type: "long" },
      { name: "consumerCount", type: "long" },
    ],
  },
  {
    name: "queue.bind",
    classId: 50,
    methodId: 20,
    synchronous: true,
    content: false,
    responses: ["queue.bind-ok"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "queue", type: "shortstr" },
      { name: "exchange", type: "shortstr" },
      { name: "routingKey", type: "shortstr" },
      { name: "noWait", type: "bit" },
      { name: "arguments", type: "table" },
    ],
  },
  {
    name: "queue.bind-ok",
    classId: 50,
    methodId: 21,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "queue.unbind",
    classId: 50,
    methodId: 50,
    synchronous: true,
    content: false,
    responses: ["queue.unbind-ok"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "queue", type: "shortstr" },
      { name: "exchange", type: "shortstr" },
      { name: "routingKey", type: "shortstr" },
      { name: "arguments", type: "table" },
    ],
  },
  {
    name: "queue.unbind-ok",
    classId: 50,
    methodId: 51,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "queue.purge",
    classId: 50,
    methodId: 30,
    synchronous: true,
    content: false,
    responses: ["queue.purge-ok"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "queue", type: "shortstr" },
      { name: "noWait", type: "bit" },
    ],
  },
  {
    name: "queue.purge-ok",
    classId: 50,
    methodId: 31,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [{ name: "messageCount", type: "long" }],
  },
  {
    name: "queue.delete",
    classId: 50,
    methodId: 40,
    synchronous: true,
    content: false,
    responses: ["queue.delete-ok"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "queue", type: "shortstr" },
      { name: "ifUnused", type: "bit" },
      { name: "ifEmpty", type: "bit" },
      { name: "noWait", type: "bit" },
    ],
  },
  {
    name: "queue.delete-ok",
    classId: 50,
    methodId: 41,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [{ name: "messageCount", type: "long" }],
  },
  {
    name: "basic.qos",
    classId: 60,
    methodId: 10,
    synchronous: true,
    content: false,
    responses: ["basic.qos-ok"],
    server: true,
    client: false,
    fields: [
      { name: "prefetchSize", type: "long" },
      { name: "prefetchCount", type: "short" },
      { name: "global", type: "bit" },
    ],
  },
  {
    name: "basic.qos-ok",
    classId: 60,
    methodId: 11,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "basic.consume",
    classId: 60,
    methodId: 20,
    synchronous: true,
    content: false,
    responses: ["basic.consume-ok"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "queue", type: "shortstr" },
      { name: "consumerTag", type: "shortstr" },
      { name: "noLocal", type: "bit" },
      { name: "noAck", type: "bit" },
      { name: "exclusive", type: "bit" },
      { name: "noWait", type: "bit" },
      { name: "arguments", type: "table" },
    ],
  },
  {
    name: "basic.consume-ok",
    classId: 60,
    methodId: 21,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [{ name: "consumerTag", type: "shortstr" }],
  },
  {
    name: "basic.cancel",
    classId: 60,
    methodId: 30,
    synchronous: true,
    content: false,
    responses: ["basic.cancel-ok"],
    server: true,
    client: true,
    fields: [
      { name: "consumerTag", type: "shortstr" },
      { name: "noWait", type: "bit" },
    ],
  },
  {
    name: "basic.cancel-ok",
    classId: 60,
    methodId: 31,
    synchronous: true,
    content: false,
    responses: [],
    server: true,
    client: true,
    fields: [{ name: "consumerTag", type: "shortstr" }],
  },
  {
    name: "basic.publish",
    classId: 60,
    methodId: 40,
    synchronous: false,
    content: true,
    responses: [],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "exchange", type: "shortstr" },
      { name: "routingKey", type: "shortstr" },
      { name: "mandatory", type: "bit" },
      { name: "immediate", type: "bit" },
    ],
  },
  {
    name: "basic.return",
    classId: 60,
    methodId: 50,
    synchronous: false,
    content: true,
    responses: [],
    server: false,
    client: true,
    fields: [
      { name: "replyCode", type: "short" },
      { name: "replyText", type: "shortstr" },
      { name: "exchange", type: "shortstr" },
      { name: "routingKey", type: "shortstr" },
    ],
  },
  {
    name: "basic.deliver",
    classId: 60,
    methodId: 60,
    synchronous: false,
    content: true,
    responses: [],
    server: false,
    client: true,
    fields: [
      { name: "consumerTag", type: "shortstr" },
      { name: "deliveryTag", type: "longlong" },
      { name: "redelivered", type: "bit" },
      { name: "exchange", type: "shortstr" },
      { name: "routingKey", type: "shortstr" },
    ],
  },
  {
    name: "basic.get",
    classId: 60,
    methodId: 70,
    synchronous: true,
    content: false,
    responses: ["basic.get-ok", "basic.get-empty"],
    server: true,
    client: false,
    fields: [
      { name: "reserved1", type: "short", reserved: true },
      { name: "queue", type: "shortstr" },
      { name: "noAck", type: "bit" },
    ],
  },
  {
    name: "basic.get-ok",
    classId: 60,
    methodId: 71,
    synchronous: true,
    content: true,
    responses: [],
    server: false,
    client: true,
    fields: [
      { name: "deliveryTag", type: "longlong" },
      { name: "redelivered", type: "bit" },
      { name: "exchange", type: "shortstr" },
      { name: "routingKey", type: "shortstr" },
      { name: "messageCount", type: "long" },
    ],
  },
  {
    name: "basic.get-empty",
    classId: 60,
    methodId: 72,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [{ name: "reserved1", type: "shortstr", reserved: true }],
  },
  {
    name: "basic.ack",
    classId: 60,
    methodId: 80,
    synchronous: false,
    content: false,
    responses: [],
    server: true,
    client: true,
    fields: [
      { name: "deliveryTag", type: "longlong" },
      { name: "multiple", type: "bit" },
    ],
  },
  {
    name: "basic.reject",
    classId: 60,
    methodId: 90,
    synchronous: false,
    content: false,
    responses: [],
    server: true,
    client: false,
    fields: [
      { name: "deliveryTag", type: "longlong" },
      { name: "requeue", type: "bit" },
    ],
  },
  {
    name: "basic.recover-async",
    classId: 60,
    methodId: 100,
    synchronous: false,
    content: false,
    responses: [],
    server: true,
    client: false,
    fields: [{ name: "requeue", type: "bit" }],
  },
  {
    name: "basic.recover",
    classId: 60,
    methodId: 110,
    synchronous: false,
    content: false,
    responses: [],
    server: true,
    client: false,
    fields: [{ name: "requeue", type: "bit" }],
  },
  {
    name: "basic.recover-ok",
    classId: 60,
    methodId: 111,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "basic.nack",
    classId: 60,
    methodId: 120,
    synchronous: false,
    content: false,
    responses: [],
    server: true,
    client: true,
    fields: [
      { name: "deliveryTag", type: "longlong" },
      { name: "multiple", type: "bit" },
      { name: "requeue", type: "bit" },
    ],
  },
  {
    name: "tx.select",
    classId: 90,
    methodId: 10,
    synchronous: true,
    content: false,
    responses: ["tx.select-ok"],
    server: true,
    client: false,
    fields: [],
  },
  {
    name: "tx.select-ok",
    classId: 90,
    methodId: 11,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "tx.commit",
    classId: 90,
    methodId: 20,
    synchronous: true,
    content: false,
    responses: ["tx.commit-ok"],
    server: true,
    client: false,
    fields: [],
  },
  {
    name: "tx.commit-ok",
    classId: 90,
    methodId: 21,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "tx.rollback",
    classId: 90,
    methodId: 30,
    synchronous: true,
    content: false,
    responses: ["tx.rollback-ok"],
    server: true,
    client: false,
    fields: [],
  },
  {
    name: "tx.rollback-ok",
    classId: 90,
    methodId: 31,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
  {
    name: "confirm.select",
    classId: 85,
    methodId: 10,
    synchronous: true,
    content: false,
    responses: ["confirm.select-ok"],
    server: true,
    client: false,
    fields: [{ name: "noWait", type: "bit" }],
  },
  {
    name: "confirm.select-ok",
    classId: 85,
    methodId: 11,
    synchronous: true,
    content: false,
    responses: [],
    server: false,
    client: true,
    fields: [],
  },
];

/** Content header properties per class id, in flag-bit order (only basic has content in 0-9-1). */
export const CLASS_PROPERTIES: ReadonlyMap<number, readonly FieldSpec[]> = new Map([
  [
    60,
    [
      { name: "contentType", type: "shortstr" },
      { name: "contentEncoding", type: "shortstr" },
      { name: "headers", type: "table" },
      { name: "deliveryMode", type: "octet" },
      { name: "priority", type: "octet" },
      { name: "correlationId", type: "shortstr" },
      { name: "replyTo", type: "shortstr" },
      { name: "expiration", type: "shortstr" },
      { name: "messageId", type: "shortstr" },
      { name: "timestamp", type: "timestamp" },
      { name: "type", type: "shortstr" },
      { name: "userId", type: "shortstr" },
      { name: "appId", type: "shortstr" },
      { name: "clusterId", type: "shortstr" },
    ],
  ],
]);
