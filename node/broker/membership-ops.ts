/**
 * The membership operations behind the CLI and the HTTP API, RabbitMQ's commands in Warren:
 * - `rabbitmq-queues add_member / delete_member / grow / shrink`: record the new members of quorum
 *   queues in the metadata; each group's leader then changes its configuration to match
 *   (membership-reconciler.ts); the call waits, up to a deadline, until it did;
 * - `rabbitmqctl forget_cluster_node`: the node leaves the metadata group and every queue, each
 *   queue getting a replacement replica (placement's choice) where a node is free for it;
 * - joining: a node started with `join` asks a peer to record it (`node.join`); the metadata
 *   leader then adds it as a learner and, once it caught up, as a voter.
 */
import type { NodeId } from "../../raft/core/types.js";
import { loadOf, pickNewMember } from "../cluster/placement.js";
import { isUnspecifiedHost, parseAddress } from "../config/kinds.js";
import { WarrenError } from "../errors.js";
import type { NodeJoin, QueueRecord } from "../meta/index.js";
import type { BrokerContext } from "./context.js";
import type { MembershipReconciler } from "./membership-reconciler.js";
import { META_GROUP } from "./meta-client.js";
import type { GrowStrategy, MemberChangeOutcome, QueueMembers } from "./types.js";

/** How long add/delete member, grow and shrink wait for the groups by default. */
export const DEFAULT_MEMBER_CHANGE_TIMEOUT_MS = 30_000;

