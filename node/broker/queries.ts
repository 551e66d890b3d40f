/**
 * Read-only views for the management API: metadata from this node's copy, live queue figures
 * from each queue's leader (or home node), Raft status of the groups hosted here.
 *
 * A single queue's figures (`getQueue`) read behind a read barrier at its leader, so a
 * confirmed message is never counted 0 right after a leader change. Listings do not: they
 * read what each leader has applied (`listFigures`), as RabbitMQ's listings are not
 * linearizable either, because a barrier per queue would wake every idle (quiesced) Raft group
 * on every monitoring poll (docs/http-api.md).
 */
import { NONE } from "../../raft/core/types.js";
import { formatAddress, parseAddress } from "../config/kinds.js";
import type { DestinationKind, QueueRecord } from "../meta/index.js";
import type { QueueCounts } from "../queue/index.js";
import type { BrokerContext } from "./context.js";
import type { QueueGroups } from "./queue-groups.js";
import type { GroupStatus, NodeInfo, QueueInfo } from "./types.js";

/** RPC: a node describes itself (its listeners and uptime) for another node's `listNodes`. */
const NODE_INFO_METHOD = "node-info";
/** A peer slower than this to describe itself is listed with its configured addresses only. */
const NODE_INFO_TIMEOUT_MS = 1000;

/** RPC: a node's figures for several queues, as its replicas applied them (no read barrier). */
const FIGURES_METHOD = "queue-figures";

/** Queues per `queue-figures` request: frames stay far below the transport's limit. */
const FIGURES_PER_REQUEST = 1000;

/** One queue of a `queue-figures` request. */
interface FiguresAsk {
  readonly group?: string;
  readonly vhost: string;
  readonly name: string;
}

/** Per asked queue: its figures if the node leads it (or is its home), else the leader it knows. */
interface FiguresAnswer {
  readonly counts?: QueueCounts;
  readonly leader?: string;
}

/** A listed queue's figures and the node that answered them. */
interface Figures {
  readonly counts: QueueCounts;
  readonly leader: string;
}

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
    ctx.rpc.handle(FIGURES_METHOD, (_from, args) =>
      (args as readonly FiguresAsk[]).map((a) => this.localFigures(a)),
    );
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
    const figures = await this.listFigures(records);
    return records.map((q, i) => this.info(q, figures[i]));
  }

  /**
   * One queue, its figures read behind a read barrier at its leader (see the file comment). A
   * moment with no leader known to any member (an election) is waited out, within the bound of
   * one answer: answered at once, the queue showed as in minority with every figure 0 although
   * a leader was seconds away at most. A queue really in minority answers after that bound.
   */
  async getQueue(vhost: string, name: string): Promise<QueueInfo | undefined> {
    const q = this.ctx.meta.machine.queue(vhost, name);
    return q === undefined ? undefined : this.info(q, await this.queues.countsAndLeader(q, true));
  }

  /** This node's figures of one queue if it leads it (or is its home), else the leader it knows. */
  private localFigures(a: FiguresAsk): FiguresAnswer {
    const counts = this.queues.localCounts(a.group, a.vhost, a.name);
    if (counts !== undefined) return { counts };
    const leader = a.group === undefined ? undefined : this.queues.leaderOf(a.group);
    return leader === undefined ? {} : { leader };
  }

  /**
   * Figures of many queues as their leaders applied them, without a read barrier (it would wake
   * every idle group) and with one request per node and pass rather than one per queue: each
   * pass asks every queue's next candidate (the leader known here, its recorded leader, then its
   * members, with the leader hints answers give). A queue no member answers for has none.
   */
  private async listFigures(records: readonly QueueRecord[]): Promise<(Figures | undefined)[]> {
    const { ctx } = this;
    const out: (Figures | undefined)[] = new Array(records.length);
    const open: { i: number; candidates: string[]; tried: Set<string> }[] = [];
    for (const [i, q] of records.entries()) {
      const counts = this.queues.localCounts(q.group, q.vhost, q.name);
      if (counts !== undefined) {
        out[i] = { counts, leader: ctx.nodeId };
        continue;
      }
      const known = q.group === undefined ? undefined : this.queues.leaderOf(q.group);
      const candidates =
        q.type === "transient"
          ? [q.leader]
          : [...(known !== undefined ? [known] : []), q.leader, ...q.members];
      open.push({ i, candidates, tried: new Set([ctx.nodeId]) });
    }
    const timeoutMs = Math.min(2000, ctx.settings.proposalTimeoutMs);
    let pending = open;
    while (pending.length > 0) {
      const byTarget = new Map<string, typeof pending>();
      const requests: [string, typeof pending][] = [];
      for (const p of pending) {
        const target = p.candidates.find((c) => !p.tried.has(c));
        if (target === undefined) continue;
        p.tried.add(target);
        let list = byTarget.get(target);
        if (list === undefined || list.length >= FIGURES_PER_REQUEST) {
          list = [];
          byTarget.set(target, list);
          requests.push([target, list]);
        }
        list.push(p);
      }
      const next: typeof pending = [];
      await Promise.all(
        requests.map(async ([target, list]) => {
          const asks = list.map(({ i }): FiguresAsk => {
            const q = records[i]!;
            return { ...(q.group !== undefined ? { group: q.group } : {}), vhost: q.vhost, name: q.name };
          });
          let answers: readonly FiguresAnswer[] = [];
          try {
            answers = await ctx.rpc.call<FiguresAnswer[]>(target, FIGURES_METHOD, asks, timeoutMs);
          } catch {
            // unreachable or silent: its queues try their next candidate
          }
          for (const [k, p] of list.entries()) {
            const a = answers[k];
            if (a?.counts !== undefined) {
              out[p.i] = { counts: a.counts, leader: target };
              continue;
            }
            if (a?.leader !== undefined && !p.tried.has(a.leader)) p.candidates.unshift(a.leader);
            next.push(p);
          }
        }),
      );
      pending = next;
    }
    return out;
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

  private info(q: QueueRecord, answer: Figures | undefined): QueueInfo {
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
