/**
 * Named defaults of every setting. Where RabbitMQ has the same knob, its default is ours and the
 * comment names the RabbitMQ key, so an operator's intuition carries over.
 */

export const DEFAULT_NODE_ID = "n1";
/** Relative to the working directory, one folder per node so three local nodes never collide. */
export const DEFAULT_DATA_ROOT = "data";

/** All interfaces, as RabbitMQ's listeners (`listeners.tcp.default`, management, distribution). */
export const DEFAULT_LISTEN_HOST = "0.0.0.0";
export const DEFAULT_AMQP_PORT = 5672;
export const DEFAULT_HTTP_PORT = 15672;
/** RabbitMQ's inter-node port is the AMQP port + 20000. */
export const DEFAULT_RAFT_PORT = 25672;

/** Seconds; RabbitMQ's `heartbeat` (suggested to clients in connection.tune). */
export const DEFAULT_HEARTBEAT_S = 60;
/** RabbitMQ's `frame_max`. AMQP 0-9-1 requires at least 4096 (`frame-min-size`). */
export const DEFAULT_FRAME_MAX = 131072;
export const MIN_FRAME_MAX = 4096;
/** RabbitMQ's `channel_max` since 3.7.10 (2047; 0 would mean 65535). */
export const DEFAULT_CHANNEL_MAX = 2047;

/** RabbitMQ's `max_message_size` default (128 MiB); RabbitMQ refuses more than 512 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 128 * 1024 * 1024;
export const MAX_MAX_MESSAGE_SIZE = 512 * 1024 * 1024;
/** RabbitMQ's `management.http.max_body_size` (10 MiB since 3.12.7). */
export const DEFAULT_HTTP_BODY_LIMIT = 10 * 1024 * 1024;

/** etcd's defaults: a 100 ms tick, heartbeat every tick, election after 10-20 ticks. */
export const DEFAULT_TICK_MS = 100;
export const DEFAULT_ELECTION_TICK = 10;
export const DEFAULT_HEARTBEAT_TICK = 1;
/** A publish that cannot commit within this bound fails instead of waiting forever. */
export const DEFAULT_PROPOSAL_TIMEOUT_MS = 5000;
/** Applied entries between snapshots of a group (ra's release-cursor interval is of this order). */
export const DEFAULT_SNAPSHOT_EVERY = 4096;
/** etcd's `MaxSizePerMsg` of 1 MiB of entry data per MsgApp. */
export const DEFAULT_MAX_SIZE_PER_MSG = 1024 * 1024;
/** etcd's `MaxInflightMsgs`. */
export const DEFAULT_MAX_INFLIGHT_MSGS = 256;
/**
 * Bytes queued per peer connection before frames are dropped (Raft retransmits). It must hold at
 * least one message of the maximum size plus one full MsgApp, or a large message could never ship.
 */
export const DEFAULT_PEER_QUEUE_BYTES = 256 * 1024 * 1024;

/** Uncommitted bytes a queue leader accepts before it slows publishers. */
export const DEFAULT_MAX_UNCOMMITTED_BYTES = 64 * 1024 * 1024;
/** RabbitMQ's `vm_memory_high_watermark.relative`: fraction of total memory. */
export const DEFAULT_MEMORY_HIGH_WATERMARK = 0.4;

/** RabbitMQ's `default_user` / `default_pass` / `default_vhost` / `loopback_users`. */
export const DEFAULT_USER = "guest";
export const DEFAULT_PASS = "guest";
export const DEFAULT_VHOST = "/";
export const DEFAULT_LOOPBACK_USERS: readonly string[] = ["guest"];

/**
 * A peer whose connection stays down this long is declared down: the queues it had consumers on
 * return its unacked messages, and its transient queues are deleted. Shorter than RabbitMQ's
 * net_ticktime (60 s) since a Raft group notices a dead peer in well under a second.
 */
export const DEFAULT_NODE_DOWN_GRACE_MS = 15_000;

/**
 * A graceful stop (SIGTERM/SIGINT) that takes longer than this exits anyway, logging what did not
 * finish. Below the 30 s an orchestrator usually grants before SIGKILL (Kubernetes'
 * terminationGracePeriodSeconds), above the proposal timeout a publish in flight may need.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 15_000;

/** RabbitMQ's quorum queue `x-quorum-initial-group-size` default (or every node if fewer). */
export const DEFAULT_INITIAL_GROUP_SIZE = 3;
/** Where a new queue's leader goes (RabbitMQ's `queue_leader_locator`; its default too). */
export const QUEUE_LEADER_LOCATORS = ["client-local", "balanced"] as const;
export type QueueLeaderLocator = (typeof QUEUE_LEADER_LOCATORS)[number];
export const DEFAULT_QUEUE_LEADER_LOCATOR: QueueLeaderLocator = "client-local";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const DEFAULT_LOG_LEVEL: LogLevel = "info";

/** A shorter secret is guessable; the transport's HMAC handshake is only as strong as it. */
export const MIN_CLUSTER_SECRET_LENGTH = 16;
