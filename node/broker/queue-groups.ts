/**
 * The queues this node hosts, driven by the metadata change stream:
 * - a Raft group replica (QueueMachine) for every quorum queue whose members include this node,
 *   created on `queue-declared`, removed on `queue-deleted`;
 * - a LocalQueue for every transient queue whose home is this node.
 * And the one way to run a queue command from anywhere (`execute`): proposed to the queue's
 * group through its leader, or sent to the transient queue's home node.
 */
import type { GroupId } from "../../raft/core/types.js";
import type { ApplyMeta, MachineSnapshot, StateMachine } from "../../raft/host/state-machine.js";
import { RpcTimeoutError, RpcUnreachableError } from "../cluster/rpc.js";
import { WarrenError } from "../errors.js";
import type { MetaChange, MetaMachine, QueueRecord } from "../meta/index.js";
import {
  type EnqueueCommand,
  LocalQueue,
  type MessageId,
  parseQueueArguments,
  type QueueCommand,
  type QueueCounts,
  type QueueEffect,
  QueueMachine,
  type QueueReply,
  type QueueResult,
} from "../queue/index.js";
import { type BrokerContext, guarded, queueKey, recordKey } from "./context.js";

/** Reads a message's enqueue command for an effect (sync for transient queues and cache hits). */
export type BodyReader = (id: MessageId) => EnqueueCommand | undefined | Promise<EnqueueCommand | undefined>;

/**
 * A quorum queue's bodies for a batch of effects: what is in memory at once, the rest from the
 * log with one storage read for the whole batch (a consumer draining a backlog whose bodies
 * left the cache would otherwise pay one LevelDB round trip per message).
 */
export interface BatchBodyReader {
  /** In memory (the body cache): no I/O. Undefined: read it with `readMany`. */
  cached(id: MessageId): EnqueueCommand | undefined;
  /** From the log; result `k` is `ids[k]`, undefined when not found. Never rejects. */
  readMany(ids: readonly MessageId[]): Promise<(EnqueueCommand | undefined)[]>;
}

/** What executes effects (only where the queue is led: the leader's node, or the home node). */
export interface EffectSink {
  /** `batch`, when given, reads deliveries' bodies (`read` then only serves dead-letters). */
  run(record: QueueRecord, effects: readonly QueueEffect[], read: BodyReader, batch?: BatchBodyReader): void;
  /** This node became the leader of a quorum queue (or a transient queue was created here). */
  leaderGained(
    record: QueueRecord,
    effects: readonly QueueEffect[],
    read: BodyReader,
    batch?: BatchBodyReader,
  ): void;
  /** A queue went away (deleted): cancel its timers and consumers. */
  queueGone(record: QueueRecord, reason: string): void;
  /** A transient queue's last consumer went: the caller proposes its auto-deletion. */
  lastConsumerGone(record: QueueRecord): void;
}

/** Keeps enqueue commands in the body cache as they apply, and notes released messages. */
class ReplicaMachine implements StateMachine<QueueCommand, QueueResult> {
  readonly machine: QueueMachine;
  released: MessageId[] = [];
  /** Bodies for the effects this replica's node runs as leader. */
  readonly bodies: GroupBodies;
  constructor(
    /** Replaced when the queue's members change (same incarnation, same group). */
    public record: QueueRecord,
    private readonly ctx: BrokerContext,
    group: GroupId,
  ) {
    this.machine = new QueueMachine(parseQueueArguments(record.name, record.arguments), {
      onRelease: (id) => this.released.push(id),
    });
    this.bodies = new GroupBodies(ctx, group);
  }
  apply(meta: ApplyMeta, command: QueueCommand): QueueResult {
    if (command.type === "enqueue") this.ctx.bodies.set(meta.group, meta.index, command);
    return this.machine.apply(meta, command);
  }
  snapshot(): MachineSnapshot {
    return this.machine.snapshot();
  }
  restore(snapshot: MachineSnapshot, meta: { readonly index: number; readonly term: number }): void {
    this.machine.restore(snapshot, meta);
  }
}

/** A quorum queue's enqueue commands: the body cache, else the Raft log. */
class GroupBodies implements BatchBodyReader {
  constructor(
    private readonly ctx: BrokerContext,
    private readonly group: GroupId,
  ) {}

  /** One body (dead-letters): sync on a cache hit. */
  readonly read: BodyReader = (id) => {
    const cached = this.ctx.bodies.get(this.group, id);
    if (cached !== undefined) return cached;
    return this.ctx.host
      .readCommand(this.group, id)
      .then((c) => c as EnqueueCommand)
      .catch(() => undefined);
  };

