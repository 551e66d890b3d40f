/**
 * The fault schedule and the clients: once per tick of the chaos phase, with seeded
 * probabilities, partition or heal the network, change loss/duplication/delay, crash or
 * restart nodes, change membership (add a learner, promote it, remove a voter or learner),
 * transfer leadership, issue ReadIndex requests and propose client commands.
 *
 * Crashes are kept to a minority of voters most of the time (the durability promise is about a
 * minority), with the occasional crash of more to exercise full-cluster recovery. Every crash
 * gives the crashed leader's reachable followers the leader-lost hint, as their transport would.
 */
import { type ConfChange, ConfChangeType, type NodeId } from "../core/types.js";
import type { SimCluster } from "./cluster.js";
import { describeConfChange } from "./describe.js";
import { UNITS_PER_TICK } from "./event-queue.js";
import { commandData } from "./machine.js";
import { CALM } from "./network.js";
import type { Prng } from "./prng.js";
import type { SimNode } from "./sim-node.js";

/** Per-tick probabilities of each kind of action. */
export interface ChaosRates {
  readonly propose: number;
  readonly proposeToAnyNode: number;
  readonly partition: number;
  readonly heal: number;
  readonly weather: number;
  readonly crash: number;
  readonly restart: number;
  readonly pause: number;
  readonly outage: number;
  /** Chance that a leader which just took proposals crashes a tick later (partial replication). */
  readonly crashAfterPropose: number;
  readonly confChange: number;
  readonly transfer: number;
  readonly read: number;
  /** A host-forced election (`RawNode.campaign()`) on a random node. */
  readonly campaign: number;
  /** The clients go quiet for 10-80 ticks (idle groups quiesce when the host lets them). */
  readonly idle: number;
}

export const DEFAULT_RATES: ChaosRates = {
  propose: 0.6,
  proposeToAnyNode: 0.05,
  partition: 0.02,
  heal: 0.025,
  weather: 0.015,
  crash: 0.012,
  restart: 0.04,
  pause: 0.008,
  outage: 0.002,
  crashAfterPropose: 0,
  confChange: 0.012,
  transfer: 0.008,
  read: 0.08,
  campaign: 0.003,
  idle: 0.01,
};

/**
 * Leadership storms: frequent crashes, restarts and short partitions, with proposals landing
 * on short-lived leaders, so logs diverge across many terms (the ground for Figure 8).
 */
export const STORM_RATES: ChaosRates = {
  ...DEFAULT_RATES,
  propose: 0.9,
  partition: 0.06,
  heal: 0.1,
  crash: 0.04,
  restart: 0.15,
  pause: 0.02,
  transfer: 0.02,
  crashAfterPropose: 0.3,
};

/** Client flow control: uncommitted entries a leader may have before clients wait. */
const MAX_UNCOMMITTED = 64;

/**
 * The fault schedule and clients of the chaos phase. Every decision is drawn from its own
 * forked PRNG, so adding a node or a message elsewhere never shifts the fault schedule.
 */
