/**
 * The data of the metadata group: records, commands, replies and change events.
 *
 * Everything here is plain data (msgpackr encodes it as is): commands travel in Raft entries,
 * replies travel back to the proposing node, change events feed every node's derived state
 * (routing index, queue Raft groups, consumers). Field values (arguments) are what the AMQP
 * codec decodes: string, number, bigint, boolean, null (void), Uint8Array, Date, arrays, tables.
 */
import type { NodeId } from "../../raft/core/types.js";
import type { ErrorData } from "../errors.js";

export type FieldValue = unknown;
export type FieldTable = Readonly<Record<string, FieldValue>>;

/** A connection's identity, unique across the cluster (e.g. `${nodeId}/${counter}`). */
export type ConnectionId = string;

export const EXCHANGE_TYPES = ["direct", "fanout", "topic", "headers", "x-consistent-hash"] as const;
export type ExchangeType = (typeof EXCHANGE_TYPES)[number];

/**
 * `quorum`: a replicated queue with its own Raft group (every durable, non-exclusive,
 * non-auto-delete queue). `transient`: lives in memory on its home node, no Raft group.
 */
export type QueueType = "quorum" | "transient";

export interface VHostRecord {
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** Raft index of the command that created it. */
  readonly createdIndex: number;
  readonly createdAt: number;
}

export interface ExchangeRecord {
  readonly vhost: string;
  readonly name: string;
  readonly type: ExchangeType;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
  /** Pre-declared by Warren in every vhost ("", amq.*): cannot be deleted. */
  readonly system: boolean;
  readonly createdIndex: number;
  readonly createdAt: number;
  readonly createdBy: string | undefined;
}

export interface QueueRecord {
  readonly vhost: string;
  readonly name: string;
  /** As RabbitMQ stores it: false for exclusive queues even when declared durable. */
  readonly durable: boolean;
  readonly autoDelete: boolean;
  /** The owning connection of an exclusive queue; undefined when not exclusive. */
  readonly owner: ConnectionId | undefined;
  /** As declared, plus `x-queue-type: quorum` when Warren made a durable declare replicated. */
  readonly arguments: FieldTable;
  readonly type: QueueType;
  /**
   * The Raft group of a quorum queue: unique per incarnation (a queue deleted and declared again
   * gets a new group, so a slow replica of the old one can never join the new one).
   */
  readonly group: string | undefined;
  /** Quorum: replica nodes chosen by placement. Transient: [home node]. */
  readonly members: readonly NodeId[];
  /** Quorum: leader as last reported by placement (Raft may have moved it). Transient: the home node. */
  readonly leader: NodeId;
  /**
   * Quorum: the members chosen at declare, never changed afterwards: the group's configuration
   * at index 0, which every replica bootstraps its Raft group with (a snapshot or the log's
   * membership entries then bring it to the current one). Absent on records written before
   * members could change: `members` then never changed either.
   */
  readonly initialMembers?: readonly NodeId[];
  /** Raft index of the declare that created it: the queue's incarnation. */
  readonly createdIndex: number;
  readonly createdAt: number;
  readonly createdBy: string | undefined;
}

export type DestinationKind = "queue" | "exchange";

/**
 * A node that joined the running cluster (`node.join`): every node connects to it at `raft`.
 * Nodes of the static configuration have no record (each node's configuration names them).
 */
export interface ClusterNodeRecord {
  readonly id: NodeId;
  /** `host:port` of its Raft listener, as its peers reach it. */
  readonly raft: string;
  readonly amqp?: string;
  readonly http?: string;
  /** Raft index of the first `node.join` of this node. */
  readonly joinedIndex: number;
}

/**
 * A user of both doors. The password is hashed by the node layer (salt and hashing need
 * randomness and a clock-free machine has neither); the machine stores it opaquely.
 */
export interface UserRecord {
  readonly name: string;
  /** Undefined: the user cannot log in with a password (RabbitMQ's empty password_hash). */
  readonly passwordHash: string | undefined;
  /** The scheme of `passwordHash`, e.g. RabbitMQ's `rabbit_password_hashing_sha256`. */
  readonly hashingAlgorithm: string;
  /** Management tags: `administrator`, `management`, `monitoring`, `policymaker`, ... */
  readonly tags: readonly string[];
  readonly createdIndex: number;
}

