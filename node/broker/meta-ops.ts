/**
 * The Broker's metadata operations: permission checks as rabbit_channel does them, placement of
 * new quorum queues, then one proposal to the metadata group (resolved once applied here).
 */
import { randomBytes } from "node:crypto";
import { effectiveLeaderLocator } from "../cluster/leader-locator.js";
import { loadOf, placeReplicas } from "../cluster/placement.js";
import { WarrenError } from "../errors.js";
import {
  type ExchangeRecord,
  type QueueDeclare,
  type QueueRecord,
  SERVER_NAMED_PREFIX,
} from "../meta/index.js";
import { authorize } from "./auth.js";
import { awaitRecovered, type BrokerContext } from "./context.js";
import { hashPassword, SHA256_SCHEME } from "./passwords.js";
import type { QueueGroups } from "./queue-groups.js";
import type {
  BindingRequest,
  ClientContext,
  ExchangeDeclareRequest,
  QueueDeclareRequest,
  QueueDeclareResult,
} from "./types.js";

/** Attempts at a fresh server-generated name when the drawn one is taken (practically never). */
const SERVER_NAME_ATTEMPTS = 3;

function positiveInt(v: unknown): number | undefined {
  const n = typeof v === "bigint" ? Number(v) : v;
  return typeof n === "number" && Number.isInteger(n) && n > 0 ? n : undefined;
}

export class MetaOps {
  constructor(
    private readonly ctx: BrokerContext,
    private readonly queues: QueueGroups,
  ) {}

  private get machine() {
    return this.ctx.meta.machine;
  }

  async declareExchange(c: ClientContext, req: ExchangeDeclareRequest): Promise<ExchangeRecord> {
    if (!req.passive) authorize(this.machine, c, "configure", { kind: "exchange", name: req.name });
    const r = await this.ctx.meta.propose({
      type: "exchange.declare",
      vhost: c.vhost,
      name: req.name,
      exchangeType: req.type,
      passive: req.passive,
      durable: req.durable,
      autoDelete: req.autoDelete,
      internal: req.internal,
      arguments: req.arguments,
      user: c.user,
    });
    return r.exchange;
  }

  async deleteExchange(c: ClientContext, name: string, opts: { ifUnused: boolean }): Promise<void> {
    authorize(this.machine, c, "configure", { kind: "exchange", name });
    await this.ctx.meta.propose({
      type: "exchange.delete",
      vhost: c.vhost,
      name,
      ifUnused: opts.ifUnused,
      user: c.user,
    });
  }

  async declareQueue(c: ClientContext, req: QueueDeclareRequest): Promise<QueueDeclareResult> {
    if (!req.passive && req.name !== "")
      authorize(this.machine, c, "configure", { kind: "queue", name: req.name });
    const replicated = req.durable && !req.exclusive && !req.autoDelete;
    // A transient queue homed here must not be declared before node.down for this node's
    // previous process committed (it would delete it).
    if (!replicated && !req.passive) await awaitRecovered(this.ctx);
    const base: QueueDeclare = {
      type: "queue.declare",
      vhost: c.vhost,
      name: req.name,
      passive: req.passive,
      durable: req.durable,
      exclusive: req.exclusive,
      autoDelete: req.autoDelete,
      arguments: req.arguments,
      connection: c.connection,
      node: this.ctx.nodeId,
      user: c.user,
    };
    let queue: QueueRecord | undefined;
    let created = false;
    for (let attempt = 1; queue === undefined; attempt++) {
      const cmd: QueueDeclare = {
        ...base,
        ...(req.name === "" && !req.passive
          ? { generatedName: SERVER_NAMED_PREFIX + randomBytes(16).toString("base64url") }
          : {}),
        ...(replicated && !req.passive ? { placement: this.place(c.vhost, req) } : {}),
      };
      try {
        const r = await this.ctx.meta.propose(cmd);
        queue = r.queue;
        created = r.created;
      } catch (err) {
        if (req.name === "" && WarrenError.is(err, "INTERNAL_ERROR") && attempt < SERVER_NAME_ATTEMPTS)
          continue;
        throw err;
      }
    }
    if (created) return { queue, messageCount: 0, consumerCount: 0 };
    // A redeclare counts as use for x-expires (rabbit_amqqueue's check of queue use).
    if (!req.passive) await this.queues.execute(queue, { type: "touch" }).catch(() => undefined);
    const counts = await this.queues.counts(queue);
    return { queue, messageCount: counts?.messagesReady ?? 0, consumerCount: counts?.consumers ?? 0 };
  }

