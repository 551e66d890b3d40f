/**
 * The one schema of a node's configuration. Each row names a setting by its dotted key (its path
 * in the config object and in the JSON config file) and drives everything else: the environment
 * variable and flag names (derived from the key unless the row overrides them), the default, the
 * parser, redaction, `--help` and docs/configuration.md (a test fails if the two differ).
 */
import * as D from "./defaults.js";
import {
  type AdvertisedAddress,
  advertisedAddress,
  boolean,
  fraction,
  host,
  integer,
  type Kind,
  nameList,
  oneOf,
  port,
  size,
  text,
} from "./kinds.js";
import { NODE_ID_EXPECTED, NODE_ID_PATTERN, type PeerConfig, peersKind } from "./peers.js";

export interface ListenConfig {
  readonly host: string;
  readonly port: number;
}

/** A listener plus the address others dial to reach it, when that is not the bound one. */
export interface AdvertisedListenConfig extends ListenConfig {
  /** What peers dial and `/api/nodes` reports (etcd's advertise URLs); unset: the bound address. */
  readonly advertise: AdvertisedAddress | undefined;
}

/** The validated, deeply frozen configuration of one node. Modules receive the slice they need. */
export interface NodeConfig {
  readonly nodeId: string;
  readonly dataDir: string;
  /** The other nodes, sorted by id; never contains `nodeId`. */
  readonly peers: readonly PeerConfig[];
  /** Shared by every node; required when `peers` is not empty. Never log it (see describeConfig). */
  readonly clusterSecret: string | undefined;
  readonly maxMessageSize: number;
  /** Milliseconds a peer's connection may stay down before the peer is declared down. */
  readonly nodeDownGraceMs: number;
  /** This node joins the running cluster named by `peers` (it was not one of its first nodes). */
  readonly join: boolean;
  /** Milliseconds a graceful stop may take before the process exits anyway. */
  readonly shutdownTimeoutMs: number;
  readonly amqp: AdvertisedListenConfig & {
    readonly heartbeat: number;
    readonly frameMax: number;
    readonly channelMax: number;
  };
  readonly http: AdvertisedListenConfig & { readonly bodyLimit: number };
  readonly raft: AdvertisedListenConfig & {
    readonly tickMs: number;
    readonly electionTick: number;
    readonly heartbeatTick: number;
    readonly proposalTimeoutMs: number;
    readonly snapshotEvery: number;
    readonly maxSizePerMsg: number;
    readonly maxInflightMsgs: number;
    readonly peerQueueBytes: number;
  };
  readonly log: { readonly level: D.LogLevel; readonly pretty: boolean };
  readonly backpressure: { readonly maxUncommittedBytes: number; readonly memoryHighWatermark: number };
  readonly auth: {
    readonly defaultUser: string;
    readonly defaultPass: string;
    readonly defaultVhost: string;
    readonly loopbackUsers: readonly string[];
  };
  readonly quorum: { readonly initialGroupSize: number; readonly queueLeaderLocator: D.QueueLeaderLocator };
}

/** A default computed from settings resolved before it (e.g. dataDir from nodeId). */
export interface DerivedDefault<T> {
  readonly derive: (resolved: Readonly<Record<string, unknown>>) => T;
  /** How the docs show it, e.g. "data/<nodeId>". */
  readonly doc: string;
}

export interface Setting<T = unknown> {
  /** Dotted path in NodeConfig and in the JSON file, e.g. "amqp.port". */
  readonly key: string;
  readonly kind: Kind<T>;
  /** undefined: the setting is optional and absent unless given. */
  readonly default: T | DerivedDefault<T> | undefined;
  readonly env: string;
  readonly flag: string;
  readonly section: string;
  readonly description: string;
  /** Redacted by describeConfig and the logger. */
  readonly secret: boolean;
  /**
   * Says where other settings come from (the config file, the secret file). Read by the parser
   * itself and absent from NodeConfig; `inFile: false` settings cannot be set in the JSON file.
   */
  readonly source: boolean;
  readonly inFile: boolean;
}

