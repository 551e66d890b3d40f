/**
 * Scripted scenarios on the simulated cluster. A seeded run (`run.ts`) draws its faults at
 * random and checks liveness only after healing everything; a scenario places the faults
 * itself (cut one direction of one link, freeze a node) at chosen moments while clients keep
 * proposing, and measures availability *during* the fault: the longest stretch of ticks
 * without a client acknowledgement. The safety checks run on every step exactly as in a
 * seeded run (they live in SimCluster and SimNode), so a scenario fails on a violation too.
 *
 * The nodes run the production timing (`PRODUCTION_PARAMS`: the host's 30-tick election
 * timeout, heartbeats every 2 ticks, pre-vote and check-quorum on) and the host's reaction to
 * a closed connection (`peerDown`, mirroring RaftHost.onPeerDown), so what a scenario shows
 * is what a Warren node would do, minus real I/O.
 */
import type { NodeId } from "../core/types.js";
import { peerDownHint } from "../host/peer-hint.js";
import type { PeerDirection } from "../transport/index.js";
import { Chaos, type ChaosRates, DEFAULT_RATES } from "./chaos.js";
import { Violation } from "./checkers.js";
import { SimCluster } from "./cluster.js";
import { UNITS_PER_TICK } from "./event-queue.js";
import { CALM, SimNetwork } from "./network.js";
import type { NodeParams } from "./node-world.js";
import { Prng } from "./prng.js";
import type { SimNode } from "./sim-node.js";
import { Trace } from "./trace.js";

/** The RaftHost defaults (raft/host/options.ts), with a fsync of up to one tick (10 ms). */
export const PRODUCTION_PARAMS: NodeParams = {
  electionTick: 30,
  heartbeatTick: 2,
  preVote: true,
  checkQuorum: true,
  maxSizePerMsg: 1 << 20,
  maxInflightMsgs: 256,
  maxCommittedSizePerReady: 0,
  snapshotEvery: 200,
  snapshotTrail: 50,
  liveEvery: 5,
  maxFsyncDelay: UNITS_PER_TICK,
  stepWhileSyncing: true,
  quiesce: true,
  bugs: {},
};

/** Only clients: no random fault (the scenario places its own). */
const CLIENTS_ONLY: ChaosRates = {
  ...(Object.fromEntries(Object.keys(DEFAULT_RATES).map((k) => [k, 0])) as unknown as ChaosRates),
  propose: 0.7,
};

export interface ScenarioOptions {
  readonly seed: number;
  /** Founding voters (default 3): `n1`..`nN`. */
  readonly nodes?: number;
  readonly params?: Partial<NodeParams>;
  /** Trace lines kept for a failure message. */
  readonly traceLines?: number;
}

/** What a stretch of ticks looked like to the clients. */
export interface Window {
  /** Client commands acknowledged during the window. */
  readonly acks: number;
  /** Longest stretch of the window without an acknowledgement, in ticks. */
  readonly longestGap: number;
}

export class Scenario {
  readonly cluster: SimCluster;
  readonly ids: readonly NodeId[];
  readonly params: NodeParams;
  private readonly trace: Trace;
  private readonly clients: Chaos;
  private lastAck = 0;
  private acks = 0;
  private clientsOn = true;

  constructor(opts: ScenarioOptions) {
    const rng = new Prng(opts.seed);
    this.params = { ...PRODUCTION_PARAMS, ...opts.params };
    this.ids = Array.from({ length: opts.nodes ?? 3 }, (_, i) => `n${i + 1}`);
    this.trace = new Trace(opts.traceLines ?? 300);
    // Loopback-like latency: a message takes a fraction of a tick to a third of one.
    const network = new SimNetwork(rng.fork(), { ...CALM, minDelay: 1, maxDelay: 3 });
    this.cluster = new SimCluster(
      { voters: [...this.ids], learners: [] },
      this.params,
      rng.fork(),
      network,
      this.trace,
    );
    for (const id of this.ids) this.cluster.addNode(id);
    this.clients = new Chaos(this.cluster, rng.fork(), this.ids.length, CLIENTS_ONLY);
    this.cluster.onAck = () => {
      this.lastAck = this.cluster.now;
      this.acks++;
    };
    this.cluster.queue.after(UNITS_PER_TICK, { k: "drive" });
  }

