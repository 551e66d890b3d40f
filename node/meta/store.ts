/**
 * The metadata records (vhosts, exchanges, queues, bindings, users, permissions) and their indexes, with the structural rules that keep them consistent:
 * no binding outlives its source or destination, and an auto-delete exchange goes when the last
 * binding with it as source goes (rabbit_binding's maybe_auto_delete, cascading).
 *
 * Maps keep insertion order and snapshots list records in that order, so a restored store
 * iterates exactly like the original: replay after a snapshot stays deterministic.
 */
import { canonicalTable } from "./format.js";
import type {
  BindingRecord,
  ClusterNodeRecord,
  ExchangeDeleteReason,
  ExchangeRecord,
  ExchangeType,
  FieldTable,
  MetaChange,
  PermissionRecord,
  QueueDeleteReason,
  QueueRecord,
  UserRecord,
  VHostRecord,
} from "./types.js";

/** Exchanges every vhost has from its creation (amq.rabbitmq.trace is not provided). */
export const SYSTEM_EXCHANGES: ReadonlyArray<readonly [string, ExchangeType]> = [
  ["", "direct"],
  ["amq.direct", "direct"],
  ["amq.fanout", "fanout"],
  ["amq.topic", "topic"],
  ["amq.headers", "headers"],
  ["amq.match", "headers"],
];

export const DEFAULT_VHOST = "/";

export function entityKey(vhost: string, name: string): string {
  return `${vhost}\u0000${name}`;
}

export function bindingId(b: BindingRecord): string {
  return [
    b.vhost,
    b.source,
    b.destinationKind,
    b.destination,
    b.routingKey,
    canonicalTable(b.arguments),
  ].join("\u0000");
}

function destinationKey(kind: "queue" | "exchange", vhost: string, name: string): string {
  return `${kind === "queue" ? "q" : "e"}\u0000${entityKey(vhost, name)}`;
}

/**
 * A copy without `undefined` values (absent and undefined must mean the same everywhere).
 * Keys are defined, not assigned, so a client's `__proto__` argument stays an ordinary key.
 */