/** "amqp.frameMax" -> "AMQP_FRAME_MAX". */
function screamingSnake(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/\./g, "_")
    .toUpperCase();
}

/** "amqp.frameMax" -> "amqp-frame-max". */
function kebab(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/\./g, "-")
    .toLowerCase();
}

interface Row<T> {
  kind: Kind<T>;
  default: T | DerivedDefault<T> | undefined;
  description: string;
  secret?: boolean;
  source?: boolean;
  inFile?: boolean;
}

function section(name: string, rows: Record<string, Row<unknown>>): Setting[] {
  return Object.entries(rows).map(([key, r]) => ({
    key,
    kind: r.kind,
    default: r.default,
    env: `WARREN_${screamingSnake(key)}`,
    flag: `--${kebab(key)}`,
    section: name,
    description: r.description,
    secret: r.secret ?? false,
    source: r.source ?? false,
    inFile: r.inFile ?? true,
  }));
}

/** Help `Row<T>` keep T across a heterogeneous table. */
const row = <T>(r: Row<T>): Row<unknown> => r as Row<unknown>;

const nodeId = text(NODE_ID_EXPECTED, { pattern: NODE_ID_PATTERN });
const path = text("a path");
const userName = text("a user name");
const MAX_INT32 = 2 ** 31 - 1;