  node(id: NodeId): SimNode {
    const n = this.cluster.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** The leader clients would find (see SimCluster.leader). */
  leader(): SimNode | undefined {
    return this.cluster.leader();
  }

  /** The other founding nodes. */
  others(id: NodeId): NodeId[] {
    return this.ids.filter((x) => x !== id);
  }

  /** Runs `ticks` ticks of clients and nodes; throws a Violation if a safety check fails. */
  run(ticks: number): Window {
    const start = this.cluster.now;
    const end = start + ticks * UNITS_PER_TICK;
    const acksBefore = this.acks;
    let gap = 0;
    while (this.cluster.now < end) {
      const ev = this.cluster.queue.pop();
      if (ev === undefined) break;
      if (ev.k === "drive") {
        if (this.clientsOn) this.clients.drive();
        this.cluster.queue.after(UNITS_PER_TICK, ev);
      } else {
        this.cluster.dispatch(ev);
      }
      gap = Math.max(gap, Math.min(this.cluster.now, end) - Math.max(this.lastAck, start));
    }
    return { acks: this.acks - acksBefore, longestGap: Math.floor(gap / UNITS_PER_TICK) };
  }

  /** Starts or stops the clients (an idle group quiesces once they stop). */
  setClients(on: boolean): void {
    this.clientsOn = on;
  }

  /** Every founding node is up and quiesced. */
  allQuiesced(): boolean {
    return this.ids.every((id) => {
      const n = this.node(id);
      return n.alive && n.core.isQuiesced();
    });
  }

  /** Runs until `done()` holds (checked every tick) or `maxTicks` pass; returns whether it held. */
  runUntil(done: () => boolean, maxTicks: number): boolean {
    for (let i = 0; i < maxTicks; i++) {
      if (done()) return true;
      this.run(1);
    }
    return done();
  }

  /**
   * Cuts the direction `from -> to` (the connection `from` dials to send to `to` closes and
   * stays refused), with the peer-down events both ends' transports report when it closes.
   */
  cut(from: NodeId, to: NodeId): void {
    this.cluster.network.cut(from, to);
    this.cluster.note("sim", "cut", `${from}->${to}`);
    this.peerDown(from, to, "outbound");
    this.peerDown(to, from, "inbound");
  }

  /** The direction `from -> to` works again. */
  restore(from: NodeId, to: NodeId): void {
    this.cluster.network.restore(from, to);
    this.cluster.note("sim", "restore", `${from}->${to}`);
  }

  /** Freezes a node (SIGSTOP): no timers, input waits in its socket buffers. */
  pause(id: NodeId): void {
    this.node(id).pause();
    this.cluster.note(id, "PAUSE");
  }

  /** Wakes a frozen node (SIGCONT): it steps everything that queued up meanwhile. */
  resume(id: NodeId): void {
    this.cluster.note(id, "RESUME");
    this.node(id).resume();
  }

  /**
   * What RaftHost.onPeerDown does when the transport of `self` reports its `direction`
   * connection with `peer` closed (the same policy function, peer-hint.ts).
   */
  peerDown(self: NodeId, peer: NodeId, direction: PeerDirection): void {
    const n = this.node(self);
    if (!n.alive) return;
    this.cluster.localLater(n, 1, `peer ${peer} down (${direction})`, () => {
      const hint = peerDownHint(n.role, n.lead, peer, direction);
      if (hint === "unreachable") n.core.reportUnreachable(peer);
      else if (hint === "leader-lost") n.core.reportLeaderLost();
    });
  }

  /** The last trace lines, for a failure message. */
  describe(): string {
    const nodes = this.ids
      .map((id) => {
        const n = this.node(id);
        if (!n.alive) return `${id}(down)`;
        const st = n.core.status();
        return `${id}(role=${st.role} term=${st.term} lead=${st.lead || "-"} commit=${st.commit})`;
      })
      .join(" ");
    return `${nodes}\n${this.trace.lines().join("\n")}`;
  }
}

/** Runs `body` and turns a safety violation into a readable failure (with the trace). */
export function withTrace<T>(s: Scenario, body: () => T): T {
  try {
    return body();
  } catch (err) {
    if (err instanceof Violation) throw new Error(`${err.invariant}: ${err.detail}\n${s.describe()}`);
    throw err;
  }
}