/** add_member / delete_member: who asks, the queue, the node, how long to wait for the change. */
export type MemberChangeArgs = [
  actor: string,
  vhost: string,
  name: string,
  node: NodeId,
  opts?: { timeoutMs?: number },
];
const JOIN_METHOD = "cluster-join";
const POLL_MS = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class MembershipOps {
  constructor(
    private readonly ctx: BrokerContext,
    private readonly reconciler: MembershipReconciler,
  ) {
    // Only the node itself may record its addresses: `from` is the authenticated peer.
    ctx.rpc.handle(JOIN_METHOD, async (from, args) => {
      const a = args as Omit<NodeJoin, "type" | "node">;
      const r = await ctx.meta.propose({
        type: "node.join",
        node: from,
        raft: a.raft,
        ...(a.amqp !== undefined ? { amqp: a.amqp } : {}),
        ...(a.http !== undefined ? { http: a.http } : {}),
      });
      return r.node;
    });
  }

  private get machine() {
    return this.ctx.meta.machine;
  }

  // ---- queue members ------------------------------------------------------------------------

  private quorumQueue(vhost: string, name: string): QueueRecord & { group: string } {
    const q = this.machine.queue(vhost, name);
    if (q === undefined) throw new WarrenError("NOT_FOUND", `no queue '${name}' in vhost '${vhost}'`);
    if (q.type !== "quorum" || q.group === undefined) {
      throw new WarrenError(
        "PRECONDITION_FAILED",
        `queue '${name}' in vhost '${vhost}' is not a quorum queue`,
      );
    }
    return q as QueueRecord & { group: string };
  }

  async queueMembers(vhost: string, name: string): Promise<QueueMembers> {
    const q = this.quorumQueue(vhost, name);
    const conf = await this.reconciler.groupConf(q.group, [
      ...(this.ctx.host.leaderOf(q.group) !== undefined ? [this.ctx.host.leaderOf(q.group)!] : []),
      ...q.members,
    ]);
    const voters = [...(conf?.voters ?? [])].sort();
    const learners = [...(conf?.learners ?? [])].sort();
    const members = [...q.members];
    const settled =
      conf?.voters !== undefined &&
      learners.length === 0 &&
      voters.length === members.length &&
      members.every((m) => voters.includes(m));
    return { vhost, name, members, leader: conf?.leader, voters, learners, settled };
  }

  /** The cluster's nodes that may hold replicas: known and not removed. */
  private checkNode(node: NodeId): void {
    if (!this.ctx.nodes.includes(node)) {
      throw new WarrenError("BAD_REQUEST", `node '${node}' is not a member of the cluster`);
    }
  }

  addQueueMember(...args: MemberChangeArgs): Promise<QueueMembers> {
    return this.changeMember("queue.add-member", ...args);
  }

  deleteQueueMember(...args: MemberChangeArgs): Promise<QueueMembers> {
    return this.changeMember("queue.remove-member", ...args);
  }

  /** Records one replica's addition or removal, then waits for the group to carry it out. */
  private async changeMember(
    type: "queue.add-member" | "queue.remove-member",
    ...[actor, vhost, name, node, opts = {}]: MemberChangeArgs
  ): Promise<QueueMembers> {
    this.quorumQueue(vhost, name);
    // Only a new replica needs a node of the cluster: removing one that holds none changes nothing.
    if (type === "queue.add-member") this.checkNode(node);
    await this.ctx.meta.propose({ type, vhost, name, node, user: actor });
    return this.waitSettled(vhost, name, opts.timeoutMs);
  }

  /** Polls the group's configuration until it matches the record, or the deadline passes. */
  private async waitSettled(vhost: string, name: string, timeoutMs?: number): Promise<QueueMembers> {
    const deadline = Date.now() + (timeoutMs ?? DEFAULT_MEMBER_CHANGE_TIMEOUT_MS);
    for (;;) {
      const m = await this.queueMembers(vhost, name);
      if (m.settled || Date.now() >= deadline || this.ctx.stopped) return m;
      await sleep(POLL_MS);
    }
  }

  async growQueues(
    actor: string,
    node: NodeId,
    req: { strategy: GrowStrategy; vhostPattern?: string; queuePattern?: string; timeoutMs?: number },
  ): Promise<MemberChangeOutcome[]> {
    this.checkNode(node);
    const vhostRe = pattern(req.vhostPattern, "vhost_pattern");
    const queueRe = pattern(req.queuePattern, "queue_pattern");
    const targets = this.machine
      .queues({ type: "quorum" })
      .filter((q) => vhostRe.test(q.vhost) && queueRe.test(q.name) && !q.members.includes(node))
      .filter((q) => req.strategy === "all" || q.members.length % 2 === 0);
    return this.changeEach(targets, req.timeoutMs, (q) =>
      this.ctx.meta.propose({ type: "queue.add-member", vhost: q.vhost, name: q.name, node, user: actor }),
    );
  }

  async shrinkQueues(
    actor: string,
    node: NodeId,
    opts: { timeoutMs?: number } = {},
  ): Promise<MemberChangeOutcome[]> {
    const targets = this.machine.queues({ type: "quorum" }).filter((q) => q.members.includes(node));
    return this.changeEach(targets, opts.timeoutMs, (q) =>
      this.ctx.meta.propose({ type: "queue.remove-member", vhost: q.vhost, name: q.name, node, user: actor }),
    );
  }

  /** Records each change in turn, then waits for all of them together. */
  private async changeEach(
    targets: readonly QueueRecord[],
    timeoutMs: number | undefined,
    record: (q: QueueRecord) => Promise<unknown>,
  ): Promise<MemberChangeOutcome[]> {
    const recorded: { q: QueueRecord; error?: string }[] = [];
    for (const q of targets) {
      try {
        await record(q);
        recorded.push({ q });
      } catch (err) {
        recorded.push({ q, error: (err as Error).message });
      }
    }
    return Promise.all(
      recorded.map(async ({ q, error }): Promise<MemberChangeOutcome> => {
        if (error !== undefined) return { vhost: q.vhost, name: q.name, ok: false, error };
        const m = await this.waitSettled(q.vhost, q.name, timeoutMs).catch(() => undefined);
        return { vhost: q.vhost, name: q.name, ok: true, settled: m?.settled ?? false };
      }),
    );
  }

  // ---- cluster nodes ------------------------------------------------------------------------

  async forgetNode(actor: string, node: NodeId): Promise<{ queues: number }> {
    if (node === this.ctx.nodeId) {
      throw new WarrenError("PRECONDITION_FAILED", `node '${node}' cannot forget itself: ask another node`);
    }
    this.checkNode(node);
    const remaining = this.ctx.nodes.filter((n) => n !== node);
    const up = remaining.filter((n) => n === this.ctx.nodeId || this.ctx.transport.isPeerUp(n));
    const quorum = this.machine.queues({ type: "quorum" }).filter((q) => q.group !== undefined);
    const load = loadOf(
      up,
      quorum.map((q) => ({ group: q.group!, leader: q.leader, members: q.members })),
    );
    const replacements: { vhost: string; name: string; node: NodeId }[] = [];
    for (const q of quorum) {
      if (!q.members.includes(node)) continue;
      const pick = pickNewMember({
        candidates: up.filter((n) => !q.members.includes(n)),
        load,
        seed: `${q.vhost}/${q.name}`,
      });
      if (pick === undefined) continue;
      replacements.push({ vhost: q.vhost, name: q.name, node: pick });
      const l = load.get(pick);
      if (l !== undefined) load.set(pick, { ...l, replicas: l.replicas + 1 });
    }
    const r = await this.ctx.meta.propose({ type: "node.forget", node, replacements, user: actor });
    return { queues: r.queues };
  }

  /**
   * This node joins a running cluster: asks its configured peers, in turn, to record it, then
   * waits until the metadata group counts it as a voter. Retried until it succeeds or the node
   * stops (the peers may still be starting).
   */
  /**
   * What this node records about itself when it joins; refuses (before anything starts) an
   * address its peers could not dial.
   */
  joinAddresses(): { raft: string; amqp?: string; http?: string } {
    const self = this.ctx.settings.self ?? {};
    if (self.raft === undefined)
      throw new WarrenError("INTERNAL_ERROR", "joining needs this node's Raft address");
    // The peers dial the address recorded here: an unspecified bind address reaches nobody.
    const host = parseAddress(self.raft)?.host;
    if (host === undefined || isUnspecifiedHost(host)) {
      throw new WarrenError(
        "BAD_REQUEST",
        `cannot join with Raft address ${self.raft}: set raft.advertise (WARREN_RAFT_ADVERTISE) or raft.host to an address the other nodes reach`,
      );
    }
    if (!this.ctx.nodes.some((n) => n !== this.ctx.nodeId))
      throw new WarrenError("BAD_REQUEST", "joining needs the running cluster's nodes as peers");
    return {
      raft: self.raft,
      ...(self.amqp !== undefined ? { amqp: self.amqp } : {}),
      ...(self.http !== undefined ? { http: self.http } : {}),
    };
  }

  async joinCluster(): Promise<void> {
    const { ctx } = this;
    const args = this.joinAddresses();
    const peers = ctx.nodes.filter((p) => p !== ctx.nodeId);
    for (let attempt = 0; !ctx.stopped; attempt++) {
      const peer = peers[attempt % peers.length];
      if (peer === undefined) return;
      try {
        await ctx.rpc.call(peer, JOIN_METHOD, args, ctx.settings.proposalTimeoutMs);
        break;
      } catch (err) {
        ctx.logger.info({ peer, err: (err as Error).message }, "join request not answered yet; retrying");
        await sleep(Math.min(2000, 200 * (attempt + 1)));
      }
    }
    while (!ctx.stopped && !this.isMetaVoter()) await sleep(POLL_MS);
    if (!ctx.stopped)
      ctx.logger.info({ node: ctx.nodeId }, "joined the cluster: voter of the metadata group");
  }

  private isMetaVoter(): boolean {
    try {
      return this.ctx.host.status(META_GROUP).conf.voters.includes(this.ctx.nodeId);
    } catch {
      return false;
    }
  }
}

/** A pattern of the grow command (RabbitMQ: `--vhost-pattern`, `--queue-pattern`); absent matches all. */
function pattern(p: string | undefined, what: string): RegExp {
  if (p === undefined || p === "") return /.*/;
  try {
    return new RegExp(p);
  } catch {
    throw new WarrenError("BAD_REQUEST", `${what} is not a valid regular expression: ${p}`);
  }
}
