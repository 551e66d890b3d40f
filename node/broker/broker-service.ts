/**
 * The per-node broker: implements the `Broker` contract (./types.ts) over this node's RaftHost.
 *
 * HOW TO BUILD ONE:
 * - a whole node (storage + transport + host + broker) from a NodeConfig: `startNode(config)` in
 *   node/node.ts, which returns a handle with `broker` and `stop()`;
 * - over parts you already have (tests): `await BrokerService.start({ nodeId, host, transport,
 *   peers, settings?, logger? })`, with the transport started and the host started. The broker
 *   creates the metadata group itself. `stop()` stops the broker only (not host/transport).
 *
 * The parts: MetaClient (metadata group, read-your-writes), RoutingMirror (routing tables fed by
 * meta changes), QueueGroups (queue replicas and transient queues, `execute` anywhere),
 * LeaderEffects (+ DeadLetterer) run the effects where a queue is led, Consumers (this node's
 * consumers, dedupe), Messaging and MetaOps (the Broker's operations), Forwarder/Rpc
 * (node/cluster) for "any node serves any client".
 */
import type { NodeId } from "../../raft/core/types.js";
import type { RaftHost } from "../../raft/host/index.js";
import { type Logger, noopLogger } from "../../raft/logger.js";
import type { NodeStorage } from "../../raft/storage/index.js";
import type { Transport } from "../../raft/transport/index.js";
import { Forwarder } from "../cluster/forward.js";
import { effectiveLeaderLocator } from "../cluster/leader-locator.js";
import { Membership } from "../cluster/membership.js";
import { Rebalancer } from "../cluster/rebalancer.js";
import { Rpc } from "../cluster/rpc.js";
import * as D from "../config/defaults.js";
import { WarrenError } from "../errors.js";
import type {
  BindingRecord,
  DestinationKind,
  ExchangeRecord,
  PermissionKind,
  PermissionRecord,
  UserRecord,
  VHostRecord,
} from "../meta/index.js";
import type { EnqueueCommand, QueueReply } from "../queue/index.js";
import * as auth from "./auth.js";
import { Backpressure } from "./backpressure.js";
import { BodyCache } from "./body-cache.js";
import { Consumers } from "./consumers.js";
import { type BrokerContext, type BrokerSettings, DEFAULT_NODE_DOWN_GRACE_MS, guarded } from "./context.js";
import { DeadLetterer } from "./dead-lettering.js";
import { DeclareLeaderWait } from "./declare-leader.js";
import { LeaderAdmission } from "./leader-admission.js";
import { LeaderEffects } from "./leader-effects.js";
import { LeaderNews } from "./leader-news.js";
import { type MemberChangeArgs, MembershipOps } from "./membership-ops.js";
import { MembershipReconciler } from "./membership-reconciler.js";
import { Messaging } from "./messaging.js";
import { META_GROUP, MetaClient } from "./meta-client.js";
import { MetaOps } from "./meta-ops.js";
import { NodeLoss } from "./node-loss.js";
import { Publisher } from "./publish.js";
import { BrokerQueries } from "./queries.js";
import { QueueGroups } from "./queue-groups.js";
import { RoutingMirror } from "./routing-mirror.js";
import { announceRestart, removeOrphanGroups } from "./startup.js";
import type {
  BindingRequest,
  Broker,
  ClientContext,
  ConsumeRequest,
  ConsumerSink,
  ExchangeDeclareRequest,
  GetResult,
  GroupStatus,
  GrowStrategy,
  MemberChangeOutcome,
  MessageId,
  NodeInfo,
  PublishOutcome,
  PublishRequest,
  QueueDeclareRequest,
  QueueDeclareResult,
  QueueInfo,
  QueueMembers,
  SettleOp,
} from "./types.js";

/** Committed-but-unapplied metadata entries a ready node may have (one apply batch in flight). */
const READY_APPLY_LAG = 64;