  cached(id: MessageId): EnqueueCommand | undefined {
    return this.ctx.bodies.get(this.group, id);
  }

  readMany(ids: readonly MessageId[]): Promise<(EnqueueCommand | undefined)[]> {
    // readCommands rejects the whole batch if one entry is missing (a queue deleted meanwhile):
    // then each is read on its own, so the others still go out.
    return this.ctx.host.readCommands(this.group, ids).then(
      (cmds) => cmds as EnqueueCommand[],
      () => Promise.all(ids.map((id) => this.read(id))),
    );
  }
}

/** The "counts" RPC's answer: the figures if the node leads the queue, else the leader it knows. */
interface CountsAnswer {
  readonly counts?: QueueCounts;
  readonly leader?: string;
}

interface LocalEntry {
  readonly record: QueueRecord;
  readonly queue: LocalQueue;
  hadConsumer: boolean;
}

export class QueueGroups {
  private readonly replicas = new Map<GroupId, ReplicaMachine>();
  private readonly locals = new Map<string, LocalEntry>();
  /** Per-group chain so create/remove of one group never overlap. */
  private readonly ops = new Map<GroupId, Promise<void>>();

  constructor(
    private readonly ctx: BrokerContext,
    private readonly effects: EffectSink,
  ) {
    const { host, rpc } = ctx;
    host.onApplied((group, _meta, result, isLeader) => {
      const r = this.replicas.get(group);
      if (r === undefined) return;
      const res = result as QueueResult;
      if (isLeader && res.effects.length > 0) {
        guarded(ctx.logger, "queue effects", () =>
          this.effects.run(r.record, res.effects, r.bodies.read, r.bodies),
        );
      }
      // Released bodies were read above (synchronously from the cache) if an effect needed them.
      for (const id of r.released) ctx.bodies.delete(group, id);
      r.released = [];
    });
    host.onLeaderChange((group, leader) => {
      const r = this.replicas.get(group);
      if (r === undefined || leader !== ctx.nodeId) return;
      this.whenCaughtUp(group, r, 0);
    });
    rpc.handle("transient", (_from, args) => {
      const a = args as { vhost: string; name: string; command: QueueCommand };
      return this.applyLocal(a.vhost, a.name, a.command);
    });
    rpc.handle("counts", async (_from, args): Promise<CountsAnswer> => {
      const a = args as { group?: string; vhost: string; name: string };
      const counts = await this.leaderCounts(a.group, a.vhost, a.name);
      if (counts !== undefined) return { counts };
      const leader = a.group === undefined ? undefined : this.leaderOf(a.group);
      return leader === undefined ? {} : { leader };
    });
  }

  /**
   * A new leader may not have applied everything its predecessor committed yet: its machine's
   * `leaderEffects()` would then re-deliver messages already acked. A read barrier (it resolves
   * once the leader committed an entry of its term and applied everything before it) comes first.
   */
  /** Listeners told when this node leads a quorum queue and has caught up (see `whenCaughtUp`). */
  private readonly gainedListeners: Array<(record: QueueRecord) => void> = [];

  onLeadershipGained(cb: (record: QueueRecord) => void): void {
    this.gainedListeners.push(cb);
  }

  private whenCaughtUp(group: GroupId, r: ReplicaMachine, attempt: number): void {
    this.ctx.host.readIndex(group).then(
      () => {
        if (this.replicas.get(group) !== r || this.leaderOf(group) !== this.ctx.nodeId) return;
        guarded(this.ctx.logger, "leader effects", () =>
          this.effects.leaderGained(r.record, r.machine.leaderEffects(), r.bodies.read, r.bodies),
        );
        for (const cb of this.gainedListeners)
          guarded(this.ctx.logger, "leadership gained", () => cb(r.record));
      },
      () => {
        // Retried for as long as this node leads: giving up would leave the queue's pending
        // dead-letters, timer and deliveries unissued until the next leader change.
        if (this.ctx.stopped || this.replicas.get(group) !== r) return;
        if (this.leaderOf(group) !== this.ctx.nodeId) return;
        const pause = Math.min(1000, 50 * 2 ** Math.min(attempt, 5));
        setTimeout(() => this.whenCaughtUp(group, r, attempt + 1), pause).unref?.();
      },
    );
  }

  // ---- derived state -------------------------------------------------------------------------

