/**
 * Brings every Raft group's configuration to the membership the metadata records, on every node,
 * all the time (so a leader change half-way through a move, or a node restarting, only delays it):
 *
 * - a queue group's leader follows its record's `members` (node/cluster/membership-plan.ts: new
 *   members join as learners, vote once caught up, then unwanted members leave; a leader that must
 *   leave hands leadership over first);
 * - the metadata group's leader follows the cluster: nodes that joined (`node.join`) become
 *   voters, removed ones (`node.forget`) leave;
 * - a replica whose node is no longer a member removes itself once the group's leader says the
 *   configuration no longer includes it (a removed node hears nothing more from the leader, so
 *   it asks);
 * - every node dials the nodes that joined (their Raft address is in the metadata), so no peer
 *   needs a restart or a configuration change.
 */
import type { GroupId, NodeId } from "../../raft/core/types.js";
import { caughtUp, nextConfStep } from "../cluster/membership-plan.js";
import { parseAddress } from "../config/kinds.js";
import type { MetaChange, MetaMachine, QueueRecord } from "../meta/index.js";
import type { BrokerContext } from "./context.js";
import { guarded } from "./context.js";
import { META_GROUP } from "./meta-client.js";
import type { QueueGroups } from "./queue-groups.js";

/** How often each node makes the next change of the groups that may need one. */
export const RECONCILE_EVERY_MS = 200;
/** Every this many passes, every hosted group is looked at (not only those marked). */
const FULL_SWEEP_EVERY = 25;
/** How often a replica that is no longer a member asks the leader whether it may go. */
const LEAVE_CHECK_EVERY_MS = 1000;
const GROUP_CONF_METHOD = "group-conf";

/** A group's configuration as its leader applied it (`leader` only, from a node that does not lead). */
export interface GroupConf {
  readonly leader?: NodeId;
  readonly voters?: readonly NodeId[];
  readonly learners?: readonly NodeId[];
  /** Members whose replicas acknowledged enough of the log to count as caught up. */
  readonly caughtUp?: readonly NodeId[];
}

export class MembershipReconciler {
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Groups with a configuration change (or transfer) in flight from this node. */
  private readonly busy = new Set<GroupId>();
  private readonly lastLeaveCheck = new Map<GroupId, number>();
  /**
   * Groups that may need a change: members changed, leadership arrived here, a change under way.
   * Only these are looked at each pass (a status per group), the rest in the periodic sweep, so a
   * node with thousands of settled queues does no work for them.
   */
  private readonly pending = new Set<GroupId>();
  private passes = 0;
  private removed = false;

  constructor(
    private readonly ctx: BrokerContext,
    private readonly queues: QueueGroups,
    private readonly onNodeRemoved: (node: NodeId) => void,
    private readonly everyMs = RECONCILE_EVERY_MS,
  ) {
    ctx.rpc.handle(GROUP_CONF_METHOD, (_from, args) => this.localConf((args as { group: string }).group));
    ctx.host.onLeaderChange((group, leader) => {
      if (leader === ctx.nodeId && group !== META_GROUP) this.pending.add(group);
    });
  }

