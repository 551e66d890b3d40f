/**
 * Read-only views of the metadata, for HTTP GETs and for the doors' checks that need no Raft
 * round trip (after a read barrier when they must be linearizable). Records are frozen; lists
 * come in creation order.
 */
import type { NodeId } from "../../raft/core/types.js";
import { checkExclusiveAccess, notFound } from "./context.js";
import { entityKey, type MetaStore } from "./store.js";
import type {
  BindingRecord,
  ClusterNodeRecord,
  ConnectionId,
  DestinationKind,
  ExchangeRecord,
  MetaChange,
  PermissionRecord,
  QueueRecord,
  QueueType,
  UserRecord,
  VHostRecord,
} from "./types.js";

export interface QueueFilter {
  readonly vhost?: string;
  readonly type?: QueueType;
  /** Exclusive queues of this connection. */
  readonly owner?: ConnectionId;
  /** Queues with a replica (quorum) or their home (transient) on this node. */
  readonly node?: NodeId;
}

export interface BindingFilter {
  readonly vhost?: string;
  readonly source?: string;
  readonly destination?: { readonly kind: DestinationKind; readonly name: string };
  /**
   * Include the default exchange's implicit bindings (one per queue, key = queue name), as
   * RabbitMQ's binding listings do. They are never stored.
   */
  readonly includeImplicit?: boolean;
}

export type PermissionKind = "configure" | "write" | "read";

export class MetaQueries {
  /** Compiled permission regexes, by source (a pure cache: it does not change results). */
  private readonly regexes = new Map<string, RegExp>();

  constructor(protected store: MetaStore) {}

  users(): UserRecord[] {
    return [...this.store.users.values()];
  }

  user(name: string): UserRecord | undefined {
    return this.store.users.get(name);
  }

  permissions(filter: { readonly vhost?: string; readonly user?: string } = {}): PermissionRecord[] {
    return [...this.store.permissions.values()].filter(
      (p) =>
        (filter.vhost === undefined || p.vhost === filter.vhost) &&
        (filter.user === undefined || p.user === filter.user),
    );
  }

  permission(vhost: string, user: string): PermissionRecord | undefined {
    return this.store.permissions.get(entityKey(vhost, user));
  }

  /**
   * RabbitMQ's permission check: the user's regex for `kind` in `vhost` matches the resource
   * name (unanchored, as RabbitMQ runs it; `^$` matches nothing but ""). The doors name the
   * default exchange `amq.default` here, as RabbitMQ does.
   */
  permits(user: string, vhost: string, kind: PermissionKind, resource: string): boolean {
    const p = this.permission(vhost, user);
    if (p === undefined) return false;
    const source = p[kind];
    let re = this.regexes.get(source);
    if (re === undefined) {
      re = new RegExp(source);
      if (this.regexes.size > 1000) this.regexes.clear();
      this.regexes.set(source, re);
    }
    return re.test(resource);
  }

  vhosts(): VHostRecord[] {
    return [...this.store.vhosts.values()];
  }

  vhost(name: string): VHostRecord | undefined {
    return this.store.vhosts.get(name);
  }

  exchanges(vhost?: string): ExchangeRecord[] {
    const all = [...this.store.exchanges.values()];
    return vhost === undefined ? all : all.filter((x) => x.vhost === vhost);
  }

  exchange(vhost: string, name: string): ExchangeRecord | undefined {
    return this.store.exchange(vhost, name);
  }

  queues(filter: QueueFilter = {}): QueueRecord[] {
    const from =
      filter.owner === undefined ? this.store.queues.values() : this.store.queuesOwnedBy(filter.owner);
    return [...from].filter(
      (q) =>
        (filter.vhost === undefined || q.vhost === filter.vhost) &&
        (filter.type === undefined || q.type === filter.type) &&
        (filter.owner === undefined || q.owner === filter.owner) &&
        (filter.node === undefined || q.members.includes(filter.node)),
    );
  }

  queue(vhost: string, name: string): QueueRecord | undefined {
    return this.store.queue(vhost, name);
  }

  /**
   * A queue as a connection may use it (consume, get, purge, passive declare): NOT_FOUND when it
   * does not exist, RESOURCE_LOCKED when it is another connection's exclusive queue.
   */
  accessQueue(vhost: string, name: string, connection: ConnectionId | undefined): QueueRecord {
    const q = this.store.queue(vhost, name);
    if (q === undefined) throw notFound("queue", vhost, name);
    checkExclusiveAccess(q, connection, "lax");
    return q;
  }

  /** An exchange for a publish or a passive declare: NOT_FOUND when it does not exist. */
  accessExchange(vhost: string, name: string): ExchangeRecord {
    const x = this.store.exchange(vhost, name);
    if (x === undefined) throw notFound("exchange", vhost, name);
    return x;
  }

  bindings(filter: BindingFilter = {}): BindingRecord[] {
    let list: BindingRecord[];
    const { vhost, source, destination } = filter;
    if (vhost !== undefined && source !== undefined) list = this.store.bindingsFrom(vhost, source);
    else if (vhost !== undefined && destination !== undefined) {
      list = this.store.bindingsTo(destination.kind, vhost, destination.name);
    } else list = [...this.store.bindings.values()];
    list = list.filter(
      (b) =>
        (vhost === undefined || b.vhost === vhost) &&
        (source === undefined || b.source === source) &&
        (destination === undefined ||
          (b.destinationKind === destination.kind && b.destination === destination.name)),
    );
    if (filter.includeImplicit !== true || (source !== undefined && source !== "")) return list;
    if (destination !== undefined && destination.kind === "exchange") return list;
    const implicit = this.queues(vhost === undefined ? {} : { vhost })
      .filter((q) => destination === undefined || q.name === destination.name)
      .map(implicitBinding);
    return [...implicit, ...list];
  }

  /**
   * The changes that build the current state from nothing, in an order derived state can apply
   * (vhosts, then exchanges and queues, then bindings). Used after `restore` and at startup.
   */
  /** Nodes that joined the running cluster (static nodes are in each node's configuration). */
  clusterNodes(): ClusterNodeRecord[] {
    return [...this.store.nodes.values()];
  }

  /** Ids of nodes removed from the cluster. */
  removedNodes(): string[] {
    return [...this.store.removedNodes];
  }

  replayChanges(): MetaChange[] {
    const out: MetaChange[] = [];
    for (const vhost of this.store.vhosts.values()) out.push({ type: "vhost-created", vhost });
    for (const exchange of this.store.exchanges.values()) out.push({ type: "exchange-declared", exchange });
    for (const queue of this.store.queues.values()) out.push({ type: "queue-declared", queue });
    for (const binding of this.store.bindings.values()) out.push({ type: "binding-added", binding });
    for (const user of this.store.users.values()) out.push({ type: "user-put", user });
    for (const permission of this.store.permissions.values())
      out.push({ type: "permission-set", permission });
    return out;
  }
}

function implicitBinding(q: QueueRecord): BindingRecord {
  return {
    vhost: q.vhost,
    source: "",
    destinationKind: "queue",
    destination: q.name,
    routingKey: q.name,
    arguments: {},
  };
}