/** A user's rights in a vhost: regular expressions over resource names, as RabbitMQ. */
export interface PermissionRecord {
  readonly vhost: string;
  readonly user: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

export interface BindingRecord {
  readonly vhost: string;
  /** Source exchange name (never "": the default exchange's bindings are implicit). */
  readonly source: string;
  readonly destinationKind: DestinationKind;
  readonly destination: string;
  readonly routingKey: string;
  readonly arguments: FieldTable;
}

/** Why a queue went away; the node layer cancels consumers with it (basic.cancel) and logs it. */
export type QueueDeleteReason =
  | "deleted"
  | "auto-delete"
  | "expired"
  | "owner-closed"
  | "home-node-down"
  | "vhost-deleted";

export type ExchangeDeleteReason = "deleted" | "auto-delete" | "vhost-deleted";

/**
 * What changed, in the order it happened. Every node applies these to its derived state
 * (unlike queue effects, which only the leader runs): bindings are removed before the entity
 * they belong to is deleted, and an entity is declared before bindings that use it are added.
 */
export type MetaChange =
  | { readonly type: "vhost-created"; readonly vhost: VHostRecord }
  | { readonly type: "vhost-deleted"; readonly vhost: string }
  | { readonly type: "exchange-declared"; readonly exchange: ExchangeRecord }
  | {
      readonly type: "exchange-deleted";
      readonly exchange: ExchangeRecord;
      readonly reason: ExchangeDeleteReason;
    }
  | { readonly type: "queue-declared"; readonly queue: QueueRecord }
  | { readonly type: "queue-deleted"; readonly queue: QueueRecord; readonly reason: QueueDeleteReason }
  /** A quorum queue's members (or preferred leader) changed: replicas are added or removed to match. */
  | { readonly type: "queue-placement-changed"; readonly queue: QueueRecord }
  /** A node joined the cluster (or changed its addresses): every node connects to it. */
  | { readonly type: "node-joined"; readonly node: ClusterNodeRecord }
  /** A node was removed from the cluster (forget_cluster_node): its consumers are released. */
  | { readonly type: "node-removed"; readonly node: NodeId }
  | { readonly type: "binding-added"; readonly binding: BindingRecord }
  | { readonly type: "binding-removed"; readonly binding: BindingRecord }
  | { readonly type: "user-put"; readonly user: UserRecord }
  /** The node layer closes the user's connections, as RabbitMQ does. */
  | { readonly type: "user-deleted"; readonly user: string }
  | { readonly type: "permission-set"; readonly permission: PermissionRecord }
  | { readonly type: "permission-deleted"; readonly vhost: string; readonly user: string };

/** Every command may name the user acting (kept as creation info, as RabbitMQ's `user_who_performed_action`). */
interface Acting {
  readonly user?: string;
}

export interface VHostCreate extends Acting {
  readonly type: "vhost.create";
  readonly name: string;
  readonly description?: string;
  readonly tags?: readonly string[];
}
export interface VHostDelete extends Acting {
  readonly type: "vhost.delete";
  readonly name: string;
}

export interface ExchangeDeclare extends Acting {
  readonly type: "exchange.declare";
  readonly vhost: string;
  readonly name: string;
  readonly exchangeType: string;
  readonly passive?: boolean;
  readonly durable?: boolean;
  readonly autoDelete?: boolean;
  readonly internal?: boolean;
  readonly arguments?: FieldTable;
}
export interface ExchangeDelete extends Acting {
  readonly type: "exchange.delete";
  readonly vhost: string;
  readonly name: string;
  readonly ifUnused?: boolean;
}

export interface QueueDeclare extends Acting {
  readonly type: "queue.declare";
  readonly vhost: string;
  /** "" asks for a server-named queue: the machine uses `generatedName`. */
  readonly name: string;
  /** `amq.gen-` + random, drawn by the proposing node (the machine stays deterministic). */
  readonly generatedName?: string;
  readonly passive?: boolean;
  readonly durable?: boolean;
  readonly exclusive?: boolean;
  readonly autoDelete?: boolean;
  readonly arguments?: FieldTable;
  /** The declaring connection (owner of an exclusive queue; exclusivity checks). None for HTTP. */
  readonly connection?: ConnectionId;
  /** The node the client is connected to: home of a transient queue. */
  readonly node: NodeId;
  /** Replicas and initial leader of a new quorum queue, chosen by placement before proposing. */
  readonly placement?: { readonly members: readonly NodeId[]; readonly leader: NodeId };
}

export interface QueueDelete extends Acting {
  readonly type: "queue.delete";
  readonly vhost: string;
  readonly name: string;
  readonly ifUnused?: boolean;
  readonly ifEmpty?: boolean;
  readonly connection?: ConnectionId;
  /**
   * What the node layer read from the queue (its leader) just before proposing; required when
   * `ifUnused` / `ifEmpty` is set. The machine applies RabbitMQ's rule and texts to them.
   */
  readonly observed?: { readonly consumers: number; readonly messages: number };
}

/**
 * A deletion the node layer decides on the queue's behalf: `auto-delete` (last consumer
 * cancelled) or `expired` (x-expires). `incarnation` (the record's `createdIndex`) makes a
 * late proposal harmless to a queue declared again under the same name.
 */
export interface QueueDeleteInternal extends Acting {
  readonly type: "queue.delete-internal";
  readonly vhost: string;
  readonly name: string;
  readonly incarnation: number;
  readonly reason: "auto-delete" | "expired";
}

export interface QueueUpdatePlacement extends Acting {
  readonly type: "queue.update-placement";
  readonly vhost: string;
  readonly name: string;
  readonly incarnation: number;
  readonly members: readonly NodeId[];
  readonly leader: NodeId;
}

/**
 * rabbitmq-queues add_member: `node` becomes a member of the queue (its replica joins as a
 * learner, catches up, then votes; the queue's leader carries that out).
 */
export interface QueueAddMember extends Acting {
  readonly type: "queue.add-member";
  readonly vhost: string;
  readonly name: string;
  readonly node: NodeId;
}

/** rabbitmq-queues delete_member: `node` stops being a member (never the last one). */
export interface QueueRemoveMember extends Acting {
  readonly type: "queue.remove-member";
  readonly vhost: string;
  readonly name: string;
  readonly node: NodeId;
}

/**
 * A node asks to join the running cluster (it was started with `join`). Refused for a node that
 * was removed before: it must come back under a new id (its old replicas' votes are unknown).
 */
export interface NodeJoin extends Acting {
  readonly type: "node.join";
  readonly node: NodeId;
  readonly raft: string;
  readonly amqp?: string;
  readonly http?: string;
}

/**
 * rabbitmqctl forget_cluster_node: the node leaves every group. Each quorum queue it was a member
 * of loses it and gains the replacement named in `replacements` (chosen by placement), if any.
 */
export interface NodeForget extends Acting {
  readonly type: "node.forget";
  readonly node: NodeId;
  readonly replacements?: readonly { readonly vhost: string; readonly name: string; readonly node: NodeId }[];
}

interface BindingCommand extends Acting {
  readonly vhost: string;
  readonly source: string;
  readonly destinationKind: DestinationKind;
  readonly destination: string;
  readonly routingKey: string;
  readonly arguments?: FieldTable;
  readonly connection?: ConnectionId;
}
export interface BindingAdd extends BindingCommand {
  readonly type: "binding.add";
}
export interface BindingRemove extends BindingCommand {
  readonly type: "binding.remove";
}

/** A connection closed: its exclusive queues go (RabbitMQ's queue collector). */
export interface ConnectionClosed extends Acting {
  readonly type: "connection.closed";
  readonly connection: ConnectionId;
}

/**
 * A node lost its in-memory queues: it left the cluster, crashed or restarted. Its transient
 * queues (exclusive, auto-delete, non-durable) are deleted, as RabbitMQ does for a dead node's
 * transient queues. The node proposes it for itself at startup before serving clients.
 */
export interface NodeDown extends Acting {
  readonly type: "node.down";
  readonly node: NodeId;
}

export interface UserPut extends Acting {
  readonly type: "user.put";
  readonly name: string;
  /** Absent: keep the current hash (or none for a new user). */
  readonly passwordHash?: string;
  /** Set to true to remove the password (RabbitMQ's empty password_hash). */
  readonly clearPassword?: boolean;
  readonly hashingAlgorithm?: string;
  readonly tags?: readonly string[];
}
export interface UserDelete extends Acting {
  readonly type: "user.delete";
  readonly name: string;
}
export interface PermissionSet extends Acting {
  readonly type: "permission.set";
  readonly vhost: string;
  /** The user the permission is for (`user` is the one acting, as in every command). */
  readonly username: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}
/**
 * First boot: the default user with its permissions on the default vhost (created if missing),
 * in ONE entry, so no replica ever sees the user without its permissions (a client would get
 * 403 there). A no-op when any user exists (a second bootstrapping leader, a later term).
 */
export interface UserBootstrap extends Acting {
  readonly type: "user.bootstrap";
  readonly name: string;
  readonly passwordHash: string;
  readonly hashingAlgorithm?: string;
  readonly tags: readonly string[];
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}
export interface PermissionDelete extends Acting {
  readonly type: "permission.delete";
  readonly vhost: string;
  readonly username: string;
}

export type MetaCommand =
  | VHostCreate
  | VHostDelete
  | ExchangeDeclare
  | ExchangeDelete
  | QueueDeclare
  | QueueDelete
  | QueueDeleteInternal
  | QueueUpdatePlacement
  | QueueAddMember
  | QueueRemoveMember
  | NodeJoin
  | NodeForget
  | BindingAdd
  | BindingRemove
  | ConnectionClosed
  | NodeDown
  | UserPut
  | UserDelete
  | UserBootstrap
  | PermissionSet
  | PermissionDelete;

/** Success payloads per command type. */
export interface MetaReplies {
  "vhost.create": { readonly created: boolean; readonly vhost: VHostRecord };
  "vhost.delete": { readonly deleted: true };
  "exchange.declare": { readonly created: boolean; readonly exchange: ExchangeRecord };
  "exchange.delete": { readonly deleted: boolean };
  /** Declare-ok message/consumer counts come from the queue itself, not from here. */
  "queue.declare": { readonly created: boolean; readonly queue: QueueRecord };
  "queue.delete": { readonly deleted: boolean; readonly queue: QueueRecord | undefined };
  "queue.delete-internal": { readonly deleted: boolean };
  "queue.update-placement": { readonly updated: boolean };
  /** `changed: false` when the node already was (add) or was not (remove) a member. */
  "queue.add-member": { readonly changed: boolean; readonly queue: QueueRecord };
  "queue.remove-member": { readonly changed: boolean; readonly queue: QueueRecord };
  "node.join": { readonly joined: boolean; readonly node: ClusterNodeRecord };
  "node.forget": { readonly forgotten: boolean; readonly queues: number };
  "binding.add": { readonly created: boolean };
  "binding.remove": { readonly removed: boolean };
  "connection.closed": { readonly deletedQueues: number };
  "node.down": { readonly deletedQueues: number };
  "user.put": { readonly created: boolean; readonly user: UserRecord };
  "user.delete": { readonly deleted: true };
  "user.bootstrap": { readonly created: boolean };
  "permission.set": { readonly permission: PermissionRecord };
  "permission.delete": { readonly deleted: true };
}

export type MetaReply<T extends MetaCommand["type"] = MetaCommand["type"]> =
  | ({ readonly ok: true } & MetaReplies[T])
  | { readonly ok: false; readonly error: ErrorData };

export interface MetaResult<T extends MetaCommand["type"] = MetaCommand["type"]> {
  readonly reply: MetaReply<T>;
  /** Empty when the command failed or changed nothing. */
  readonly changes: readonly MetaChange[];
}