export interface BrokerStartOptions {
  readonly nodeId: NodeId;
  /** Started (`await host.start()`); the broker adds the metadata and queue groups. */
  readonly host: RaftHost;
  /** Started; shared with the host. */
  readonly transport: Transport;
  /** The other nodes' ids (static membership); the metadata group spans them and this node. */
  readonly peers: readonly NodeId[];
  readonly settings?: Partial<BrokerSettings>;
  readonly logger?: Logger;
  /**
   * The node's storage, when the broker may delete the stored data of queues deleted while this
   * node was down (optional: without it such data stays, idle).
   */
  readonly storage?: NodeStorage;
}

export function defaultSettings(): BrokerSettings {
  return {
    maxMessageSize: D.DEFAULT_MAX_MESSAGE_SIZE,
    proposalTimeoutMs: D.DEFAULT_PROPOSAL_TIMEOUT_MS,
    initialGroupSize: D.DEFAULT_INITIAL_GROUP_SIZE,
    maxUncommittedBytes: D.DEFAULT_MAX_UNCOMMITTED_BYTES,
    memoryHighWatermark: D.DEFAULT_MEMORY_HIGH_WATERMARK,
    loopbackUsers: D.DEFAULT_LOOPBACK_USERS,
    defaultUser: D.DEFAULT_USER,
    defaultPass: D.DEFAULT_PASS,
    defaultVhost: D.DEFAULT_VHOST,
    nodeDownGraceMs: DEFAULT_NODE_DOWN_GRACE_MS,
    peers: [],
  };
}

export class BrokerService implements Broker {
  readonly nodeId: NodeId;
  private readonly ctx: BrokerContext;
  private readonly queues: QueueGroups;
  private readonly declareLeader: DeclareLeaderWait;
  private readonly consumers: Consumers;
  private readonly effects: LeaderEffects;
  private readonly messaging: Messaging;
  private readonly metaOps: MetaOps;
  private readonly queries: BrokerQueries;
  private readonly backpressure: Backpressure;
  private readonly membership: Membership;
  private readonly rebalancer: Rebalancer;
  private readonly reconciler: MembershipReconciler;
  private readonly membershipOps: MembershipOps;
  private restartAnnounced = false;
  private markRecovered: () => void = () => {};
  private readonly revokeListeners: ((which: { user?: string; vhost?: string }, reason: string) => void)[] =
    [];
  private connectionCounter = 0;
  /** Distinguishes this process's connection ids from a previous process's on the same node. */
  private readonly bootId = Date.now().toString(36);