  /**
   * Members and preferred leader of a new quorum queue, over the nodes that are up. The declare
   * runs on the node the client is connected to (AMQP) or that received the request (HTTP), so
   * this node is the `client-local` leader.
   */
  private place(vhost: string, req: QueueDeclareRequest): { members: string[]; leader: string } {
    const up = this.ctx.nodes.filter((n) => n === this.ctx.nodeId || this.ctx.transport.isPeerUp(n));
    const groups = this.machine
      .queues({ type: "quorum" })
      .filter((q) => q.group !== undefined)
      .map((q) => ({ group: q.group!, leader: q.leader, members: q.members }));
    const size =
      positiveInt(req.arguments["x-quorum-initial-group-size"]) ?? this.ctx.settings.initialGroupSize;
    const p = placeReplicas({
      nodes: up,
      load: loadOf(up, groups),
      groupSize: size,
      seed: `${vhost}/${req.name}`,
      leaderLocator: effectiveLeaderLocator(req.arguments, this.ctx.settings.queueLeaderLocator),
      clientNode: this.ctx.nodeId,
    });
    return { members: [...p.members], leader: p.leader };
  }

  /** Resolves with the number of messages deleted with the queue. */
  async deleteQueue(
    c: ClientContext,
    name: string,
    opts: { ifUnused: boolean; ifEmpty: boolean },
  ): Promise<number> {
    authorize(this.machine, c, "configure", { kind: "queue", name });
    const record = this.machine.queue(c.vhost, name);
    const counts = record === undefined ? undefined : await this.queues.counts(record);
    const observed =
      opts.ifUnused || opts.ifEmpty
        ? { observed: { consumers: counts?.consumers ?? 0, messages: counts?.messages ?? 0 } }
        : {};
    await this.ctx.meta.propose({
      type: "queue.delete",
      vhost: c.vhost,
      name,
      ifUnused: opts.ifUnused,
      ifEmpty: opts.ifEmpty,
      connection: c.connection,
      user: c.user,
      ...observed,
    });
    return counts?.messages ?? 0;
  }

  async purgeQueue(c: ClientContext, name: string): Promise<number> {
    const record = this.machine.accessQueue(c.vhost, name, c.connection);
    authorize(this.machine, c, "read", { kind: "queue", name });
    const reply = await this.queues.execute(record, { type: "purge" });
    return reply.type === "purged" ? reply.count : 0;
  }

  async bind(c: ClientContext, req: BindingRequest, add: boolean): Promise<void> {
    authorize(this.machine, c, "write", { kind: req.destinationKind, name: req.destination });
    authorize(this.machine, c, "read", { kind: "exchange", name: req.source });
    await this.ctx.meta.propose({
      type: add ? "binding.add" : "binding.remove",
      vhost: c.vhost,
      source: req.source,
      destinationKind: req.destinationKind,
      destination: req.destination,
      routingKey: req.routingKey,
      arguments: req.arguments,
      connection: c.connection,
      user: c.user,
    });
  }

  /**
   * As RabbitMQ's management API (rabbit_mgmt_wm_vhost): the user creating a vhost gets full
   * permissions on it (`.* .* .*`), so it can use what it made. An existing vhost is left as is.
   */
  async createVhost(user: string, name: string, opts: { description?: string; tags?: readonly string[] }) {
    const { created } = await this.ctx.meta.propose({
      type: "vhost.create",
      name,
      user,
      ...(opts.description !== undefined ? { description: opts.description } : {}),
      ...(opts.tags !== undefined ? { tags: opts.tags } : {}),
    });
    if (!created || this.machine.user(user) === undefined) return;
    await this.ctx.meta.propose({
      type: "permission.set",
      vhost: name,
      username: user,
      user,
      configure: ".*",
      write: ".*",
      read: ".*",
    });
  }

  async deleteVhost(user: string, name: string): Promise<void> {
    await this.ctx.meta.propose({ type: "vhost.delete", name, user });
  }

  async putUser(
    actor: string,
    name: string,
    opts: { password?: string; passwordHash?: string; tags: readonly string[] },
  ): Promise<void> {
    const hash = opts.password !== undefined ? hashPassword(opts.password) : opts.passwordHash;
    await this.ctx.meta.propose({
      type: "user.put",
      name,
      user: actor,
      tags: opts.tags,
      ...(hash !== undefined ? { passwordHash: hash, hashingAlgorithm: SHA256_SCHEME } : {}),
    });
  }

  async deleteUser(actor: string, name: string): Promise<void> {
    await this.ctx.meta.propose({ type: "user.delete", name, user: actor });
  }

  async setPermission(
    actor: string,
    vhost: string,
    user: string,
    perm: { configure: string; write: string; read: string },
  ): Promise<void> {
    await this.ctx.meta.propose({ type: "permission.set", vhost, username: user, user: actor, ...perm });
  }

  async deletePermission(actor: string, vhost: string, user: string): Promise<void> {
    await this.ctx.meta.propose({ type: "permission.delete", vhost, username: user, user: actor });
  }
}