  handleChanges(changes: readonly MetaChange[]): void {
    for (const c of changes) {
      if (c.type === "queue-declared") this.queueDeclared(c.queue);
      else if (c.type === "queue-deleted") this.queueDeleted(c.queue, c.reason);
      else if (c.type === "queue-placement-changed") this.placementChanged(c.queue);
    }
  }

  /** Reconcile with the whole metadata (startup, snapshot install). */
  rebuild(machine: MetaMachine): void {
    const wanted = new Set<string>();
    for (const q of machine.queues({ node: this.ctx.nodeId })) {
      if (q.type === "quorum" && q.group !== undefined) wanted.add(q.group);
      else wanted.add(recordKey(q));
      this.queueDeclared(q);
    }
    for (const [group, r] of this.replicas) {
      if (wanted.has(group)) continue;
      const now = machine.queue(r.record.vhost, r.record.name);
      // Still the same queue, without this node among its members: the replica leaves once the
      // group's configuration no longer includes it (dropReplica), not before.
      if (now !== undefined && now.group === group) r.record = now;
      else this.queueDeleted(r.record, "deleted");
    }
    for (const [key, l] of this.locals) if (!wanted.has(key)) this.queueDeleted(l.record, "deleted");
  }

  private queueDeclared(q: QueueRecord): void {
    if (q.type === "transient") {
      if (q.leader !== this.ctx.nodeId || this.locals.has(recordKey(q))) return;
      const entry: LocalEntry = {
        record: q,
        queue: new LocalQueue(parseQueueArguments(q.name, q.arguments)),
        hadConsumer: false,
      };
      this.locals.set(recordKey(q), entry);
      return;
    }
    if (q.group === undefined || !q.members.includes(this.ctx.nodeId)) return;
    this.startReplica(q, q.group);
  }

  /**
   * Starts this node's replica of a quorum queue whose members no longer include it but whose
   * data this node still stores (it restarted while its removal was under way): it keeps voting
   * until the leader takes it out of the configuration, then leaves (`dropReplica`), instead of
   * staying silent with its data kept forever.
   */
  adoptStoredReplica(q: QueueRecord): void {
    if (q.type !== "quorum" || q.group === undefined || this.replicas.has(q.group)) return;
    this.ctx.logger.info(
      { group: q.group },
      "replica of a former member resumed until its removal completes",
    );
    this.startReplica(q, q.group);
  }

  private startReplica(q: QueueRecord, group: GroupId): void {
    const existing = this.replicas.get(group);
    if (existing !== undefined) {
      existing.record = q;
      return;
    }
    const replica = new ReplicaMachine(q, this.ctx, group);
    this.replicas.set(group, replica);
    // The configuration at index 0 (a stored snapshot, or the log's membership entries, bring it
    // to the current one). A replica added later is not among those voters: it cannot campaign
    // before the leader's log made it a member.
    const voters = q.initialMembers ?? q.members;
    // The placed leader campaigns as it creates a new group: the group has a leader within a
    // round trip, where it waited out an election timeout and then a hand-over to the placed
    // leader (declare-leader.ts waits for it). The host campaigns only for a group it has
    // nothing stored of; if this node is down at the declare, the others elect one as usual.
    const campaign = q.leader === this.ctx.nodeId && voters.includes(this.ctx.nodeId);
    this.chain(group, async () => {
      if (this.replicas.get(group) !== replica || this.ctx.stopped) return;
      await this.ctx.host.createGroup(group, { voters, machine: replica, campaign });
    });
  }

  /**
   * A quorum queue's members changed: a replica starts here if this node was added (it then
   * joins as a learner when the leader adds it); the record of an existing replica is updated.
   * A replica whose node was removed stays until the group's configuration drops it
   * (`dropReplica`), so the group keeps its voters while the leader changes its configuration.
   */
  private placementChanged(q: QueueRecord): void {
    if (q.group === undefined) return;
    const r = this.replicas.get(q.group);
    if (r !== undefined) r.record = q;
    else this.queueDeclared(q);
  }

  /**
   * Removes this node's replica of a queue that lives on (its members no longer include this
   * node, and the group's configuration no longer does either): data deleted, nothing cancelled.
   */
  dropReplica(group: GroupId): void {
    const r = this.replicas.get(group);
    if (r === undefined || r.record.members.includes(this.ctx.nodeId)) return;
    this.replicas.delete(group);
    this.ctx.bodies.dropGroup(group);
    this.ctx.logger.info({ group }, "replica removed: this node is no longer a member");
    this.chain(group, async () => {
      if (this.ctx.stopped) return;
      await this.ctx.host.removeGroup(group).catch(() => undefined);
    });
  }