  static async start(opts: BrokerStartOptions): Promise<BrokerService> {
    const b = new BrokerService(opts);
    // A joining node that could not be reached is refused before anything starts.
    if (opts.settings?.join === true) {
      try {
        b.membershipOps.joinAddresses();
      } catch (err) {
        await b.stop();
        throw err;
      }
    }
    // The initial metadata (vhost "/", its exchanges) exists without change events.
    b.ctx.routing.rebuild(b.ctx.meta.machine);
    await b.ctx.meta.start();
    b.rebalancer.start();
    b.reconciler.start();
    // A joining node is first added to the cluster (the metadata leader makes it a voter).
    const joined = opts.settings?.join === true ? b.membershipOps.joinCluster() : Promise.resolve();
    const announced = joined
      .then(() => announceRestart(b.ctx, b.queues))
      .then(() => {
        b.restartAnnounced = true;
        b.markRecovered();
        const storage = opts.storage;
        if (storage !== undefined && !b.ctx.stopped) {
          storage
            .groups()
            .then((stored) => b.reconciler.adoptStoredReplicas(stored))
            .catch((err: unknown) =>
              b.ctx.logger.warn({ err }, "resuming replicas of former members failed"),
            );
          removeOrphanGroups(b.ctx, storage, b.queues).catch((err: unknown) =>
            b.ctx.logger.warn({ err }, "removing the data of deleted queues failed"),
          );
        }
      });
    // Serve clients only after the previous process's consumers were released, unless there is
    // no quorum yet: then go on and let it finish in the background.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      announced,
      new Promise<void>((r) => {
        timer = setTimeout(r, b.ctx.settings.proposalTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return b;
  }

  private constructor(opts: BrokerStartOptions) {
    const settings: BrokerSettings = { ...defaultSettings(), ...opts.settings };
    const logger = (opts.logger ?? noopLogger).child({ component: "broker" });
    const rpc = new Rpc(opts.transport, logger);
    const forwarder = new Forwarder(opts.nodeId, opts.host, rpc, settings.proposalTimeoutMs);
    const configured = [...new Set([opts.nodeId, ...opts.peers])].sort();
    // The metadata group's configuration at index 0 is the static cluster; a joining node has none.
    const meta = new MetaClient(
      opts.host,
      forwarder,
      rpc,
      settings.join === true ? [] : configured,
      settings.proposalTimeoutMs,
      logger,
    );
    // The cluster as this node knows it now: configured nodes, plus those that joined, less removed ones.
    const clusterNodes = (): NodeId[] => {
      const removed = new Set(meta.machine.removedNodes());
      const all = new Set([...configured, ...meta.machine.clusterNodes().map((n) => n.id)]);
      return [...all].filter((n) => !removed.has(n)).sort();
    };
    meta.setCandidates(clusterNodes);
    this.nodeId = opts.nodeId;
    this.ctx = {
      nodeId: opts.nodeId,
      host: opts.host,
      transport: opts.transport,
      rpc,
      forwarder,
      meta,
      routing: new RoutingMirror(),
      bodies: new BodyCache(),
      settings,
      logger,
      get nodes() {
        return clusterNodes();
      },
      stopped: false,
      recovered: new Promise<void>((resolve) => {
        this.markRecovered = resolve;
      }),
    };
    this.backpressure = new Backpressure(settings.maxUncommittedBytes, settings.memoryHighWatermark);
    this.consumers = new Consumers(opts.nodeId, (c, n) => {
      this.messaging.grant(c, n).catch((err: unknown) => logger.debug({ err }, "credit grant failed"));
    });
    this.effects = new LeaderEffects(this.ctx, this.consumers);
    this.queues = new QueueGroups(this.ctx, this.effects);
    this.declareLeader = new DeclareLeaderWait(this.ctx, this.queues);
    const publisher = new Publisher(this.ctx, this.queues);
    this.effects.queues = this.queues;
    this.effects.deadLetterer = new DeadLetterer(this.ctx, this.queues, publisher, this.effects);
    this.messaging = new Messaging(this.ctx, this.queues, this.consumers, publisher, this.backpressure);
    this.metaOps = new MetaOps(this.ctx, this.queues);
    this.queries = new BrokerQueries(this.ctx, this.queues);
    // Nodes without a replica of a group hear of its new leaders from them (leader-news.ts).
    new LeaderNews(this.ctx);
    forwarder.setReplyEnricher((group, reply) => this.withBody(group, reply));
    const admission = new LeaderAdmission(settings.maxUncommittedBytes, (over) =>
      this.backpressure.setLeaderBacklog(over),
    );
    forwarder.setAdmission((group, ticket) => {
      if (ticket.type !== "enqueue" || ticket.bodyBytes === undefined) return undefined;
      return admission.acquire(group, ticket.bodyBytes, settings.proposalTimeoutMs);
    });
    forwarder.setGoneCheck((group) => {
      if (group === META_GROUP || meta.machine.queues({ type: "quorum" }).some((q) => q.group === group)) {
        return undefined;
      }
      return new WarrenError("NOT_FOUND", `queue of group ${group} no longer exists`);
    });

    const loss = new NodeLoss(this.ctx, this.queues, this.consumers);
    this.reconciler = new MembershipReconciler(
      this.ctx,
      this.queues,
      (node) => loss.peerGone(node),
      settings.membershipCheckMs,
    );
    this.membershipOps = new MembershipOps(this.ctx, this.reconciler);
    meta.onChanges((changes) => {
      this.ctx.routing.apply(changes);
      this.queues.handleChanges(changes);
      this.reconciler.applyChanges(changes);
      for (const ch of changes) {
        if (ch.type === "user-deleted") this.revoke({ user: ch.user }, `user '${ch.user}' deleted`);
        else if (ch.type === "vhost-deleted")
          this.revoke({ vhost: ch.vhost }, `vhost '${ch.vhost}' is deleted`);
      }
    });
    meta.onRebuild((machine) => {
      this.ctx.routing.rebuild(machine);
      this.queues.rebuild(machine);
      this.reconciler.rebuild(machine);
    });

    this.membership = new Membership(
      opts.transport,
      () => clusterNodes().filter((n) => n !== opts.nodeId),
      settings.nodeDownGraceMs,
    );
    this.rebalancer = new Rebalancer({
      nodeId: opts.nodeId,
      host: opts.host,
      groups: () =>
        this.queues.hostedReplicas().map((r) => ({
          group: r.group,
          members: r.record.members,
          pinned: effectiveLeaderLocator(r.record.arguments, settings.queueLeaderLocator) === "client-local",
        })),
      upNodes: () => clusterNodes().filter((n) => n === opts.nodeId || opts.transport.isPeerUp(n)),
      logger,
    });
    this.membership.onNodeUp((peer) => {
      loss.peerReturned(peer);
      this.rebalancer.schedule();
    });
    this.membership.onNodeDown((peer) => loss.peerGone(peer));
  }

  onConnectionsRevoked(cb: (which: { user?: string; vhost?: string }, reason: string) => void): void {
    this.revokeListeners.push(cb);
  }

  private revoke(which: { user?: string; vhost?: string }, reason: string): void {
    for (const l of this.revokeListeners)
      guarded(this.ctx.logger, "connections revoked", () => l(which, reason));
  }

  /** A connection id for a front door: `${nodeId}/${bootId}.${n}`, unique across the cluster and restarts. */
  newConnectionId(): string {
    return `${this.nodeId}/${this.bootId}.${++this.connectionCounter}`;
  }

  /** Stops the broker's own work (timers, rpc). The host and transport are the caller's. */
  async stop(): Promise<void> {
    if (this.ctx.stopped) return;
    this.ctx.stopped = true;
    this.effects.stop();
    this.backpressure.stop();
    this.membership.stop();
    this.rebalancer.stop();
    this.reconciler.stop();
    this.ctx.rpc.close();
    await this.queues.settled();
  }

  /** Resolves when queue group creations/removals triggered so far are done (tests). */
  settled(): Promise<void> {
    return this.queues.settled();
  }

  /** On the leader, attaches the body of a message a basic.get took (see Forwarder). */
  private withBody(group: string, reply: unknown): unknown {
    const r = reply as QueueReply | undefined;
    // Not a basic.get: answered without a promise (this runs for every proposal, publishes too).
    if (r === undefined || r.type !== "get" || r.message === undefined) return reply;
    const id = r.message.id;
    const cached = this.ctx.bodies.get(group, id);
    if (cached !== undefined) return { ...r, enqueue: cached };
    return this.ctx.host
      .readCommand(group, id)
      .catch(() => undefined)
      .then((enqueue) => (enqueue === undefined ? reply : { ...r, enqueue: enqueue as EnqueueCommand }));
  }

  // --- authentication and authorisation ---
  async authenticate(
    username: string,
    password: string,
    remoteAddress: string | undefined,
  ): Promise<UserRecord> {
    return auth.authenticate(
      this.ctx.meta.machine,
      this.ctx.settings.loopbackUsers,
      username,
      password,
      remoteAddress,
    );
  }
  authorize(
    ctx: ClientContext,
    kind: PermissionKind,
    resource: { kind: "queue" | "exchange"; name: string },
  ): void {
    auth.authorize(this.ctx.meta.machine, ctx, kind, resource);
  }
  checkVhostAccess(user: string, vhost: string): void {
    auth.checkVhostAccess(this.ctx.meta.machine, user, vhost);
  }

  // --- metadata ---
  declareExchange(ctx: ClientContext, req: ExchangeDeclareRequest): Promise<ExchangeRecord> {
    return this.metaOps.declareExchange(ctx, req);
  }
  deleteExchange(ctx: ClientContext, name: string, opts: { ifUnused: boolean }): Promise<void> {
    return this.metaOps.deleteExchange(ctx, name, opts);
  }
  async declareQueue(ctx: ClientContext, req: QueueDeclareRequest): Promise<QueueDeclareResult> {
    const known = req.name === "" ? undefined : this.ctx.meta.machine.queue(ctx.vhost, req.name);
    const r = await this.metaOps.declareQueue(ctx, req);
    // A queue this node did not know (new): answer once it has a leader (declare-leader.ts). A
    // redeclare's figures came from the leader already.
    if (!req.passive && known?.createdIndex !== r.queue.createdIndex)
      await this.declareLeader.leader(r.queue);
    return r;
  }
  deleteQueue(
    ctx: ClientContext,
    name: string,
    opts: { ifUnused: boolean; ifEmpty: boolean },
  ): Promise<number> {
    return this.metaOps.deleteQueue(ctx, name, opts);
  }
  purgeQueue(ctx: ClientContext, name: string): Promise<number> {
    return this.metaOps.purgeQueue(ctx, name);
  }
  bind(ctx: ClientContext, req: BindingRequest): Promise<void> {
    return this.metaOps.bind(ctx, req, true);
  }
  unbind(ctx: ClientContext, req: BindingRequest): Promise<void> {
    return this.metaOps.bind(ctx, req, false);
  }
  createVhost(
    user: string,
    name: string,
    opts: { description?: string; tags?: readonly string[] },
  ): Promise<void> {
    return this.metaOps.createVhost(user, name, opts);
  }
  deleteVhost(user: string, name: string): Promise<void> {
    return this.metaOps.deleteVhost(user, name);
  }
  putUser(
    actor: string,
    name: string,
    opts: { password?: string; passwordHash?: string; tags: readonly string[] },
  ): Promise<void> {
    return this.metaOps.putUser(actor, name, opts);
  }
  deleteUser(actor: string, name: string): Promise<void> {
    return this.metaOps.deleteUser(actor, name);
  }
  setPermission(
    actor: string,
    vhost: string,
    user: string,
    perm: { configure: string; write: string; read: string },
  ): Promise<void> {
    return this.metaOps.setPermission(actor, vhost, user, perm);
  }
  deletePermission(actor: string, vhost: string, user: string): Promise<void> {
    return this.metaOps.deletePermission(actor, vhost, user);
  }

  // --- queries ---
  listVhosts(): readonly VHostRecord[] {
    return this.ctx.meta.machine.vhosts();
  }
  listExchanges(vhost?: string): readonly ExchangeRecord[] {
    return this.ctx.meta.machine.exchanges(vhost);
  }
  getExchange(vhost: string, name: string): ExchangeRecord | undefined {
    return this.ctx.meta.machine.exchange(vhost, name);
  }
  listQueues(vhost?: string): Promise<readonly QueueInfo[]> {
    return this.queries.listQueues(vhost);
  }
  getQueue(vhost: string, name: string): Promise<QueueInfo | undefined> {
    return this.queries.getQueue(vhost, name);
  }
  listBindings(filter: {
    vhost: string;
    source?: string;
    destinationKind?: DestinationKind;
    destination?: string;
  }): readonly BindingRecord[] {
    return this.queries.listBindings(filter);
  }
  listUsers(): readonly UserRecord[] {
    return this.ctx.meta.machine.users();
  }
  getUser(name: string): UserRecord | undefined {
    return this.ctx.meta.machine.user(name);
  }
  listPermissions(filter?: { vhost?: string; user?: string }): readonly PermissionRecord[] {
    return this.ctx.meta.machine.permissions(filter);
  }
  listNodes(): Promise<readonly NodeInfo[]> {
    return this.queries.listNodes();
  }
  /**
   * This node's front-door listeners as bound (`host:port`; port 0 resolved), for listNodes here
   * and on every other node. Called by the process once its doors listen.
   */
  setListeners(addrs: { amqp?: string; http?: string }): void {
    this.queries.setListeners(addrs);
  }
  groupStatuses(): readonly GroupStatus[] {
    return this.queries.groupStatuses();
  }
  /** A metadata leader is known, this replica applied all it knows committed, and the restart was announced. */
  isReady(): boolean {
    if (!this.restartAnnounced || this.ctx.stopped || this.ctx.meta.leader() === undefined) return false;
    if (this.reconciler.isRemoved()) return false;
    try {
      const st = this.ctx.host.status(META_GROUP);
      // Applying trails commit by a batch under load: only a real backlog (catching up) counts.
      return st.commit - st.applied <= READY_APPLY_LAG;
    } catch {
      return false;
    }
  }

  // --- membership ---
  queueMembers(vhost: string, name: string): Promise<QueueMembers> {
    return this.membershipOps.queueMembers(vhost, name);
  }
  addQueueMember(...args: MemberChangeArgs): Promise<QueueMembers> {
    return this.membershipOps.addQueueMember(...args);
  }
  deleteQueueMember(...args: MemberChangeArgs): Promise<QueueMembers> {
    return this.membershipOps.deleteQueueMember(...args);
  }
  growQueues(
    actor: string,
    node: NodeId,
    req: { strategy: GrowStrategy; vhostPattern?: string; queuePattern?: string; timeoutMs?: number },
  ): Promise<MemberChangeOutcome[]> {
    return this.membershipOps.growQueues(actor, node, req);
  }
  shrinkQueues(actor: string, node: NodeId, opts?: { timeoutMs?: number }): Promise<MemberChangeOutcome[]> {
    return this.membershipOps.shrinkQueues(actor, node, opts);
  }
  forgetNode(actor: string, node: NodeId): Promise<{ queues: number }> {
    return this.membershipOps.forgetNode(actor, node);
  }

  // --- messages ---
  publish(ctx: ClientContext, req: PublishRequest): Promise<PublishOutcome> {
    return this.messaging.publish(ctx, req);
  }
  consume(ctx: ClientContext, req: ConsumeRequest, sink: ConsumerSink): Promise<string> {
    return this.messaging.consume(ctx, req, sink);
  }
  cancel(ctx: ClientContext, channel: number, consumerTag: string): Promise<void> {
    return this.messaging.cancel(ctx, channel, consumerTag);
  }
  settle(
    ctx: ClientContext,
    channel: number,
    queue: string,
    op: SettleOp,
    ids: readonly MessageId[],
  ): Promise<void> {
    return this.messaging.settle(ctx, channel, queue, op, ids);
  }
  credit(ctx: ClientContext, channel: number, consumerTag: string, credit: number): Promise<void> {
    return this.messaging.credit(ctx, channel, consumerTag, credit);
  }
  get(ctx: ClientContext, channel: number, queue: string, noAck: boolean): Promise<GetResult | undefined> {
    return this.messaging.get(ctx, channel, queue, noAck);
  }
  channelClosed(ctx: ClientContext, channel: number): Promise<void> {
    return this.messaging.channelClosed(ctx, channel);
  }
  connectionClosed(ctx: ClientContext): Promise<void> {
    return this.messaging.connectionClosed(ctx);
  }

  // --- flow control ---
  isBlocked(): boolean {
    return this.backpressure.isBlocked();
  }
  onBlockedChange(cb: (blocked: boolean, reason: string) => void): void {
    this.backpressure.onChange(cb);
  }
}
