/**
 * Clients that publish and consume throughout a scenario, each through its node's client proxy,
 * reporting everything to the Checker. Publishers are sequential (one publish in flight each),
 * so a publisher's sequence is also its order into the queue. Consumers use the leased consume
 * API and ack on the node that delivered, so a lost answer means a redelivery, never a loss.
 */
import { setTimeout as delay } from "node:timers/promises";
import { seg, waitFor } from "../harness/index.js";
import { type Checker, encodeTag } from "./checker.js";
import type { ChaosNode, ProxiedCluster } from "./proxied-cluster.js";

const V = seg("/");
/** Pause after a failed request, so a dead node is not hammered (pacing, not synchronisation). */
const FAILURE_PAUSE_MS = 100;

interface Delivered {
  payload: string;
  delivery_id: string;
  redelivered: boolean;
  delivery_count: number;
}

export interface WorkloadOptions {
  readonly queue: string;
  /** One publisher and one consumer per node id listed. */
  readonly nodes: readonly string[];
}

export class Workload {
  private publishing = true;
  private consuming = true;
  private readonly loops: Promise<void>[] = [];
  private readonly consumerLoops: Promise<void>[] = [];

  constructor(
    private readonly cluster: ProxiedCluster,
    private readonly checker: Checker,
    private readonly opts: WorkloadOptions,
  ) {}

  start(): void {
    for (const id of this.opts.nodes) {
      this.loops.push(this.publisher(`${this.opts.queue}/p-${id}`, this.cluster.node(id)));
      this.consumerLoops.push(this.consumer(`${this.opts.queue}/c-${id}`, this.cluster.node(id)));
    }
  }

  private async publisher(name: string, node: ChaosNode): Promise<void> {
    for (let seq = 0; this.publishing; seq++) {
      const tag = { id: `${name}#${seq}`, publisher: name, seq };
      this.checker.recordAttempt(tag, this.opts.queue, node.id, Date.now());
      let ok = false;
      try {
        const res = await node.client.post<{ routed?: boolean }>(`/api/exchanges/${V}/amq.default/publish`, {
          routing_key: this.opts.queue,
          payload: encodeTag(tag),
          payload_encoding: "string",
          properties: { delivery_mode: 2 },
        });
        ok = res.status === 200 && res.body.routed === true;
      } catch {
        // Timeout, reset, refused: not confirmed (it may still have been stored).
      }
      if (ok) this.checker.recordConfirm(tag.id, Date.now());
      else await delay(FAILURE_PAUSE_MS);
    }
  }

  private async consumer(name: string, node: ChaosNode): Promise<void> {
    while (this.consuming) {
      try {
        const res = await node.client.post<Delivered[]>(`/api/queues/${V}/${seg(this.opts.queue)}/consume`, {
          max: 100,
          wait_ms: 300,
          lease_ms: 4_000,
        });
        if (res.status !== 200 || !Array.isArray(res.body)) throw new Error(`consume ${res.status}`);
        const now = Date.now();
        for (const m of res.body)
          this.checker.recordDelivery(m.payload, name, m.redelivered || m.delivery_count > 0, now);
        if (res.body.length > 0)
          await node.client.post(`/api/queues/${V}/${seg(this.opts.queue)}/ack`, {
            delivery_ids: res.body.map((m) => m.delivery_id),
          });
      } catch {
        // An unanswered ack leaves the lease to expire: the message comes back (a duplicate).
        await delay(FAILURE_PAUSE_MS);
      }
    }
  }

  /** Stop publishing and wait for the publishers' last requests to finish. */
  async stopPublishing(): Promise<void> {
    this.publishing = false;
    await Promise.all(this.loops);
  }

  /**
   * After healing: keep consuming until every confirmed message was delivered and the queue is
   * empty (no ready, no leased message) on its leader, then stop the consumers.
   */
  async drain(timeoutMs: number): Promise<void> {
    await this.stopPublishing();
    try {
      await waitFor(
        async () => {
          if (this.checker.undelivered().length > 0) return false;
          for (const n of this.cluster.nodes) {
            if (!n.proc.running) continue;
            const q = await n.direct.get<{ messages?: number; leader?: string | null }>(
              `/api/queues/${V}/${seg(this.opts.queue)}`,
            );
            if (q.status === 200 && typeof q.body.leader === "string") return q.body.messages === 0;
          }
          return false;
        },
        { timeoutMs, what: `draining ${this.opts.queue}`, intervalMs: 200 },
      ).catch((err: Error) => {
        // The report says what was not delivered; the timeout alone says nothing.
        void err;
      });
    } finally {
      this.consuming = false;
      await Promise.all(this.consumerLoops);
    }
  }
}