  private queueDeleted(q: QueueRecord, reason: string): void {
    this.effects.queueGone(q, reason);
    if (q.type === "transient") {
      const l = this.locals.get(recordKey(q));
      if (l !== undefined && l.record.createdIndex === q.createdIndex) this.locals.delete(recordKey(q));
      return;
    }
    const group = q.group;
    if (group === undefined) return;
    const replica = this.replicas.get(group);
    if (replica === undefined) return;
    this.replicas.delete(group);
    this.ctx.bodies.dropGroup(group);
    this.chain(group, async () => {
      if (this.ctx.stopped) return;
      await this.ctx.host.removeGroup(group).catch(() => undefined);
    });
  }

  private chain(group: GroupId, op: () => Promise<void>): void {
    const prev = this.ops.get(group) ?? Promise.resolve();
    const next = prev
      .then(op)
      .catch((err: unknown) => this.ctx.logger.warn({ group, err }, "queue group operation failed"))
      .finally(() => {
        if (this.ops.get(group) === next) this.ops.delete(group);
      });
    this.ops.set(group, next);
  }

  /** Resolves when pending group creations/removals are done (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.ops.values()]);
  }

  // ---- running commands ----------------------------------------------------------------------

  /** Runs a queue command where the queue lives; resolves with the machine's reply. */
  async execute(record: QueueRecord, command: QueueCommand): Promise<QueueReply> {
    if (record.type === "transient") {
      const home = record.leader;
      if (home === this.ctx.nodeId) return this.applyLocal(record.vhost, record.name, command);
      try {
        return await this.ctx.rpc.call<QueueReply>(
          home,
          "transient",
          { vhost: record.vhost, name: record.name, command },
          this.ctx.settings.proposalTimeoutMs,
        );
      } catch (err) {
        if (err instanceof RpcUnreachableError || err instanceof RpcTimeoutError) {
          // rabbit_amqqueue's answer when a queue's node is down.
          throw new WarrenError(
            "NOT_FOUND",
            `home node '${home}' of queue '${record.name}' in vhost '${record.vhost}' is down or inaccessible`,
            { cause: err },
          );
        }
        throw err;
      }
    }
    if (record.group === undefined)
      throw new WarrenError("INTERNAL_ERROR", `queue ${record.name} has no group`);
    const proposed = await this.ctx.forwarder.propose<QueueReply>(record.group, record.members, command);
    return proposed.reply;
  }

  /** Applies a command to a transient queue homed here and runs its effects at once. */
  applyLocal(vhost: string, name: string, command: QueueCommand): QueueReply {
    const entry = this.locals.get(queueKey(vhost, name));
    if (entry === undefined) {
      throw new WarrenError("NOT_FOUND", `no queue '${name}' in vhost '${vhost}'`);
    }
    const { reply, effects } = entry.queue.apply(command, Date.now());
    // Bodies released by this apply stay readable only until the next one, and a consumer's sink
    // may publish or settle (apply again) from inside a delivery: read every body first.
    const taken =
      reply.type === "get" && reply.message !== undefined ? entry.queue.read(reply.message.id) : undefined;
    if (effects.length > 0) {
      const bodies = new Map<MessageId, EnqueueCommand | undefined>();
      for (const e of effects) {
        if (e.type === "deliver" || e.type === "dead-letter") bodies.set(e.id, entry.queue.read(e.id));
      }
      this.effects.run(entry.record, effects, (id) => bodies.get(id));
    }
    if (command.type === "checkout" && reply.type === "ok") entry.hadConsumer = true;
    if (
      entry.record.autoDelete &&
      entry.hadConsumer &&
      (command.type === "cancel" || command.type === "down" || command.type === "node-down") &&
      entry.queue.counts().consumers === 0
    ) {
      this.effects.lastConsumerGone(entry.record);
    }
    // The caller may be on another node: a basic.get's message travels with the reply.
    if (taken !== undefined) return { ...reply, enqueue: taken } as unknown as QueueReply;
    return reply;
  }

  /**
   * Counts from the node that leads the queue (undefined when no leader is reachable), waiting
   * out a moment without one: a declare-ok or an if-empty delete must not take "unknown" for 0.
   */
  async counts(record: QueueRecord): Promise<QueueCounts | undefined> {
    return (await this.countsAndLeader(record, true))?.counts;
  }

