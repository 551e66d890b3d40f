/**
 * The simulated world: nodes, their disks, the network and the clock, wired so every node
 * sees only messages, ticks and fsync completions, in an order fixed by the run's seed.
 *
 * `SimCluster` implements the host-side duties a real transport and host share: it checks the
 * durability promise of every vote and acknowledgement as it leaves a node, ships a snapshot's
 * live entries with it, reports snapshot outcomes and unreachable peers back to the sender,
 * and gives a crashed leader's followers the "leader lost" hint their transport would give.
 */
import type { ConfChange, ConfState, Entry, Message, NodeId, ReadState } from "../core/types.js";
import { MessageType, Role } from "../core/types.js";
import { Invariant, SafetyChecker, Violation } from "./checkers.js";
import { describeConf, describeConfChange, describeMessage } from "./describe.js";
import { SimDisk } from "./disk.js";
import { EventQueue, UNITS_PER_TICK } from "./event-queue.js";
import { describeData } from "./machine.js";
import type { SimNetwork } from "./network.js";
import type { Prng } from "./prng.js";
import { type Envelope, type NodeParams, type NodeWorld, SimNode } from "./sim-node.js";
import type { Trace } from "./trace.js";

/** Everything that happens in a run is one of these, popped from the clock in time order. */
export type SimEvent =
  | { readonly k: "tick"; readonly node: NodeId }
  | {
      readonly k: "deliver";
      readonly env: Envelope;
      readonly notifySnap: boolean;
      readonly senderInc: number;
    }
  | { readonly k: "fsync"; readonly node: NodeId; readonly inc: number }
  | {
      readonly k: "local";
      readonly node: NodeId;
      readonly inc: number;
      readonly what: string;
      readonly run: () => void;
    }
  | { readonly k: "retire"; readonly node: NodeId }
  | { readonly k: "resume"; readonly node: NodeId; readonly inc: number }
  | { readonly k: "drive" };

/** A client command in flight: acknowledged when the node that accepted it applies it. */
interface Pending {
  readonly by: NodeId;
  readonly term: number;
  readonly data: Uint8Array;
}

/** Counters for reports. */
export interface SimStats {
  elections: number;
  proposals: number;
  acked: number;
  crashes: number;
  restarts: number;
  lostWrites: number;
  partitions: number;
  pauses: number;
  snapshotsSent: number;
  confChanges: number;
  transfers: number;
  reads: number;
  readsAnswered: number;
  messages: number;
  dropped: number;
}

/**
 * Owns the nodes, the clock and the network of one run, and the omniscient checker. The run
 * loop (`run.ts`) pops events and hands them to {@link dispatch}; nodes call back through the
 * {@link NodeWorld} methods. All iteration is over insertion-ordered maps, so a run depends on
 * nothing but its seed.
 */
export class SimCluster implements NodeWorld {
  readonly checker: SafetyChecker;
  readonly queue = new EventQueue<SimEvent>();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly stats: SimStats = {
    elections: 0,
    proposals: 0,
    acked: 0,
    crashes: 0,
    restarts: 0,
    lostWrites: 0,
    partitions: 0,
    pauses: 0,
    snapshotsSent: 0,
    confChanges: 0,
    transfers: 0,
    reads: 0,
    readsAnswered: 0,
    messages: 0,
    dropped: 0,
  };
  /** The configuration as of the highest index any node applied. */
  conf: ConfState;
  private confIndex = 0;
  /** Every node some applied configuration named: a node not yet added is never retired. */
  private readonly members = new Set<NodeId>();
  private readonly pending = new Map<string, Pending>();
  /** Called when a client command is acknowledged (the liveness phase waits for its marker). */
  onAck: (index: number, term: number) => void = () => {};

  constructor(
    readonly bootstrap: ConfState,
    private readonly params: NodeParams,
    private readonly rng: Prng,
    readonly network: SimNetwork,
    readonly trace: Trace,
    disabledChecks: ReadonlySet<Invariant> = new Set(),
  ) {
    this.checker = new SafetyChecker(disabledChecks);
    this.conf = bootstrap;
    for (const id of [...bootstrap.voters, ...bootstrap.learners]) this.members.add(id);
  }

  get now(): number {
    return this.queue.now;
  }

  /**
   * Creates and boots a node with an empty disk; its ticks start at a random phase. A founding
   * node starts with the bootstrap configuration; a joining one with none, as etcd's do: it
   * learns the configuration from the leader's log (ConfChange entries carry the resulting
   * configuration) or snapshot.
   */
  addNode(id: NodeId, joining = false): SimNode {
    const conf = joining ? { voters: [], learners: [] } : this.bootstrap;
    const node = new SimNode(id, new SimDisk(), conf, this.params, this.rng.fork(), this);
    this.nodes.set(id, node);
    node.start();
    this.queue.after(1 + this.rng.int(UNITS_PER_TICK), { k: "tick", node: id });
    this.note(id, "boot", "");
    return node;
  }

