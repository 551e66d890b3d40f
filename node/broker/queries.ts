/**
 * Read-only views for the management API: metadata from this node's copy, live queue figures
 * from each queue's leader (or home node), Raft status of the groups hosted here.
 */
import { NONE } from "../../raft/core/types.js";
import { formatAddress, parseAddress } from "../config/kinds.js";
import type { DestinationKind, QueueRecord } from "../meta/index.js";
import type { BrokerContext } from "./context.js";
import type { QueueGroups } from "./queue-groups.js";
import type { GroupStatus, NodeInfo, QueueInfo } from "./types.js";

/** RPC: a node describes itself (its listeners and uptime) for another node's `listNodes`. */
const NODE_INFO_METHOD = "node-info";
/** A peer slower than this to describe itself is listed with its configured addresses only. */
const NODE_INFO_TIMEOUT_MS = 1000;

/** What a node says about itself. */
interface SelfInfo {
  readonly raft?: string;
  readonly amqp?: string;
  readonly http?: string;
  readonly uptimeMs: number;
}

export class BrokerQueries {
  private readonly startedAt = Date.now();
  /** This node's listeners: configured ones from the settings, then the bound ones (setListeners). */
  private self: { raft?: string; amqp?: string; http?: string };

  constructor(
    private readonly ctx: BrokerContext,
    private readonly queues: QueueGroups,
  ) {
    this.self = { ...ctx.settings.self };
    ctx.rpc.handle(NODE_INFO_METHOD, (): SelfInfo => this.selfInfo());
  }

  /** The front doors' bound addresses (`host:port`), known once they listen. */
  setListeners(addrs: { amqp?: string; http?: string }): void {
    const advertise = this.ctx.settings.advertise ?? {};
    const reported = { ...addrs };
    for (const door of ["amqp", "http"] as const) {
      const adv = advertise[door];
      const bound = addrs[door] !== undefined ? parseAddress(addrs[door]) : undefined;
      // An advertised address wins; the bound port fills in one given without a port.
      if (adv !== undefined && (adv.port !== undefined || bound !== undefined)) {
        reported[door] = formatAddress({ host: adv.host, port: adv.port ?? bound!.port });
      }
    }
    this.self = { ...this.self, ...reported };
  }

  private selfInfo(): SelfInfo {
    return { ...this.self, uptimeMs: Date.now() - this.startedAt };
  }

  /** A running peer's own account of itself; undefined when it does not answer in time. */
  private async askPeer(id: string): Promise<SelfInfo | undefined> {
    try {
      return await this.ctx.rpc.call<SelfInfo>(id, NODE_INFO_METHOD, null, NODE_INFO_TIMEOUT_MS);
    } catch {
      return undefined;
    }
  }

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
    return Promise.all(
      ctx.nodes.map(async (id): Promise<NodeInfo> => {
        const self = id === ctx.nodeId;
        const running = self || ctx.transport.isPeerUp(id);
        const configured =
          ctx.settings.peers.find((p) => p.id === id) ??
          ctx.meta.machine.clusterNodes().find((n) => n.id === id);
        // A peer knows its bound listeners and its uptime; a node down has neither (no uptime).
        const told = self ? this.selfInfo() : running ? await this.askPeer(id) : undefined;
        const raft = told?.raft ?? configured?.raft;
        const amqp = told?.amqp ?? configured?.amqp;
        const http = told?.http ?? configured?.http;
        return {
          name: id,
          running,
          raft: raft ?? "",
          ...(amqp !== undefined ? { amqp } : {}),
          ...(http !== undefined ? { http } : {}),
          leaderOf: leaders.get(id) ?? 0,
          ...(told !== undefined ? { uptimeMs: told.uptimeMs } : {}),
        };
      }),
    );
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
