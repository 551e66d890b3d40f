/**
 * Read-only views for the management API: metadata from this node's copy, live queue figures
 * from each queue's leader (or home node), Raft status of the groups hosted here.
 */
import { NONE } from "../../raft/core/types.js";
import type { DestinationKind, QueueRecord } from "../meta/index.js";
import type { BrokerContext } from "./context.js";
import type { QueueGroups } from "./queue-groups.js";
import type { GroupStatus, NodeInfo, QueueInfo } from "./types.js";

const STARTED_AT = Date.now();

export class BrokerQueries {
  constructor(
    private readonly ctx: BrokerContext,
    private readonly queues: QueueGroups,
  ) {}

  async listQueues(vhost?: string): Promise<QueueInfo[]> {
    const records = this.ctx.meta.machine.queues(vhost === undefined ? {} : { vhost });
    return Promise.all(records.map((q) => this.info(q)));
  }

  async getQueue(vhost: string, name: string): Promise<QueueInfo | undefined> {
    const q = this.ctx.meta.machine.queue(vhost, name);
    return q === undefined ? undefined : this.info(q);
  }

  listBindings(filter: {
    vhost: string;
    source?: string;
    destinationKind?: DestinationKind;
    destination?: string;
  }) {
    return this.ctx.meta.machine.bindings({
      vhost: filter.vhost,
      ...(filter.source !== undefined ? { source: filter.source } : {}),
      ...(filter.destination !== undefined
        ? { destination: { kind: filter.destinationKind ?? "queue", name: filter.destination } }
        : {}),
      includeImplicit: true,
    });
  }

  async listNodes(): Promise<NodeInfo[]> {
    const { ctx } = this;
    const leaders = new Map<string, number>();
    for (const q of ctx.meta.machine.queues({ type: "quorum" })) {
      const leader = this.leaderOf(q);
      if (leader !== undefined) leaders.set(leader, (leaders.get(leader) ?? 0) + 1);
    }
    return ctx.nodes.map((id) => {
      const self = id === ctx.nodeId;
      const peer = ctx.settings.peers.find((p) => p.id === id);
      const addr = self ? ctx.settings.self : peer;
      return {
        name: id,
        running: self || ctx.transport.isPeerUp(id),
        raft: addr?.raft ?? "",
        ...(addr?.amqp !== undefined ? { amqp: addr.amqp } : {}),
        ...(addr?.http !== undefined ? { http: addr.http } : {}),
        leaderOf: leaders.get(id) ?? 0,
        ...(self ? { uptimeMs: Date.now() - STARTED_AT } : {}),
      };
    });
  }

  groupStatuses(): GroupStatus[] {
    const byGroup = new Map<string, QueueRecord>();
    for (const r of this.queues.hostedReplicas()) byGroup.set(r.group, r.record);
    const out: GroupStatus[] = [];
    for (const group of this.ctx.host.groupIds()) {
      const st = this.ctx.host.status(group);
      const q = byGroup.get(group);
      const progress: Record<string, number> = {};
      for (const [peer, pr] of st.progress ?? []) progress[peer] = pr.match;
      out.push({
        group,
        ...(q !== undefined ? { queue: { vhost: q.vhost, name: q.name } } : {}),
        leader: st.lead === NONE ? undefined : st.lead,
        term: st.term,
        commit: st.commit,
        applied: st.applied,
        ...(st.progress !== undefined ? { progress } : {}),
      });
    }
    return out;
  }

  private leaderOf(q: QueueRecord): string | undefined {
    if (q.type === "transient") return q.leader;
    if (q.group === undefined) return undefined;
    return this.queues.leaderOf(q.group) ?? (this.ctx.transport.isPeerUp(q.leader) ? q.leader : undefined);
  }

  private async info(q: QueueRecord): Promise<QueueInfo> {
    const answer = await this.queues.countsAndLeader(q);
    const counts = answer?.counts;
    const leader = answer?.leader;
    return {
      record: q,
      messages: counts?.messages ?? 0,
      messagesReady: counts?.messagesReady ?? 0,
      messagesUnacknowledged: counts?.messagesUnacknowledged ?? 0,
      messageBytes: counts?.messageBytes ?? 0,
      consumers: counts?.consumers ?? 0,
      leader,
      members: q.members,
      state: counts !== undefined ? "running" : "minority",
    };
  }
}