  /**
   * Counts and the node that answered them, which leads the queue (or is its home). A node that
   * is not the leader answers with the leader it knows of; members are tried in turn.
   */
  async countsAndLeader(
    record: QueueRecord,
    waitForLeader = false,
  ): Promise<{ counts: QueueCounts; leader: string } | undefined> {
    // No member may know a leader for a moment (an election, or a new queue's hand-off to its
    // placed leader): with `waitForLeader`, ask again until one answers, within the bound of one
    // answer. Listings do not wait (a queue in minority shows as such at once).
    const deadline = Date.now() + Math.min(2000, this.ctx.settings.proposalTimeoutMs);
    for (;;) {
      const answer = await this.countsPass(record);
      if (answer !== undefined || !waitForLeader || Date.now() >= deadline || this.ctx.stopped) return answer;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private async countsPass(
    record: QueueRecord,
  ): Promise<{ counts: QueueCounts; leader: string } | undefined> {
    const here = await this.leaderCounts(record.group, record.vhost, record.name);
    if (here !== undefined) return { counts: here, leader: this.ctx.nodeId };
    const candidates: string[] =
      record.type === "transient"
        ? [record.leader]
        : [
            ...(record.group !== undefined && this.leaderOf(record.group) !== undefined
              ? [this.leaderOf(record.group)!]
              : []),
            record.leader,
            ...record.members,
          ];
    const tried = new Set<string>([this.ctx.nodeId]);
    const timeoutMs = Math.min(2000, this.ctx.settings.proposalTimeoutMs);
    for (let i = 0; i < candidates.length && tried.size <= record.members.length + 1; i++) {
      const target = candidates[i]!;
      if (tried.has(target)) continue;
      tried.add(target);
      try {
        const answer = await this.ctx.rpc.call<CountsAnswer>(
          target,
          "counts",
          { group: record.group, vhost: record.vhost, name: record.name },
          timeoutMs,
        );
        if (answer.counts !== undefined) return { counts: answer.counts, leader: target };
        if (answer.leader !== undefined && !tried.has(answer.leader))
          candidates.splice(i + 1, 0, answer.leader);
      } catch {
        // unreachable: try the next member
      }
    }
    return undefined;
  }

  /**
   * Counts if this node leads the queue (or is its home), behind a read barrier for a quorum
   * queue: a new leader may not have applied what its predecessor committed and confirmed yet
   * (a queue's first hand-off to its placed leader makes one at once), and a deposed leader may
   * not know it yet; either would count a confirmed message as missing.
   */
  private async leaderCounts(
    group: string | undefined,
    vhost: string,
    name: string,
  ): Promise<QueueCounts | undefined> {
    if (group === undefined || this.locals.has(queueKey(vhost, name)))
      return this.localCounts(group, vhost, name);
    if (this.localCounts(group, vhost, name) === undefined) return undefined;
    try {
      await this.ctx.host.readIndex(group);
    } catch {
      return undefined; // no longer the leader: the caller asks the one it knows of
    }
    return this.localCounts(group, vhost, name);
  }

  /** Counts if this node leads the queue (or is its home), as this replica has applied them. */
  localCounts(group: string | undefined, vhost: string, name: string): QueueCounts | undefined {
    const l = this.locals.get(queueKey(vhost, name));
    if (l !== undefined) return l.queue.counts();
    if (group === undefined) return undefined;
    const r = this.replicas.get(group);
    if (r === undefined || this.leaderOf(group) !== this.ctx.nodeId) return undefined;
    return r.machine.counts();
  }

  leaderOf(group: GroupId): string | undefined {
    if (!this.replicas.has(group)) return undefined;
    try {
      return this.ctx.host.leaderOf(group);
    } catch {
      return undefined;
    }
  }

  /**
   * True while this node's replica of a quorum queue still holds message `id` (ready, unacked or
   * waiting for its dead-letter to settle). Transient queues are led where they live: always true.
   */
  holds(record: QueueRecord, id: MessageId): boolean {
    if (record.type === "transient" || record.group === undefined) return true;
    const r = this.replicas.get(record.group);
    return r !== undefined && r.record.createdIndex === record.createdIndex && r.machine.has(id);
  }

  /** Quorum groups hosted here (with their records). */
  hostedReplicas(): { group: GroupId; record: QueueRecord; machine: QueueMachine }[] {
    return [...this.replicas].map(([group, r]) => ({ group, record: r.record, machine: r.machine }));
  }

  /** Transient queues homed here. */
  localQueues(): { record: QueueRecord; queue: LocalQueue }[] {
    return [...this.locals.values()].map((l) => ({ record: l.record, queue: l.queue }));
  }
}