export class Chaos {
  private commandSeq = 0;
  /** Crashes decided last tick, carried out on this one (if the node did not crash meanwhile). */
  private pendingCrashes: { node: SimNode; inc: number }[] = [];
  private readSeq = 0;
  private nextNodeNum: number;
  /** Ticks of the schedule so far, and the tick until which the clients stay quiet. */
  private ticks = 0;
  private quietUntil = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly rng: Prng,
    private readonly maxNodes: number,
    private readonly rates: ChaosRates = DEFAULT_RATES,
  ) {
    this.nextNodeNum = cluster.nodes.size + 1;
  }

  /** The payload of the next client command (unique within the run). */
  nextCommand(): Uint8Array {
    // One command in ten is large (100-300 bytes), so batches hit maxSizePerMsg at odd points.
    return commandData(++this.commandSeq, this.rng.chance(0.1) ? this.rng.range(100, 300) : 0);
  }

  /**
   * One tick of faults and client requests. Each kind of action is an independent coin flip,
   * in a fixed order, so several faults may land in the same tick (a crash during a partition).
   */
  drive(): void {
    const r = this.rates;
    const rng = this.rng;
    if (rng.chance(r.partition)) this.partition();
    if (rng.chance(r.heal)) this.healLinks();
    if (rng.chance(r.weather)) this.weather();
    if (rng.chance(r.crash)) this.crash();
    if (rng.chance(r.restart)) this.restartOne();
    if (rng.chance(r.pause)) this.pause();
    if (rng.chance(r.outage)) this.outage();
    if (rng.chance(r.confChange)) this.changeMembership();
    if (rng.chance(r.transfer)) this.transfer();
    if (rng.chance(r.read)) this.read();
    if (rng.chance(r.campaign)) this.forceCampaign();
    this.dueCrashes();
    this.ticks++;
    if (this.ticks < this.quietUntil) return;
    if (r.idle > 0 && rng.chance(r.idle)) {
      this.quietUntil = this.ticks + this.rng.range(10, 80);
      this.cluster.note("sim", "idle", `clients quiet until schedule tick ${this.quietUntil}`);
      return;
    }
    if (rng.chance(r.propose)) {
      const leader = this.cluster.leader();
      if (leader) {
        for (let i = this.rng.range(1, 3); i > 0; i--) this.propose(leader);
        // A leader dying with its newest entries on only some followers leaves divergent,
        // uncommitted suffixes across terms: the ground for Figure 8.
        if (rng.chance(r.crashAfterPropose))
          this.pendingCrashes.push({ node: leader, inc: leader.incarnation });
      }
    }
    if (rng.chance(r.proposeToAnyNode)) {
      const alive = this.cluster.alive();
      if (alive.length > 0) this.propose(this.rng.pick(alive));
    }
  }

  /** Ends every fault: links restored, calm network, every crashed (non-retired) node restarted. */
  heal(): void {
    this.cluster.network.heal();
    this.cluster.network.setConditions(CALM);
    this.cluster.note("sim", "heal", "all links restored, calm network");
    for (const n of this.cluster.nodes.values()) if (n.paused) n.resume();
    for (const n of this.cluster.nodes.values()) if (!n.alive && !n.retired) this.restart(n);
  }

  /**
   * Proposes one client command to `node` (a non-leader answers NotLeaderError: nothing
   * happens). Clients keep a bounded number of commands in flight, as publishers with a
   * confirm window do: no new command while the leader has MAX_UNCOMMITTED entries above its
   * commit index, so a slow configuration (one 8-byte MsgApp in flight) builds no backlog the
   * recovery phase could not drain within its bound.
   */
  propose(node: SimNode): void {
    if (!node.ready) return;
    if (node.lastProposed - node.core.status().commit >= MAX_UNCOMMITTED) return;
    const data = this.nextCommand();
    node.client((core) => {
      const at = core.propose(data);
      node.lastProposed = at.index;
      this.cluster.proposed(node, at.index, at.term, data);
    });
  }

  private ids(): NodeId[] {
    return [...this.cluster.nodes.values()].filter((n) => !n.retired).map((n) => n.id);
  }

  /**
   * Cuts links: a one-way cut, an isolated leader, a minority|majority split or a three-way
   * split. Cuts accumulate until a heal; crashed nodes are included (their links stay cut
   * after a restart, like a machine coming back behind a broken switch).
   */
  private partition(): void {
    const ids = this.ids();
    const net = this.cluster.network;
    const kind = this.rng.int(4);
    if (kind === 0 || ids.length < 3) {
      const [a, b] = this.rng.shuffle(ids);
      if (a === undefined || b === undefined) return;
      net.cut(a, b);
      this.cluster.note("sim", "cut", `one-way ${a}->${b}`);
    } else if (kind === 1) {
      const leader = this.cluster.leader();
      if (!leader) return;
      net.isolate(leader.id, ids);
      this.cluster.note("sim", "partition", `isolate leader ${leader.id}`);
    } else {
      // A minority | majority split, or (kind 3, 4+ nodes) an arbitrary three-way split.
      const shuffled = this.rng.shuffle(ids);
      const groups: NodeId[][] = [];
      if (kind === 3 && shuffled.length >= 4) {
        const a = this.rng.range(1, shuffled.length - 2);
        const b = this.rng.range(a + 1, shuffled.length - 1);
        groups.push(shuffled.slice(0, a), shuffled.slice(a, b), shuffled.slice(b));
      } else {
        const k = this.rng.range(1, Math.floor(shuffled.length / 2));
        groups.push(shuffled.slice(0, k), shuffled.slice(k));
      }
      net.partition(groups);
      this.cluster.note("sim", "partition", groups.map((g) => g.join(",")).join(" | "));
    }
    this.cluster.stats.partitions++;
    this.hintCutLeaders();
  }

  /**
   * A real transport also reports a peer down when a partition makes its keepalives time out,
   * while that leader may well be alive on the other side: give the hint (sometimes) to nodes
   * that can no longer hear their leader. The core must stay safe when the hint is wrong.
   */
  private hintCutLeaders(): void {
    const cluster = this.cluster;
    for (const peer of cluster.alive()) {
      const lead = peer.lead;
      if (lead === "" || !cluster.network.isCut(lead, peer.id) || !this.rng.chance(0.5)) continue;
      cluster.localLater(
        peer,
        this.rng.range(UNITS_PER_TICK, 4 * UNITS_PER_TICK),
        `leader ${lead} unreachable`,
        () => {
          if (peer.lead === lead && cluster.network.isCut(lead, peer.id)) peer.core.reportLeaderLost();
        },
      );
    }
  }

  private healLinks(): void {
    this.cluster.network.heal();
    this.cluster.note("sim", "heal-links");
  }

  /** Changes the whole network's loss, duplication, reordering and delay range. */
  private weather(): void {
    const drop = this.rng.pick([0, 0, 0.02, 0.1, 0.3]);
    const duplicate = this.rng.pick([0, 0, 0.05, 0.2]);
    const reorder = this.rng.pick([0, 0.1, 0.5]);
    const minDelay = this.rng.range(1, UNITS_PER_TICK);
    const maxDelay = minDelay + this.rng.range(0, 3 * UNITS_PER_TICK);
    this.cluster.network.setConditions({ drop, duplicate, reorder, minDelay, maxDelay });
    this.cluster.note(
      "sim",
      "weather",
      `drop=${drop} dup=${duplicate} reorder=${reorder} delay=${minDelay}..${maxDelay}`,
    );
  }

  /**
   * Crashes a node. Most of the time a crash that would leave fewer than a quorum of voters up
   * is skipped (the promise is about minority failures); 15% of those go ahead, so whole-
   * cluster outages and recoveries happen too.
   */
  private crash(): void {
    const cluster = this.cluster;
    const alive = cluster.alive().filter((n) => !n.retired);
    if (alive.length === 0) return;
    const voters = cluster.conf.voters;
    const aliveVoters = alive.filter((n) => voters.includes(n.id)).length;
    const quorum = Math.floor(voters.length / 2) + 1;
    // Half the time, hit a node with writes in flight: the interesting moment to lose power.
    const syncing = alive.filter((n) => n.disk.pendingWrites > 0);
    const victim = this.rng.pick(syncing.length > 0 && this.rng.chance(0.5) ? syncing : alive);
    const wouldLoseQuorum = voters.includes(victim.id) && aliveVoters - 1 < quorum;
    if (wouldLoseQuorum && !this.rng.chance(0.15)) return;
    this.crashNode(victim);
  }

  /** Crashes `victim` and gives its reachable followers the leader-lost hint. */
  private crashNode(victim: SimNode): void {
    const cluster = this.cluster;
    const wasLeader = victim.id;
    const lost = victim.crash();
    cluster.stats.crashes++;
    cluster.stats.lostWrites += lost;
    cluster.note(victim.id, "CRASH", `lost ${lost} unsynced writes`);
    for (const peer of cluster.alive()) {
      if (peer.lead !== wasLeader || cluster.network.isCut(wasLeader, peer.id)) continue;
      // The peer's transport sees the connection close a moment later.
      cluster.localLater(peer, this.rng.range(1, 2 * UNITS_PER_TICK), `leader ${wasLeader} lost`, () => {
        if (peer.lead === wasLeader) peer.core.reportLeaderLost();
      });
    }
  }

  private dueCrashes(): void {
    const due = this.pendingCrashes;
    this.pendingCrashes = [];
    for (const { node, inc } of due) if (node.alive && node.incarnation === inc) this.crashNode(node);
  }

  /**
   * Power outage: every node crashes at once, losing every unsynced write; they come back one
   * by one through the restart schedule. Acknowledged entries must survive it (they are on
   * fsynced disks of enough voters).
   */
  private outage(): void {
    const cluster = this.cluster;
    let lost = 0;
    for (const n of cluster.alive()) {
      lost += n.crash();
      cluster.stats.crashes++;
    }
    cluster.stats.lostWrites += lost;
    cluster.note("sim", "OUTAGE", `every node crashed, ${lost} unsynced writes lost`);
  }

  /** Stalls a node (the leader half the time) for 5 to 40 ticks. */
  private pause(): void {
    const cluster = this.cluster;
    const leader = cluster.leader();
    const candidates = cluster.alive().filter((n) => !n.paused);
    if (candidates.length === 0) return;
    const victim = leader && !leader.paused && this.rng.chance(0.5) ? leader : this.rng.pick(candidates);
    const ticks = this.rng.range(5, 40);
    victim.pause();
    cluster.stats.pauses++;
    cluster.note(victim.id, "PAUSE", `for ${ticks} ticks`);
    cluster.queue.after(ticks * UNITS_PER_TICK, { k: "resume", node: victim.id, inc: victim.incarnation });
  }

  private restartOne(): void {
    const down = [...this.cluster.nodes.values()].filter((n) => !n.alive && !n.retired);
    if (down.length > 0) this.restart(this.rng.pick(down));
  }

  private restart(n: SimNode): void {
    this.cluster.stats.restarts++;
    this.cluster.note(
      n.id,
      "RESTART",
      `durable last=${n.disk.lastIndex()} snapshot=${n.disk.snapshotIndex()}`,
    );
    n.start();
  }

  /**
   * One single-server membership change through the leader: add a learner (a new node id,
   * never reused), promote a learner, remove a voter (keeping at least three) or a learner.
   * The core allows one pending change at a time and rejects the others (ProposalDropped).
   */
  private changeMembership(): void {
    const leader = this.cluster.leader();
    if (!leader?.ready) return;
    const { voters, learners } = leader.conf;
    const options: ConfChange[] = [];
    const fresh = `n${this.nextNodeNum}`;
    // Bounded churn: at most maxNodes nodes in service, and a few times that many over a run.
    const inService = [...this.cluster.nodes.values()].filter((n) => !n.retired).length;
    if (inService < this.maxNodes && this.cluster.nodes.size < 4 * this.maxNodes) {
      options.push({ type: ConfChangeType.AddLearner, node: fresh });
    }
    for (const l of learners) options.push({ type: ConfChangeType.AddVoter, node: l });
    if (voters.length > 3) for (const v of voters) options.push({ type: ConfChangeType.RemoveNode, node: v });
    for (const l of learners) options.push({ type: ConfChangeType.RemoveNode, node: l });
    // Changes that change nothing (add a present voter, remove an absent node) must be no-ops.
    const someVoter = voters[0];
    if (someVoter !== undefined && this.rng.chance(0.1))
      options.push({ type: ConfChangeType.AddVoter, node: someVoter });
    if (this.rng.chance(0.1)) options.push({ type: ConfChangeType.RemoveNode, node: "n-absent" });
    if (options.length === 0) return;
    const cc = this.rng.pick(options);
    const accepted = leader.client((core) => core.proposeConfChange(cc));
    if (accepted === undefined) return;
    this.cluster.note(leader.id, "propose-conf", () => `${describeConfChange(cc)} at ${accepted.index}`);
    if (cc.node === fresh) {
      this.nextNodeNum++;
      this.cluster.addNode(fresh, true);
    }
  }

  /** Leadership transfer (thesis §3.10) to a random voter, ready or not. */
  private transfer(): void {
    const leader = this.cluster.leader();
    if (!leader?.ready) return;
    const targets = leader.conf.voters.filter((v) => v !== leader.id);
    if (targets.length === 0) return;
    const to = this.rng.pick(targets);
    this.cluster.stats.transfers++;
    this.cluster.note(leader.id, "transfer", `to ${to}`);
    leader.client((core) => core.transferLeader(to));
  }

  /** An operator forces an election on a random node (pre-vote first when enabled). */
  private forceCampaign(): void {
    const candidates = this.cluster.alive().filter((n) => n.ready);
    if (candidates.length === 0) return;
    const node = this.rng.pick(candidates);
    this.cluster.note(node.id, "campaign", "forced");
    node.client((core) => core.campaign());
  }

  /** A ReadIndex request on a random node; followers forward it to their leader. */
  private read(): void {
    const candidates = this.cluster.alive().filter((n) => n.ready);
    if (candidates.length === 0) return;
    const node = this.rng.pick(candidates);
    const ctx = `r${++this.readSeq}`;
    this.cluster.stats.reads++;
    // Registered before the call: a leader may answer within it.
    this.cluster.checker.observeReadIssued(ctx, node.id);
    this.cluster.note(node.id, "read", ctx);
    node.client((core) => core.readIndex(new TextEncoder().encode(ctx)));
  }
}