export const SETTINGS: readonly Setting[] = Object.freeze([
  ...section("Sources", {
    config: row({
      kind: path,
      default: undefined,
      source: true,
      inFile: false,
      description: "JSON config file to read (keys are the dotted names below, nested as objects).",
    }),
    clusterSecretFile: row({
      kind: path,
      default: undefined,
      source: true,
      description:
        "File holding the cluster secret (trailing newline ignored); use instead of clusterSecret to keep it out of the environment.",
    }),
  }),
  ...section("Node and cluster", {
    nodeId: row({
      kind: nodeId,
      default: D.DEFAULT_NODE_ID,
      description: "This node's id, stable across restarts.",
    }),
    dataDir: row({
      kind: path,
      default: {
        derive: (c) => `${D.DEFAULT_DATA_ROOT}/${String(c.nodeId)}`,
        doc: `${D.DEFAULT_DATA_ROOT}/<nodeId>`,
      },
      description: "Directory of this node's LevelDB write-ahead log and snapshots.",
    }),
    peers: row({
      kind: peersKind,
      default: [] as readonly PeerConfig[],
      description:
        "The other nodes: `id=host:port` of their Raft listener, optionally `;amqp=host:port;http=host:port`, comma-separated.",
    }),
    clusterSecret: row({
      kind: text("a secret", { minLength: D.MIN_CLUSTER_SECRET_LENGTH }),
      default: undefined,
      secret: true,
      description: `Shared secret of the inter-node HMAC handshake. Required when there are peers; at least ${D.MIN_CLUSTER_SECRET_LENGTH} characters.`,
    }),
    maxMessageSize: row({
      kind: size(1, D.MAX_MAX_MESSAGE_SIZE),
      default: D.DEFAULT_MAX_MESSAGE_SIZE,
      description: "Largest message body accepted from any client (RabbitMQ's `max_message_size`).",
    }),
    nodeDownGraceMs: row({
      kind: integer(1, 3_600_000),
      default: D.DEFAULT_NODE_DOWN_GRACE_MS,
      description:
        "Milliseconds a peer's connection may stay down before it is declared down: its consumers' unacked messages return to their queues and its transient queues are deleted.",
    }),
    join: row({
      kind: boolean,
      default: false,
      description:
        "This node joins the running cluster of `peers` instead of being one of the nodes it started with (RabbitMQ's `join_cluster`). Needed on its first start; later starts recover the membership from the data directory, with or without it. Peers dial its raft.advertise (or raft.host). See docs/operations.md.",
    }),
    shutdownTimeoutMs: row({
      kind: integer(1000, 3_600_000),
      default: D.DEFAULT_SHUTDOWN_TIMEOUT_MS,
      description:
        "Milliseconds a graceful stop (SIGTERM/SIGINT) may take: clients disconnected, leaderships handed over, log flushed. Past it the node logs what did not finish and exits with status 1.",
    }),
  }),
  ...section("AMQP", {
    "amqp.host": row({
      kind: host,
      default: D.DEFAULT_LISTEN_HOST,
      description: "AMQP 0-9-1 listen address.",
    }),
    "amqp.port": row({
      kind: port,
      default: D.DEFAULT_AMQP_PORT,
      description: "AMQP listen port (0: any free port).",
    }),
    "amqp.advertise": row({
      kind: advertisedAddress,
      default: undefined,
      description:
        "AMQP address reported to clients and other nodes (`GET /api/nodes`), `host:port` or `host` (the listen port); unset: the listen address. Set it when listening on 0.0.0.0 or behind NAT.",
    }),
    "amqp.heartbeat": row({
      kind: integer(0, 65535),
      default: D.DEFAULT_HEARTBEAT_S,
      description: "Heartbeat interval in seconds proposed in connection.tune (0 disables).",
    }),
    "amqp.frameMax": row({
      kind: integer(D.MIN_FRAME_MAX, MAX_INT32),
      default: D.DEFAULT_FRAME_MAX,
      description: "Largest frame in bytes proposed in connection.tune.",
    }),
    "amqp.channelMax": row({
      kind: integer(1, 65535),
      default: D.DEFAULT_CHANNEL_MAX,
      description: "Most channels per connection proposed in connection.tune.",
    }),
  }),
  ...section("HTTP", {
    "http.host": row({
      kind: host,
      default: D.DEFAULT_LISTEN_HOST,
      description: "Management HTTP API listen address.",
    }),
    "http.port": row({
      kind: port,
      default: D.DEFAULT_HTTP_PORT,
      description: "HTTP listen port (0: any free port).",
    }),
    "http.advertise": row({
      kind: advertisedAddress,
      default: undefined,
      description:
        "HTTP address reported to clients and other nodes (`GET /api/nodes`), `host:port` or `host` (the listen port); unset: the listen address.",
    }),
    "http.bodyLimit": row({
      kind: size(1024, MAX_INT32),
      default: D.DEFAULT_HTTP_BODY_LIMIT,
      description: "Largest HTTP request body (RabbitMQ's `management.http.max_body_size`).",
    }),
  }),
  ...section("Raft", {
    "raft.host": row({
      kind: host,
      default: D.DEFAULT_LISTEN_HOST,
      description: "Inter-node (Raft) listen address.",
    }),
    "raft.port": row({
      kind: port,
      default: D.DEFAULT_RAFT_PORT,
      description: "Inter-node listen port (0: any free port).",
    }),
    "raft.advertise": row({
      kind: advertisedAddress,
      default: undefined,
      description:
        "Inter-node address the other nodes dial to reach this one (etcd's `--initial-advertise-peer-urls`), `host:port` or `host` (the listen port). A joining node records it; required to join when raft.host is 0.0.0.0 or ::. Unset: the listen address.",
    }),
    "raft.tickMs": row({
      kind: integer(1, 60_000),
      default: D.DEFAULT_TICK_MS,
      description: "Milliseconds per Raft tick.",
    }),
    "raft.electionTick": row({
      kind: integer(2, 10_000),
      default: D.DEFAULT_ELECTION_TICK,
      description:
        "Ticks without a leader before an election (randomized up to twice this). Must exceed heartbeatTick.",
    }),
    "raft.heartbeatTick": row({
      kind: integer(1, 10_000),
      default: D.DEFAULT_HEARTBEAT_TICK,
      description: "Ticks between leader heartbeats.",
    }),
    "raft.proposalTimeoutMs": row({
      kind: integer(1, 3_600_000),
      default: D.DEFAULT_PROPOSAL_TIMEOUT_MS,
      description: "A proposal (e.g. a publish) not committed within this many milliseconds fails.",
    }),
    "raft.snapshotEvery": row({
      kind: integer(1, MAX_INT32),
      default: D.DEFAULT_SNAPSHOT_EVERY,
      description:
        "Applied entries between snapshots of a group; grows with the entries a snapshot keeps live (a long queue), up to 8 times this.",
    }),
    "raft.maxSizePerMsg": row({
      kind: size(1024, MAX_INT32),
      default: D.DEFAULT_MAX_SIZE_PER_MSG,
      description: "Bytes of entries per append message (a larger single entry is still sent alone).",
    }),
    "raft.maxInflightMsgs": row({
      kind: integer(1, 65535),
      default: D.DEFAULT_MAX_INFLIGHT_MSGS,
      description: "Append messages in flight per follower.",
    }),
    "raft.peerQueueBytes": row({
      kind: size(1024 * 1024, Number.MAX_SAFE_INTEGER),
      default: D.DEFAULT_PEER_QUEUE_BYTES,
      description:
        "Bytes queued per peer connection before frames are dropped. Must be at least maxMessageSize + raft.maxSizePerMsg.",
    }),
  }),
  ...section("Logging", {
    "log.level": row({
      kind: oneOf(D.LOG_LEVELS),
      default: D.DEFAULT_LOG_LEVEL,
      description: "pino log level.",
    }),
    "log.pretty": row({
      kind: boolean,
      default: false,
      description: "One human-readable line per record instead of JSON (for terminals).",
    }),
  }),
  ...section("Flow control", {
    "backpressure.maxUncommittedBytes": row({
      kind: size(1024, Number.MAX_SAFE_INTEGER),
      default: D.DEFAULT_MAX_UNCOMMITTED_BYTES,
      description: "Uncommitted bytes a queue leader holds before it slows new publishes.",
    }),
    "backpressure.memoryHighWatermark": row({
      kind: fraction(0, 1),
      default: D.DEFAULT_MEMORY_HIGH_WATERMARK,
      description:
        "Fraction of total memory above which publishers are blocked (RabbitMQ's `vm_memory_high_watermark`).",
    }),
  }),
  ...section("Users", {
    "auth.defaultUser": row({
      kind: userName,
      default: D.DEFAULT_USER,
      description: "Administrator created on first start of a new cluster.",
    }),
    "auth.defaultPass": row({
      kind: text("a password"),
      default: D.DEFAULT_PASS,
      secret: true,
      description: "Its password (stored hashed).",
    }),
    "auth.defaultVhost": row({
      kind: text("a vhost name"),
      default: D.DEFAULT_VHOST,
      description: "Vhost created on first start.",
    }),
    "auth.loopbackUsers": row({
      kind: nameList("user names", /^.+$/),
      default: D.DEFAULT_LOOPBACK_USERS,
      description:
        "Users allowed to log in only from loopback (RabbitMQ's `loopback_users`); `none` lifts the rule.",
    }),
  }),
  ...section("Queues", {
    "quorum.initialGroupSize": row({
      kind: integer(1, 255),
      default: D.DEFAULT_INITIAL_GROUP_SIZE,
      description:
        "Replicas of a new queue when it has no `x-quorum-initial-group-size` (capped at the cluster size).",
    }),
    "quorum.queueLeaderLocator": row({
      kind: oneOf(D.QUEUE_LEADER_LOCATORS),
      default: D.DEFAULT_QUEUE_LEADER_LOCATOR,
      description:
        "Where a new queue's leader goes when it has no `x-queue-leader-locator` (RabbitMQ's `queue_leader_locator`): `client-local`, the node the declaring client is connected to, or `balanced`, the node leading the fewest queues.",
    }),
  }),
]);

export const SETTINGS_BY_KEY: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.key, s]));

export function isDerived<T>(d: T | DerivedDefault<T> | undefined): d is DerivedDefault<T> {
  return (
    typeof d === "object" &&
    d !== null &&
    "derive" in d &&
    typeof (d as DerivedDefault<T>).derive === "function"
  );
}
