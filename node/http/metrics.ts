/**
 * Prometheus metrics of a node (`GET /metrics`), on a registry of its own so several nodes can
 * live in one process (tests).
 *
 * Two kinds:
 * - Read at scrape time from the broker: per queue ready/unacked/total messages and consumers
 *   (`listQueues`, figures from each queue's leader), per Raft group term, commit and applied
 *   index, leadership and follower lag (`groupStatuses`), readiness and flow control.
 * - Counted as things happen, through hooks: publishes, deliveries and settlements (the HTTP door
 *   feeds them with `door="http"`; the AMQP door should feed the same object with
 *   `door="amqp"`), and the fsync latency histogram, which the process feeds from the storage
 *   (`observeFsync(ms)` per flush). Build one `NodeMetrics` in main.ts and hand it to every door.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Broker, PublishOutcome, QueueInfo, SettleOp } from "../broker/types.js";

export type Door = "http" | "amqp";

/** fsync of one LevelDB batch: tens of microseconds (page cache) to tens of milliseconds (disks). */
const FSYNC_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly publishedTotal: Counter<"door" | "outcome">;
  private readonly deliveredTotal: Counter<"door">;
  private readonly settledTotal: Counter<"door" | "op">;
  private readonly fsyncSeconds: Histogram;
  private broker: Broker | undefined;

  constructor() {
    const registers = [this.registry];
    this.publishedTotal = new Counter({
      name: "warren_messages_published_total",
      help: "Publishes by outcome (routed, unroutable, rejected, failed), once committed or refused",
      labelNames: ["door", "outcome"],
      registers,
    });
    this.deliveredTotal = new Counter({
      name: "warren_messages_delivered_total",
      help: "Messages handed to clients (consume deliveries and gets)",
      labelNames: ["door"],
      registers,
    });
    this.settledTotal = new Counter({
      name: "warren_messages_settled_total",
      help: "Messages settled by clients: ack, requeue (nack/reject with requeue, expired lease), reject",
      labelNames: ["door", "op"],
      registers,
    });
    this.fsyncSeconds = new Histogram({
      name: "warren_wal_fsync_duration_seconds",
      help: "Duration of one write-ahead-log flush (LevelDB batch with sync), fed by the process",
      buckets: FSYNC_BUCKETS,
      registers,
    });
    this.defineBrokerGauges(registers);
  }

  /** Scrape-time gauges read this broker (buildApp attaches it). */
  attach(broker: Broker): void {
    this.broker = broker;
  }

  published(outcome: PublishOutcome["kind"] | "failed", door: Door = "http"): void {
    this.publishedTotal.inc({ door, outcome });
  }

  delivered(n: number, door: Door = "http"): void {
    if (n > 0) this.deliveredTotal.inc({ door }, n);
  }

  settled(op: SettleOp, n: number, door: Door = "http"): void {
    if (n > 0) this.settledTotal.inc({ door, op }, n);
  }

  /** The fsync hook: call it with each WAL flush's duration in milliseconds. */
  observeFsync(ms: number): void {
    this.fsyncSeconds.observe(ms / 1000);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private defineBrokerGauges(registers: Registry[]): void {
    const queueLabels = ["vhost", "queue"] as const;
    // registry.metrics() starts every metric's collect at once: the four queue gauges share one
    // listQueues per scrape (the first collect starts it, the others await the same promise).
    const self = this;
    let pending: Promise<readonly QueueInfo[]> | undefined;
    const queues = (): Promise<readonly QueueInfo[]> => {
      if (pending) return pending;
      const p = self.broker ? self.broker.listQueues() : Promise.resolve([]);
      pending = p.finally(() => {
        pending = undefined;
      });
      return pending;
    };
    const queueGauge = (name: string, help: string, value: (q: QueueInfo) => number) =>
      new Gauge({
        name,
        help,
        labelNames: queueLabels,
        registers,
        async collect() {
          const list = await queues();
          this.reset();
          for (const q of list) this.set({ vhost: q.record.vhost, queue: q.record.name }, value(q));
        },
      });
    queueGauge("warren_queue_messages_ready", "Messages ready for delivery", (q) => q.messagesReady);
    queueGauge(
      "warren_queue_messages_unacked",
      "Messages delivered and not yet settled",
      (q) => q.messagesUnacknowledged,
    );
    queueGauge("warren_queue_messages", "Ready plus unacked messages", (q) => q.messages);
    queueGauge("warren_queue_consumers", "Consumers of the queue", (q) => q.consumers);

    // Synchronous figures: the collect of warren_raft_groups (registered first, and collects
    // run synchronously up to their first await) fills the per-group gauges.
    const groupLabels = ["group", "vhost", "queue"] as const;
    type G = Gauge<"group" | "vhost" | "queue">;
    type GL = Gauge<"group" | "vhost" | "queue" | "leader">;
    type GF = Gauge<"group" | "vhost" | "queue" | "follower">;
    let term: G, commit: G, applied: G, isLeader: G, leaderInfo: GL, lag: GF;
    new Gauge({
      name: "warren_raft_groups",
      help: "Raft groups this node is a member of",
      registers,
      collect() {
        for (const g of [term, commit, applied, isLeader, leaderInfo, lag]) g.reset();
        const broker = self.broker;
        if (!broker) return this.set(0);
        const statuses = broker.groupStatuses();
        for (const s of statuses) {
          const labels = { group: s.group, vhost: s.queue?.vhost ?? "", queue: s.queue?.name ?? "" };
          term.set(labels, s.term);
          commit.set(labels, s.commit);
          applied.set(labels, s.applied);
          isLeader.set(labels, s.leader === broker.nodeId ? 1 : 0);
          if (s.leader !== undefined) leaderInfo.set({ ...labels, leader: s.leader }, 1);
          for (const [follower, match] of Object.entries(s.progress ?? {})) {
            if (follower === broker.nodeId) continue;
            lag.set({ ...labels, follower }, Math.max(0, s.commit - match));
          }
        }
        this.set(statuses.length);
      },
    });

    term = new Gauge({
      name: "warren_raft_term",
      help: "Current Raft term of the group on this node",
      labelNames: groupLabels,
      registers,
    });
    commit = new Gauge({
      name: "warren_raft_commit_index",
      help: "Commit index of the group on this node",
      labelNames: groupLabels,
      registers,
    });
    applied = new Gauge({
      name: "warren_raft_applied_index",
      help: "Applied index of the group on this node",
      labelNames: groupLabels,
      registers,
    });
    isLeader = new Gauge({
      name: "warren_raft_is_leader",
      help: "1 when this node leads the group",
      labelNames: groupLabels,
      registers,
    });
    leaderInfo = new Gauge({
      name: "warren_raft_leader",
      help: "1 for the group's known leader (label leader)",
      labelNames: [...groupLabels, "leader"],
      registers,
    });
    lag = new Gauge({
      name: "warren_raft_follower_lag",
      help: "Leader only: entries a follower's match index is behind the commit index",
      labelNames: [...groupLabels, "follower"],
      registers,
    });
    new Gauge({
      name: "warren_node_ready",
      help: "1 when the node is in a quorum with its metadata caught up",
      registers,
      collect() {
        this.set(self.broker?.isReady() ? 1 : 0);
      },
    });
    new Gauge({
      name: "warren_node_blocked",
      help: "1 while publishes are held back (memory or backlog over its bound)",
      registers,
      collect() {
        this.set(self.broker?.isBlocked() ? 1 : 0);
      },
    });
  }
}