export function cleanTable(t: FieldTable | undefined): FieldTable {
  const out: Record<string, unknown> = {};
  if (t === undefined) return out;
  for (const k of Object.keys(t)) {
    if (t[k] !== undefined)
      Object.defineProperty(out, k, { value: t[k], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

export interface StoreData {
  readonly vhosts: readonly VHostRecord[];
  readonly exchanges: readonly ExchangeRecord[];
  readonly queues: readonly QueueRecord[];
  readonly bindings: readonly BindingRecord[];
  readonly users: readonly UserRecord[];
  readonly permissions: readonly PermissionRecord[];
  /** Absent in snapshots taken before nodes could join or leave: none had. */
  readonly nodes?: readonly ClusterNodeRecord[];
  readonly removedNodes?: readonly string[];
}

export class MetaStore {
  readonly vhosts = new Map<string, VHostRecord>();
  readonly exchanges = new Map<string, ExchangeRecord>();
  readonly queues = new Map<string, QueueRecord>();
  readonly bindings = new Map<string, BindingRecord>();
  readonly users = new Map<string, UserRecord>();
  /** By entityKey(vhost, user). */
  readonly permissions = new Map<string, PermissionRecord>();
  /** Nodes that joined the running cluster, by id (static nodes are not recorded). */
  readonly nodes = new Map<string, ClusterNodeRecord>();
  /** Ids of nodes removed from the cluster (forget_cluster_node): never members again. */
  readonly removedNodes = new Set<string>();
  /** Exclusive queues' keys by owning connection. */
  private readonly byOwner = new Map<string, Set<string>>();
  /** Binding ids by source exchange key. */
  private readonly bySource = new Map<string, Set<string>>();
  /** Binding ids by destination key (queue or exchange). */
  private readonly byDestination = new Map<string, Set<string>>();

  exchange(vhost: string, name: string): ExchangeRecord | undefined {
    return this.exchanges.get(entityKey(vhost, name));
  }

  queue(vhost: string, name: string): QueueRecord | undefined {
    return this.queues.get(entityKey(vhost, name));
  }

  bindingsFrom(vhost: string, exchange: string): BindingRecord[] {
    return this.resolve(this.bySource.get(entityKey(vhost, exchange)));
  }

  bindingsTo(kind: "queue" | "exchange", vhost: string, name: string): BindingRecord[] {
    return this.resolve(this.byDestination.get(destinationKey(kind, vhost, name)));
  }

  hasBindingsFrom(vhost: string, exchange: string): boolean {
    return (this.bySource.get(entityKey(vhost, exchange))?.size ?? 0) > 0;
  }

  private resolve(ids: Set<string> | undefined): BindingRecord[] {
    if (ids === undefined) return [];
    return [...ids].map((id) => this.bindings.get(id) as BindingRecord);
  }

  putVHost(v: VHostRecord): void {
    this.vhosts.set(v.name, Object.freeze(v));
  }

  putExchange(x: ExchangeRecord): void {
    this.exchanges.set(entityKey(x.vhost, x.name), Object.freeze(x));
  }

  putQueue(q: QueueRecord): void {
    const key = entityKey(q.vhost, q.name);
    this.queues.set(key, Object.freeze(q));
    if (q.owner !== undefined) addTo(this.byOwner, q.owner, key);
  }

  /** The exclusive queues a connection owns, in creation order. */
  queuesOwnedBy(connection: string): QueueRecord[] {
    const keys = this.byOwner.get(connection);
    if (keys === undefined) return [];
    return [...keys].map((k) => this.queues.get(k) as QueueRecord);
  }

  private forgetQueue(q: QueueRecord): void {
    const key = entityKey(q.vhost, q.name);
    this.queues.delete(key);
    if (q.owner !== undefined) removeFrom(this.byOwner, q.owner, key);
  }

  putUser(u: UserRecord): void {
    this.users.set(u.name, Object.freeze(u));
  }

  putPermission(p: PermissionRecord): void {
    this.permissions.set(entityKey(p.vhost, p.user), Object.freeze(p));
  }

  /** Deletes permissions matching the predicate (a deleted vhost's or user's). */
  deletePermissions(match: (p: PermissionRecord) => boolean, changes: MetaChange[]): void {
    for (const [key, p] of [...this.permissions]) {
      if (!match(p)) continue;
      this.permissions.delete(key);
      changes.push({ type: "permission-deleted", vhost: p.vhost, user: p.user });
    }
  }

  /** Adds a binding; false when the same binding (source, destination, key, arguments) exists. */
  addBinding(b: BindingRecord): boolean {
    const id = bindingId(b);
    if (this.bindings.has(id)) return false;
    this.bindings.set(id, Object.freeze(b));
    addTo(this.bySource, entityKey(b.vhost, b.source), id);
    addTo(this.byDestination, destinationKey(b.destinationKind, b.vhost, b.destination), id);
    return true;
  }

  hasBinding(b: BindingRecord): boolean {
    return this.bindings.has(bindingId(b));
  }

  /** Removes one binding, then auto-deletes its source if that was its last binding. */
  removeBinding(b: BindingRecord, changes: MetaChange[]): void {
    this.dropBinding(bindingId(b), changes);
    this.maybeAutoDelete(b.vhost, b.source, changes);
  }

  /** Deletes an exchange, its bindings either way, and whatever auto-deletes as a result. */
  deleteExchange(x: ExchangeRecord, reason: ExchangeDeleteReason, changes: MetaChange[]): void {
    const sources = new Set<string>();
    for (const b of this.bindingsFrom(x.vhost, x.name)) this.dropBinding(bindingId(b), changes);
    for (const b of this.bindingsTo("exchange", x.vhost, x.name)) {
      this.dropBinding(bindingId(b), changes);
      sources.add(b.source);
    }
    this.exchanges.delete(entityKey(x.vhost, x.name));
    changes.push({ type: "exchange-deleted", exchange: x, reason });
    for (const s of sources) this.maybeAutoDelete(x.vhost, s, changes);
  }

  /** Deletes a queue and its bindings; sources left without bindings auto-delete. */
  deleteQueue(q: QueueRecord, reason: QueueDeleteReason, changes: MetaChange[]): void {
    const sources = new Set<string>();
    for (const b of this.bindingsTo("queue", q.vhost, q.name)) {
      this.dropBinding(bindingId(b), changes);
      sources.add(b.source);
    }
    this.forgetQueue(q);
    changes.push({ type: "queue-deleted", queue: q, reason });
    for (const s of sources) this.maybeAutoDelete(q.vhost, s, changes);
  }

  /** Deletes a vhost with everything in it: bindings, then queues, then exchanges. */
  deleteVHost(name: string, changes: MetaChange[]): void {
    const inVHost = <T extends { vhost: string }>(m: Map<string, T>) =>
      [...m.values()].filter((r) => r.vhost === name);
    for (const b of inVHost(this.bindings)) this.dropBinding(bindingId(b), changes);
    for (const q of inVHost(this.queues)) {
      this.forgetQueue(q);
      changes.push({ type: "queue-deleted", queue: q, reason: "vhost-deleted" });
    }
    for (const x of inVHost(this.exchanges)) {
      this.exchanges.delete(entityKey(x.vhost, x.name));
      changes.push({ type: "exchange-deleted", exchange: x, reason: "vhost-deleted" });
    }
    this.deletePermissions((p) => p.vhost === name, changes);
    this.vhosts.delete(name);
    changes.push({ type: "vhost-deleted", vhost: name });
  }

  private maybeAutoDelete(vhost: string, source: string, changes: MetaChange[]): void {
    const x = this.exchange(vhost, source);
    if (x === undefined || !x.autoDelete || this.hasBindingsFrom(vhost, source)) return;
    this.deleteExchange(x, "auto-delete", changes);
  }

  private dropBinding(id: string, changes: MetaChange[]): void {
    const b = this.bindings.get(id);
    if (b === undefined) return;
    this.bindings.delete(id);
    removeFrom(this.bySource, entityKey(b.vhost, b.source), id);
    removeFrom(this.byDestination, destinationKey(b.destinationKind, b.vhost, b.destination), id);
    changes.push({ type: "binding-removed", binding: b });
  }

  toData(): StoreData {
    return {
      vhosts: [...this.vhosts.values()],
      exchanges: [...this.exchanges.values()],
      queues: [...this.queues.values()],
      bindings: [...this.bindings.values()],
      users: [...this.users.values()],
      permissions: [...this.permissions.values()],
      nodes: [...this.nodes.values()],
      removedNodes: [...this.removedNodes],
    };
  }

  static fromData(data: StoreData): MetaStore {
    const s = new MetaStore();
    for (const v of data.vhosts) s.putVHost(v);
    for (const x of data.exchanges) s.putExchange(x);
    for (const q of data.queues) s.putQueue(q);
    for (const b of data.bindings) s.addBinding(b);
    for (const u of data.users) s.putUser(u);
    for (const p of data.permissions) s.putPermission(p);
    for (const n of data.nodes ?? []) s.nodes.set(n.id, Object.freeze(n));
    for (const id of data.removedNodes ?? []) s.removedNodes.add(id);
    return s;
  }
}

function addTo(index: Map<string, Set<string>>, key: string, id: string): void {
  let set = index.get(key);
  if (set === undefined) {
    set = new Set();
    index.set(key, set);
  }
  set.add(id);
}

function removeFrom(index: Map<string, Set<string>>, key: string, id: string): void {
  const set = index.get(key);
  if (set === undefined) return;
  set.delete(id);
  if (set.size === 0) index.delete(key);
}
