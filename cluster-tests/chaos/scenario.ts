/**
 * What every scenario shares: one cluster per test file, a fresh queue per scenario with clients
 * on every node, the phases' lengths (short for `npm test`, longer for `npm run test:chaos`),
 * and the final check (lost = 0, unexpected = 0) with the figures printed.
 */
import { expect } from "vitest";
import { seg, waitFor } from "../harness/index.js";
import { Checker, type CheckReport, describeReport } from "./checker.js";
import type { ProxiedCluster } from "./proxied-cluster.js";
import { LONG } from "./random.js";
import { Workload } from "./workload.js";

const V = seg("/");

/** Phase lengths: a fault held, traffic after healing. */
export const PHASE_MS = LONG ? 8_000 : 2_500;
/**
 * Traffic before a fault, beyond the 20 confirms `begin` already waited for. The clients consume
 * as fast as they publish, so a longer warm-up adds no backlog for the fault to hit, only wall
 * time; the long runs keep a full phase for longer histories.
 */
export const WARMUP_MS = LONG ? PHASE_MS : 500;
/** Budget for a new leader to serve on a loaded 2-core machine (election 1-2 s plus slack). */
export const FAILOVER_BUDGET_MS = 20_000;
export const DRAIN_TIMEOUT_MS = 45_000;

interface QueueInfo {
  leader: string | null;
  members: string[];
  messages: number;
}

export async function queueInfo(cluster: ProxiedCluster, via: string, queue: string): Promise<QueueInfo> {
  const res = await cluster.node(via).direct.get<QueueInfo>(`/api/queues/${V}/${seg(queue)}`);
  if (res.status !== 200)
    throw new Error(`GET queue ${queue} via ${via}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The leader every listed node names (polls until they agree on one, other than `not`). */
export async function agreedLeader(
  cluster: ProxiedCluster,
  queue: string,
  ids: readonly string[],
  not?: string,
): Promise<string> {
  return waitFor(
    async () => {
      const views = await Promise.all(ids.map(async (id) => (await queueInfo(cluster, id, queue)).leader));
      const first = views[0];
      return typeof first === "string" && first !== not && views.every((v) => v === first)
        ? first
        : undefined;
    },
    {
      timeoutMs: FAILOVER_BUDGET_MS,
      what: `${ids.join(",")} to agree on a leader of ${queue}${not ? ` other than ${not}` : ""}`,
    },
  );
}

export class Scenario {
  readonly checker = new Checker();
  readonly workload: Workload;
  private readonly notes: string[] = [];
  private lastFault = Date.now();

  private constructor(
    readonly cluster: ProxiedCluster,
    readonly queue: string,
  ) {
    this.workload = new Workload(cluster, this.checker, { queue, nodes: cluster.nodes.map((n) => n.id) });
  }

  /** Declare the queue (replicated on all three nodes), wait until every node knows its leader, start the clients. */
  static async begin(cluster: ProxiedCluster, queue: string): Promise<Scenario> {
    // Whatever an earlier scenario left behind (it may have failed half-way): heal, wake, restart.
    await cluster.restore();
    const put = await cluster.node("n1").direct.put(`/api/queues/${V}/${seg(queue)}`, {});
    if (put.status !== 201 && put.status !== 204)
      throw new Error(`declare ${queue}: ${put.status} ${JSON.stringify(put.body)}`);
    await agreedLeader(
      cluster,
      queue,
      cluster.nodes.map((n) => n.id),
    );
    const s = new Scenario(cluster, queue);
    s.workload.start();
    await s.waitConfirms(20);
    return s;
  }

  /** Wait until `n` more publishes sent from now on are confirmed (by any node). */
  async waitConfirms(n: number, timeoutMs = FAILOVER_BUDGET_MS): Promise<void> {
    const from = Date.now();
    await waitFor(() => this.checker.confirmedBetween(from, Number.POSITIVE_INFINITY).length >= n, {
      timeoutMs,
      what: `${n} confirms on ${this.queue}`,
      intervalMs: 50,
    });
  }

  /** Let the clients run for `ms` (the workload is the thing under test while we wait). */
  async run(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
  }

  fault(name: string): number {
    const at = Date.now();
    this.checker.markFault(name, at);
    this.lastFault = at;
    return at;
  }

  /** Record how long after the last fault something was observed (printed with the report). */
  note(what: string): void {
    this.notes.push(`${what} ${Date.now() - this.lastFault}ms after the fault`);
  }

  /** Heal everything, drain, check: lost and unexpected must be zero. Returns the report. */
  async finish(): Promise<CheckReport> {
    await this.cluster.heal();
    await this.waitConfirms(5);
    await this.workload.drain(DRAIN_TIMEOUT_MS);
    const report = this.checker.report();
    console.log(
      `[chaos ${this.queue}]\n${describeReport(report)}${this.notes.map((n) => `\n${n}`).join("")}`,
    );
    expect(report.confirmed, "the scenario confirmed something").toBeGreaterThan(0);
    expect(report.lost, `lost messages\n${describeReport(report)}`).toEqual([]);
    expect(report.unexpected, `unexpected messages\n${describeReport(report)}`).toEqual([]);
    return report;
  }
}
