/**
 * One simulation run from one integer seed: build the cluster, run the chaos phase for a
 * number of steps (one step = one event: a tick, a delivery, a fsync completion, a local
 * report or one tick of the fault schedule), checking every invariant as it goes; then heal
 * everything and require a leader and a committed proposal within a bounded number of ticks,
 * with every member catching up to it.
 *
 * Every parameter of the run (Raft options, snapshot cadence, fsync latency) is drawn from the
 * seed too, so the seed alone replays the run exactly.
 */
import type { ConfState, NodeId } from "../core/types.js";
import { Chaos, DEFAULT_RATES, STORM_RATES } from "./chaos.js";
import { Invariant, Violation } from "./checkers.js";
import { SimCluster, type SimStats } from "./cluster.js";
import { describeConf } from "./describe.js";
import { UNITS_PER_TICK } from "./event-queue.js";
import { SimNetwork } from "./network.js";
import { Prng } from "./prng.js";
import { type HostBugs, type NodeParams, roleName, type SimNode } from "./sim-node.js";
import { Trace } from "./trace.js";

/** What to run: only `seed` is required; everything else has a default or is drawn from the seed. */
export interface RunOptions {
  readonly seed: number;
  /** Founding voters (3 or 5). */
  readonly nodes?: number;
  /** Steps of the chaos phase. */
  readonly steps?: number;
  /** Bound, in ticks, for the recovery after healing (default: 30 election timeouts, at least 300). */
  readonly livenessTicks?: number;
  /** Trace lines kept for a failure report. */
  readonly traceLines?: number;
  /** Streams every trace line as it happens. */
  readonly verbose?: (line: string) => void;
  /** Deliberate host bugs, for checker self-tests. */
  readonly bugs?: HostBugs;
  /** Force (true) or forbid (false) the leadership-storm fault mix; by default a quarter of seeds draw it. */
  readonly storm?: boolean;
  /** Invariants not to enforce, for checker self-tests (prove the others still catch a bug). */
  readonly disabledChecks?: readonly Invariant[];
  /** Quiesce idle groups (default: odd seeds do). */
  readonly quiesce?: boolean;
}

/** The outcome of one run; `ok` is false exactly when `violation` is set. */
export interface RunResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation?: { readonly invariant: string; readonly detail: string };
  /** The last trace lines, on failure. */
  readonly trace: readonly string[];
  readonly steps: number;
  readonly ticks: number;
  /** Ticks from healing to the marker proposal's commit, on success. */
  readonly recoveryTicks?: number;
  readonly stats: SimStats;
  readonly params: string;
}

/** Chaos-phase steps of a CLI run ("thousands of steps per seed"). */
export const DEFAULT_STEPS = 10_000;
/** Floor of the recovery bound, in ticks. */
export const DEFAULT_LIVENESS_TICKS = 300;

/** Draws the run's Raft and host parameters from the seed. */
function drawParams(rng: Prng, bugs: HostBugs): Omit<NodeParams, "quiesce"> {
  return {
    electionTick: rng.pick([6, 10, 10, 16]),
    heartbeatTick: rng.pick([1, 1, 2]),
    preVote: rng.chance(0.75),
    checkQuorum: rng.chance(0.75),
    maxSizePerMsg: rng.pick([8, 64, 1 << 20]),
    maxInflightMsgs: rng.pick([1, 4, 64]),
    maxCommittedSizePerReady: rng.pick([0, 0, 16, 256]),
    snapshotEvery: rng.pick([10, 25, 60]),
    snapshotTrail: rng.pick([0, 2, 10]),
    liveEvery: rng.pick([3, 5, 8]),
    maxFsyncDelay: rng.pick([0, UNITS_PER_TICK / 2, 2 * UNITS_PER_TICK]),
    stepWhileSyncing: rng.chance(0.5),
    bugs,
  };
}

function describeParams(p: NodeParams): string {
  return (
    `preVote=${p.preVote} checkQuorum=${p.checkQuorum} maxSizePerMsg=${p.maxSizePerMsg} ` +
    `maxInflight=${p.maxInflightMsgs} maxCommittedPerReady=${p.maxCommittedSizePerReady || "all"} ` +
    `electionTick=${p.electionTick} heartbeatTick=${p.heartbeatTick} snapshotEvery=${p.snapshotEvery} trail=${p.snapshotTrail} ` +
    `liveEvery=${p.liveEvery} fsyncDelay<=${p.maxFsyncDelay} stepWhileSyncing=${p.stepWhileSyncing} quiesce=${p.quiesce}`
  );
}