  /** Nodes that are up, in creation order. */
  alive(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.alive);
  }

  /**
   * The leader a client would find: an up node in the leader role, highest term first. It may
   * be a stale leader cut off from the others; clients sending to it is part of the test.
   */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (n.alive && n.role === Role.Leader && (!best || n.term > best.term)) best = n;
    }
    return best;
  }

  note(node: NodeId, what: string, detail: (() => string) | string = ""): void {
    this.trace.add(this.queue.now, node, what, detail);
  }

  /**
   * Runs one event (everything but the fault schedule's "drive", which the run loop handles).
   * Violations propagate to the caller. Events for a node that crashed since they were
   * scheduled carry its old incarnation and are dropped, as a real process restart would.
   */
  dispatch(ev: SimEvent): void {
    switch (ev.k) {
      case "tick": {
        const node = this.nodes.get(ev.node);
        if (!node || node.retired) return;
        // Timer jitter: each tick comes 7, 8 or 9 units after the previous one.
        this.queue.after(UNITS_PER_TICK + this.rng.range(-1, 1), ev);
        node.tick();
        return;
      }
      case "deliver":
        this.deliver(ev);
        return;
      case "fsync": {
        const node = this.nodes.get(ev.node);
        if (!node?.alive || node.incarnation !== ev.inc) return;
        this.note(ev.node, "fsync", `${node.disk.pendingWrites} buffered writes`);
        node.fsyncDone(ev.inc);
        return;
      }
      case "local": {
        const node = this.nodes.get(ev.node);
        if (!node?.alive || node.incarnation !== ev.inc) return;
        this.note(ev.node, ev.what);
        node.local(ev.run);
        return;
      }
      case "retire": {
        // A removed member has nothing more to do; stop it so it neither ticks nor campaigns.
        const node = this.nodes.get(ev.node);
        if (
          !node ||
          node.retired ||
          this.conf.voters.includes(ev.node) ||
          this.conf.learners.includes(ev.node)
        )
          return;
        if (node.alive) node.crash();
        node.retired = true;
        this.note(ev.node, "retired");
        return;
      }
      case "resume": {
        const node = this.nodes.get(ev.node);
        if (!node?.alive || node.incarnation !== ev.inc || !node.paused) return;
        this.note(ev.node, "RESUME");
        node.resume();
        return;
      }
      case "drive":
        return; // handled by the run loop, which owns the fault schedule
    }
  }

  /** Schedules a local input on a node, dropped if the node crashes first. */
  localLater(node: SimNode, delay: number, what: string, run: () => void): void {
    this.queue.after(delay, { k: "local", node: node.id, inc: node.incarnation, what, run });
  }

  // ---- NodeWorld ----

  scheduleFsync(node: NodeId, incarnation: number, delay: number): void {
    this.queue.after(delay, { k: "fsync", node, inc: incarnation });
  }

  diskOf = (id: NodeId): SimDisk | undefined => this.nodes.get(id)?.disk;

  canHear(self: NodeId, peer: NodeId): boolean {
    const p = this.nodes.get(peer);
    return p?.alive === true && !p.paused && !this.network.isCut(peer, self);
  }

  /**
   * A message leaves `from`: check the durability promise of votes and acknowledgements (the
   * moment they leave is the moment they count), attach a snapshot's live entries, then let
   * the network decide its fate. Drops are reported back as a transport would: a failed
   * snapshot always, an unreachable peer sometimes.
   */
  transmit(from: SimNode, original: Message): void {
    let m = original;
    if (this.params.bugs.grantEveryVote && m.type === MessageType.MsgVoteResp && m.reject) {
      m = { ...m, reject: false };
    }
    if (m.type === MessageType.MsgVoteResp && !m.reject) {
      this.checker.observeVoteGranted(from.id, m.term, m.to, from.disk);
    } else if (m.type === MessageType.MsgAppResp && !m.reject && m.index !== undefined) {
      this.checker.observeAppendAck(from.id, m.term, m.index, from.disk);
    }
    const to = this.nodes.get(m.to);
    if (!to || to.retired) return;
    this.stats.messages++;
    let env: Envelope = { msg: m };
    if (m.type === MessageType.MsgSnap && m.snapshot) {
      const snap = m.snapshot;
      const live: Entry[] = [];
      const missing: number[] = [];
      for (const i of snap.live) {
        const e = from.disk.readEntry(i);
        if (e) live.push(e);
        else missing.push(i);
      }
      if (missing.length > 0) {
        // The core made this MsgSnap before a newer local snapshot, now durable, compacted the
        // live entries the old one names. A host cannot ship it: it reports the snapshot as
        // failed and the leader retries with its newest one. Missing entries while the
        // snapshot is still the newest would be a real loss.
        if (from.disk.snapshotIndex() <= snap.meta.index) {
          throw new Violation(
            Invariant.LiveEntries,
            `${from.id} sends snapshot ${snap.meta.index} naming live [${missing.join(",")}] that its disk lost`,
          );
        }
        this.note(
          from.id,
          "stale-snapshot",
          () => `${describeMessage(m)} (live ${missing.join(",")} compacted)`,
        );
        this.localLater(from, 1, `snapshot to ${m.to} failed`, () => from.core.reportSnapshot(m.to, false));
        return;
      }
      env = { msg: m, liveEntries: live };
      this.stats.snapshotsSent++;
    }
    const verdict = this.network.route(m.from, m.to, this.queue.now);
    if (verdict.kind === "dropped") {
      this.stats.dropped++;
      this.note(from.id, `drop(${verdict.reason})`, () => describeMessage(m));
      if (m.type === MessageType.MsgSnap) {
        this.localLater(from, UNITS_PER_TICK, `snapshot to ${m.to} failed`, () =>
          from.core.reportSnapshot(m.to, false),
        );
      } else if (verdict.reason === "cut" && this.rng.chance(0.2)) {
        this.localLater(from, 1, `${m.to} unreachable`, () => from.core.reportUnreachable(m.to));
      }
      return;
    }
    this.note(from.id, "send", () => describeMessage(m));
    verdict.times.forEach((t, i) => {
      this.queue.schedule(t, { k: "deliver", env, notifySnap: i === 0, senderInc: from.incarnation });
    });
  }

  private deliver(ev: Extract<SimEvent, { k: "deliver" }>): void {
    const m = ev.env.msg;
    const to = this.nodes.get(m.to);
    const from = this.nodes.get(m.from);
    const arrived = to?.alive === true && !to.retired;
    if (m.type === MessageType.MsgSnap && ev.notifySnap && from?.alive && from.incarnation === ev.senderInc) {
      this.localLater(from, 1, `snapshot to ${m.to} ${arrived ? "sent" : "failed"}`, () =>
        from.core.reportSnapshot(m.to, arrived),
      );
    }
    if (!arrived || !to) return;
    this.note(m.to, "recv", () => describeMessage(m));
    to.receive(ev.env);
  }

  /**
   * A node applied a committed entry. If it is the command this very node accepted at that
   * (index, term), its client gets the acknowledgement: that is what the read-index and
   * liveness checks count as "acknowledged to a client".
   */
  applied(node: SimNode, e: Entry): void {
    const key = `${e.index}:${e.term}`;
    const p = this.pending.get(key);
    if (p === undefined || p.by !== node.id) return;
    this.pending.delete(key);
    if (!sameBytes(p.data, e.data)) return; // another command took the slot: the client is not acked
    this.stats.acked++;
    this.checker.observeAck(e.index);
    this.note(node.id, "ack", () => `${key} ${describeData(e.data)}`);
    this.onAck(e.index, e.term);
  }

  /**
   * A node applied a configuration change. The cluster's view of membership follows the
   * highest applied change; members it no longer names are stopped a moment later.
   */
  confApplied(node: SimNode, index: number, cc: ConfChange, conf: ConfState): void {
    if (index <= this.confIndex) return;
    this.confIndex = index;
    this.conf = conf;
    this.stats.confChanges++;
    this.note(node.id, "conf", () => `${describeConfChange(cc)} at ${index} -> ${describeConf(conf)}`);
    for (const id of [...conf.voters, ...conf.learners]) this.members.add(id);
    const removed = [...this.nodes.values()].filter(
      (n) =>
        !n.retired && !conf.voters.includes(n.id) && !conf.learners.includes(n.id) && this.members.has(n.id),
    );
    // Not at once: the node applying this entry may be the removed one, mid-Ready.
    for (const n of removed) this.queue.after(1, { k: "retire", node: n.id });
  }

  elected(node: SimNode, term: number): void {
    this.stats.elections++;
    this.note(node.id, "LEADER", `term ${term}`);
  }

  readState(node: SimNode, rs: ReadState): void {
    this.stats.readsAnswered++;
    const ctx = describeData(rs.context);
    this.note(node.id, "readState", () => `${ctx} index=${rs.index}`);
    this.checker.observeReadState(node.id, ctx, rs.index);
  }

  /** Records a client command accepted by `node` at (index, term). */
  proposed(node: SimNode, index: number, term: number, data: Uint8Array): void {
    this.stats.proposals++;
    this.pending.set(`${index}:${term}`, { by: node.id, term, data });
    this.note(node.id, "propose", () => `${index}:${term} ${describeData(data)}`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