  start(): void {
    this.timer = setInterval(
      () => guarded(this.ctx.logger, "membership", () => this.runOnce()),
      this.everyMs,
    );
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** True once this node was removed from the cluster (it serves nothing any more). */
  isRemoved(): boolean {
    return this.removed;
  }

  // ---- derived state from the metadata ------------------------------------------------------

  applyChanges(changes: readonly MetaChange[]): void {
    for (const c of changes) {
      if (c.type === "queue-placement-changed" && c.queue.group !== undefined)
        this.pending.add(c.queue.group);
      else if (c.type === "node-joined") this.dial(c.node.id, c.node.raft);
      else if (c.type === "node-removed") this.nodeRemoved(c.node);
    }
  }

  rebuild(machine: MetaMachine): void {
    for (const n of machine.clusterNodes()) this.dial(n.id, n.raft);
    if (machine.removedNodes().includes(this.ctx.nodeId)) this.nodeRemoved(this.ctx.nodeId);
  }

  private dial(id: NodeId, raft: string): void {
    if (id === this.ctx.nodeId) return;
    const addr = parseAddress(raft);
    if (addr === undefined) {
      this.ctx.logger.error({ peer: id, raft }, "joined node has an unusable Raft address");
      return;
    }
    this.ctx.transport.setPeer(id, addr);
  }

  private nodeRemoved(node: NodeId): void {
    if (node === this.ctx.nodeId) {
      if (!this.removed)
        this.ctx.logger.error(
          { node },
          "this node was removed from the cluster (forget_cluster_node): it serves nothing",
        );
      this.removed = true;
      return;
    }
    this.onNodeRemoved(node);
  }

  /**
   * At startup, once the metadata caught up: replicas this node stores for queues whose members
   * no longer include it resume until the leader removed them (see QueueGroups.adoptStoredReplica).
   */
  async adoptStoredReplicas(stored: Iterable<string>): Promise<number> {
    const groups = new Set(stored);
    const hosted = new Set(this.queues.hostedReplicas().map((r) => r.group));
    let adopted = 0;
    for (const q of this.ctx.meta.machine.queues({ type: "quorum" })) {
      if (q.group === undefined || !groups.has(q.group) || hosted.has(q.group)) continue;
      if (q.members.includes(this.ctx.nodeId)) continue;
      this.queues.adoptStoredReplica(q);
      adopted++;
    }
    return adopted;
  }

  // ---- the loop -----------------------------------------------------------------------------

  /** One pass over the metadata group and the queue replicas that may need a change. */
  runOnce(): void {
    if (this.ctx.stopped) return;
    const me = this.ctx.nodeId;
    if (this.ctx.meta.leader() === me) {
      const desired = this.metaDesired();
      if (desired !== undefined) this.reconcile(META_GROUP, desired);
    }
    const full = this.passes++ % FULL_SWEEP_EVERY === 0;
    const hosted = this.queues.hostedReplicas();
    if (full) {
      const here = new Set(hosted.map((r) => r.group));
      for (const g of this.pending) if (!here.has(g)) this.pending.delete(g);
    }
    for (const r of hosted) {
      if (!full && !this.pending.has(r.group)) continue;
      const leader = this.queues.leaderOf(r.group);
      let settled: boolean;
      if (leader === me) settled = this.reconcile(r.group, r.record.members);
      else if (!r.record.members.includes(me)) settled = this.maybeLeave(r.group, r.record, leader);
      else settled = true; // its leader changes it; leadership arriving here marks it again
      if (settled) this.pending.delete(r.group);
      else this.pending.add(r.group);
    }
  }

  /** The metadata group's members: today's configuration, plus joined nodes, minus removed ones. */
  private metaDesired(): NodeId[] | undefined {
    let conf: { voters: readonly NodeId[]; learners: readonly NodeId[] };
    try {
      conf = this.ctx.host.status(META_GROUP).conf;
    } catch {
      return undefined;
    }
    const m = this.ctx.meta.machine;
    const removed = new Set(m.removedNodes());
    const all = new Set([...conf.voters, ...conf.learners, ...m.clusterNodes().map((n) => n.id)]);
    return [...all].filter((n) => !removed.has(n));
  }

  /**
   * Makes (at most) the next configuration change of a group this node leads. True when the
   * configuration matches the members (nothing more to do for now).
   */
  private reconcile(group: GroupId, desired: readonly NodeId[]): boolean {
    if (this.busy.has(group)) return false;
    if (desired.length === 0) return true;
    const { host, nodeId, logger } = this.ctx;
    let st: ReturnType<typeof host.status>;
    try {
      st = host.status(group);
    } catch {
      return true;
    }
    if (st.progress === undefined) return true;
    const match = new Map([...st.progress].map(([id, p]) => [id, p.match] as const));
    const step = nextConfStep({
      self: nodeId,
      desired,
      conf: st.conf,
      match,
      commit: st.commit,
      lastIndex: match.get(nodeId) ?? st.commit,
    });
    if (step.kind === "done") return true;
    if (step.kind === "wait") return false;
    let op: Promise<void>;
    if (step.kind === "add-learner") op = host.addLearner(group, step.node);
    else if (step.kind === "promote") op = host.addVoter(group, step.node);
    else if (step.kind === "remove") op = host.removeNode(group, step.node);
    else op = host.transferLeadership(group, step.to);
    this.busy.add(group);
    logger.info({ group, step }, "membership change");
    op.then(
      () => logger.info({ group, step }, "membership change applied"),
      (err: unknown) => logger.debug({ group, step, err }, "membership change not made (retried)"),
    ).finally(() => this.busy.delete(group));
    return false;
  }

  /**
   * A replica this node should no longer have: goes once the leader's configuration lacks it.
   * Always false: the replica is looked at again until it is gone.
   */
  private maybeLeave(group: GroupId, record: QueueRecord, leader: NodeId | undefined): boolean {
    const now = Date.now();
    if (this.busy.has(group) || now - (this.lastLeaveCheck.get(group) ?? 0) < LEAVE_CHECK_EVERY_MS)
      return false;
    this.lastLeaveCheck.set(group, now);
    this.busy.add(group);
    this.groupConf(group, [...(leader !== undefined ? [leader] : []), ...record.members])
      .then((conf) => {
        const me = this.ctx.nodeId;
        if (conf?.voters === undefined || conf.voters.includes(me) || conf.learners?.includes(me)) return;
        this.lastLeaveCheck.delete(group);
        this.queues.dropReplica(group);
      })
      .catch(() => undefined)
      .finally(() => this.busy.delete(group));
    return false;
  }

  /** The configuration of a group as its leader has it, asked of `candidates` in turn. */
  async groupConf(group: GroupId, candidates: readonly NodeId[]): Promise<GroupConf | undefined> {
    const tried = new Set<NodeId>();
    const queue = [...candidates];
    while (queue.length > 0) {
      const target = queue.shift()!;
      if (tried.has(target)) continue;
      tried.add(target);
      let answer: GroupConf;
      try {
        answer =
          target === this.ctx.nodeId
            ? this.localConf(group)
            : await this.ctx.rpc.call<GroupConf>(target, GROUP_CONF_METHOD, { group }, 1000);
      } catch {
        continue;
      }
      if (answer.voters !== undefined) return answer;
      if (answer.leader !== undefined) queue.unshift(answer.leader);
    }
    return undefined;
  }

  /** The configuration if this node leads the group, else the leader it knows of. */
  private localConf(group: GroupId): GroupConf {
    const { host, nodeId } = this.ctx;
    let st: ReturnType<typeof host.status>;
    try {
      st = host.status(group);
    } catch {
      return {};
    }
    if (st.progress === undefined) {
      const leader = host.leaderOf(group);
      return leader === undefined || leader === nodeId ? {} : { leader };
    }
    const ok = [...st.progress].filter(([, p]) => caughtUp(p.match, st.commit)).map(([id]) => id);
    return { leader: nodeId, voters: st.conf.voters, learners: st.conf.learners, caughtUp: ok };
  }
}