/** Runs one seed to completion or to its first violation. Never throws for a violation. */
export function runSeed(opts: RunOptions): RunResult {
  const seed = opts.seed;
  const rng = new Prng(seed);
  // Every other seed quiesces idle groups (not drawn, so no other draw of a seed moves).
  const params = { ...drawParams(rng, opts.bugs ?? {}), quiesce: opts.quiesce ?? seed % 2 === 1 };
  const network = new SimNetwork(rng.fork());
  const chaosRng = rng.fork();
  // A quarter of the seeds run leadership storms instead of the default fault mix.
  const drawnStorm = rng.chance(0.25);
  const storm = opts.storm ?? drawnStorm;
  const trace = new Trace(opts.traceLines ?? 80, opts.verbose);
  const n = opts.nodes ?? 3;
  const ids: NodeId[] = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  const bootstrap: ConfState = { voters: ids, learners: [] };
  const cluster = new SimCluster(
    bootstrap,
    params,
    rng.fork(),
    network,
    trace,
    new Set(opts.disabledChecks ?? []),
  );
  const maxSteps = opts.steps ?? DEFAULT_STEPS;
  // Thirty election timeouts: without pre-vote, nodes with stale logs keep bumping terms and
  // resetting everyone's timers, and only a fresh-log node winning the race ends it.
  const livenessTicks = opts.livenessTicks ?? Math.max(DEFAULT_LIVENESS_TICKS, 30 * params.electionTick);
  let steps = 0;
  let recoveryTicks: number | undefined;
  const result = (violation?: Violation): RunResult => ({
    seed,
    ok: violation === undefined,
    ...(violation ? { violation: { invariant: violation.invariant, detail: violation.detail } } : {}),
    trace: violation ? trace.lines() : [],
    steps,
    ticks: Math.floor(cluster.now / UNITS_PER_TICK),
    ...(recoveryTicks !== undefined ? { recoveryTicks } : {}),
    stats: cluster.stats,
    params: `${storm ? "storm " : ""}${describeParams(params)}`,
  });

  try {
    trace.add(0, "sim", "params", `${storm ? "storm " : ""}${describeParams(params)}`);
    for (const id of ids) cluster.addNode(id);
    const chaos = new Chaos(cluster, chaosRng, n + 3, storm ? STORM_RATES : DEFAULT_RATES);
    cluster.queue.after(UNITS_PER_TICK, { k: "drive" });
    // The chaos phase: faults and clients on every tick of the schedule, checks on every step.
    while (steps < maxSteps) {
      const ev = cluster.queue.pop()!;
      steps++;
      if (ev.k === "drive") {
        chaos.drive();
        cluster.queue.after(UNITS_PER_TICK, ev);
      } else {
        cluster.dispatch(ev);
      }
    }
    // The liveness phase: no more faults; a marker proposal must commit and reach every member.
    chaos.heal();
    const recovery = new Recovery(cluster, chaos);
    const healedAt = cluster.now;
    const deadline = healedAt + livenessTicks * UNITS_PER_TICK;
    while (!recovery.done()) {
      if (cluster.now > deadline) throw recovery.failure(livenessTicks);
      const ev = cluster.queue.pop()!;
      steps++;
      if (ev.k === "drive") {
        recovery.drive();
        cluster.queue.after(UNITS_PER_TICK, ev);
      } else {
        cluster.dispatch(ev);
      }
    }
    recoveryTicks = Math.ceil((recovery.ackedAt - healedAt) / UNITS_PER_TICK);
    return result();
  } catch (err) {
    if (err instanceof Violation) return result(err);
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    return result(new Violation(Invariant.SimulatorError, text));
  }
}

/**
 * The liveness phase: propose a marker command to whoever leads (again after a leadership
 * change) until it is acknowledged, then wait for every up member to apply it.
 */
class Recovery {
  private marker: { index: number; term: number; by: NodeId } | undefined;
  ackedAt = -1;

  constructor(
    private readonly cluster: SimCluster,
    private readonly chaos: Chaos,
  ) {
    cluster.onAck = (index, term) => {
      const m = this.marker;
      if (this.ackedAt < 0 && m && m.index === index && m.term === term) this.ackedAt = cluster.now;
    };
  }

  drive(): void {
    if (this.ackedAt >= 0) return;
    const leader = this.cluster.leader();
    if (!leader?.ready || !leader.conf.voters.includes(leader.id)) return;
    const m = this.marker;
    if (m && m.by === leader.id && m.term === leader.term) return;
    const data = this.chaos.nextCommand();
    leader.client((core) => {
      const at = core.propose(data);
      this.marker = { index: at.index, term: at.term, by: leader.id };
      this.cluster.proposed(leader, at.index, at.term, data);
    });
  }

  /** Members of the latest configuration that have not applied the marker yet. */
  private laggards(): SimNode[] {
    const m = this.marker;
    if (!m) return [];
    const conf = this.cluster.conf;
    return [...this.cluster.nodes.values()].filter(
      (n) =>
        n.alive &&
        !n.retired &&
        (conf.voters.includes(n.id) || conf.learners.includes(n.id)) &&
        n.appliedIndex < m.index,
    );
  }

  done(): boolean {
    return this.ackedAt >= 0 && this.laggards().length === 0;
  }

  failure(bound: number): Violation {
    const leader = this.cluster.leader();
    const nodes = [...this.cluster.nodes.values()]
      .filter((n) => !n.retired)
      .map((n) => {
        if (!n.alive) return `${n.id}(down)`;
        const st = n.core.status();
        return `${n.id}(${roleName(st.role)} term=${st.term} commit=${st.commit} applied=${n.appliedIndex} ${describeConf(st.conf)})`;
      })
      .join(" ");
    const what =
      this.ackedAt < 0
        ? `no proposal committed within ${bound} ticks of healing (leader: ${leader?.id ?? "none"}, marker: ${
            this.marker ? `${this.marker.index}:${this.marker.term} on ${this.marker.by}` : "never accepted"
          })`
        : `members [${this.laggards()
            .map((n) => n.id)
            .join(",")}] did not apply the marker within ${bound} ticks`;
    return new Violation(Invariant.Liveness, `${what}; nodes ${nodes}`);
  }
}
