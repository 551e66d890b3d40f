/**
 * Which groups the host's ticker must look at. A quiesced group (raft/core/quiesce.ts) with
 * nothing waiting on it needs no tick, so the ticker parks it here and visits it only:
 *  - as a follower, through its leader's node: if that node goes silent, every group parked
 *    under it is woken (one check per leader node per tick, not one per group);
 *  - as a leader, on the ping ticks, to collect the nodes to send a sign of life to, and to
 *    wake it if a member's node went silent (it runs no check-quorum while quiesced);
 *  - on those ping ticks too, to catch a group woken by an input that did not go through
 *    `activate` (a safety net: the host activates a group on every input it routes).
 * Thousands of idle queues then cost a few map lookups per tick instead of a pass over all.
 */
import type { NodeId } from "../core/types.js";
import { NONE, Role } from "../core/types.js";
import type { Group } from "./group.js";

export class TickSet {
  /** Groups ticked on every tick. */
  readonly active = new Set<Group>();
  /** Parked leaders. */
  private readonly leaders = new Set<Group>();
  /** Parked followers by the leader they were parked under (never NONE). */
  private readonly byLeader = new Map<NodeId, Set<Group>>();
  /** The leader each parked follower is filed under. */
  private readonly parkedUnder = new Map<Group, NodeId>();

  /** Ticks `g` from now on (a new group, or a parked one that got an input). */
  activate(g: Group): void {
    if (this.active.has(g)) return;
    this.unpark(g);
    if (!g.removed) this.active.add(g);
  }

  /** Forgets `g` (removed). */
  delete(g: Group): void {
    this.active.delete(g);
    this.unpark(g);
  }

  clear(): void {
    this.active.clear();
    this.leaders.clear();
    this.byLeader.clear();
    this.parkedUnder.clear();
  }

  /**
   * Stops ticking `g` if it is quiesced with nothing pending and nothing to hand out (so its
   * role and leader, as the host last saw them, are the core's). Returns whether it parked.
   */
  maybePark(g: Group): boolean {
    const node = g.node;
    if (!node.isQuiesced() || g.proposals.size > 0 || g.reads.size > 0 || node.hasReady()) return false;
    if (g.role !== Role.Leader && g.lead === NONE) return false;
    this.active.delete(g);
    if (g.role === Role.Leader) {
      this.leaders.add(g);
      return true;
    }
    let set = this.byLeader.get(g.lead);
    if (set === undefined) {
      set = new Set();
      this.byLeader.set(g.lead, set);
    }
    set.add(g);
    this.parkedUnder.set(g, g.lead);
    return true;
  }

  /** Leader nodes that followers are parked under. */
  leaderNodes(): IterableIterator<NodeId> {
    return this.byLeader.keys();
  }

  /** Activates and returns the followers parked under `lead` (its node went silent). */
  activateUnder(lead: NodeId): Group[] {
    const set = this.byLeader.get(lead);
    if (set === undefined) return [];
    const groups = [...set];
    for (const g of groups) this.activate(g);
    return groups;
  }

  /**
   * The ping pass: the members of parked leaders' groups (to send a sign of life to), after
   * activating any parked group whose core is awake again.
   */
  sweep(): Set<NodeId> {
    const pingTo = new Set<NodeId>();
    for (const g of [...this.leaders, ...this.parkedUnder.keys()]) {
      if (!g.node.isQuiesced()) this.activate(g);
    }
    for (const g of this.leaders) {
      for (const p of g.conf.voters) pingTo.add(p);
      for (const p of g.conf.learners) pingTo.add(p);
    }
    return pingTo;
  }

  /**
   * Activates and returns the parked leaders with a member whose node `isSilent`: a quiesced
   * leader runs no check-quorum, so the host wakes it to run one (its followers' nodes ping it
   * while they are parked, so a live member is never silent).
   */
  activateLeadersWithSilentMember(self: NodeId, isSilent: (node: NodeId) => boolean): Group[] {
    const woken: Group[] = [];
    for (const g of this.leaders) if (hasSilentMember(g, self, isSilent)) woken.push(g);
    for (const g of woken) this.activate(g);
    return woken;
  }

  private unpark(g: Group): void {
    this.leaders.delete(g);
    const lead = this.parkedUnder.get(g);
    if (lead === undefined) return;
    this.parkedUnder.delete(g);
    const set = this.byLeader.get(lead);
    set?.delete(g);
    if (set !== undefined && set.size === 0) this.byLeader.delete(lead);
  }
}

/** Whether a voter or learner of `g` other than `self` is on a node that `isSilent`. */
export function hasSilentMember(g: Group, self: NodeId, isSilent: (node: NodeId) => boolean): boolean {
  for (const p of g.conf.voters) if (p !== self && isSilent(p)) return true;
  for (const p of g.conf.learners) if (p !== self && isSilent(p)) return true;
  return false;
}
