/**
 * The host's one timer: logical time for every group, the deadline sweep of proposals and
 * reads, and the liveness watch that replaces election timers for quiesced groups.
 *
 * A quiesced group is not ticked (raft/core/quiesce.ts). Since its followers then have no
 * election timer, the host watches its leader's node instead: any raft frame from it is a
 * sign of life (leaders of quiesced groups ping their followers' nodes for that), and a
 * quiesced follower whose leader's node was silent for an election timeout is woken, so a
 * frozen (SIGSTOP) or cut-off leader is replaced as it would be without quiescence. A crash
 * wakes it at once through the leader-lost hint. The watch runs both ways: parked followers
 * ping their leader's node, and a quiesced leader with a member's node silent for an election
 * timeout is woken, so its quorum check runs; otherwise a leader that still reaches its
 * followers but no longer hears them would keep them parked with its pings, and two
 * followers that talk to each other would stay without a leader they can reach, for as long
 * as the links stay broken. A quiesced group with nothing pending is parked (tick-set.ts):
 * visited per leader node, and on ping ticks, not on every tick.
 */
import type { NodeId } from "../core/types.js";
import { NONE, Role } from "../core/types.js";
import type { Transport } from "../transport/index.js";
import type { Group } from "./group.js";
import type { ResolvedHostOptions } from "./options.js";
import { RAFT_CHANNEL } from "./outbox.js";
import type { ReadyLoop } from "./ready-loop.js";
import { hasSilentMember, TickSet } from "./tick-set.js";

export class HostTicker {
  private timer: ReturnType<typeof setInterval> | undefined;
  /** The groups visited on every tick (quiesced idle ones are parked, see the module comment). */
  private readonly ticking = new TickSet();
  /** Ticks so far (paces the pings of quiesced leaders). */
  private ticks = 0;
  /** When a raft frame last arrived from each peer (its node is alive). */
  private readonly lastHeard = new Map<NodeId, number>();

  constructor(
    private readonly opts: ResolvedHostOptions,
    private readonly transport: Transport,
    private readonly loop: ReadyLoop,
  ) {}

  /** Starts ticking every `tickMs` (once). */
  start(): void {
    if (this.timer === undefined) this.timer = setInterval(() => this.tick(), this.opts.tickMs);
  }

  /** Stops the timer and forgets every group. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.ticking.clear();
  }

  /** Whether the timer runs. */
  get started(): boolean {
    return this.timer !== undefined;
  }

  /** A raft frame arrived from `peer`: its node is alive. */
  heard(peer: NodeId): void {
    this.lastHeard.set(peer, Date.now());
  }

  /** Ticks `g` from now on (it got an input, or is new). */
  activate(g: Group): void {
    this.ticking.activate(g);
  }

  /** Forgets `g` (removed). */
  delete(g: Group): void {
    this.ticking.delete(g);
  }

  /** One tick: see the module comment. */
  tick(): void {
    const now = Date.now();
    const o = this.opts;
    const silentMs = o.electionTick * o.tickMs;
    this.ticks++;
    const ping = this.ticks % Math.max(1, Math.floor(o.electionTick / 4)) === 0;
    const isSilent = (p: NodeId): boolean => now - (this.lastHeard.get(p) ?? 0) > silentMs;
    for (const lead of [...this.ticking.leaderNodes()]) {
      if (isSilent(lead)) for (const g of this.ticking.activateUnder(lead)) g.node.wake();
    }
    const pingTo = ping ? this.ticking.sweep() : new Set<NodeId>();
    if (ping) {
      // Parked followers ping their leaders' nodes too: the quiesced leader's host watches
      // its members' nodes (below), since a quiesced leader runs no check-quorum.
      for (const lead of this.ticking.leaderNodes()) pingTo.add(lead);
      for (const g of this.ticking.activateLeadersWithSilentMember(o.nodeId, isSilent)) g.node.wake();
    }
    for (const g of this.ticking.active) {
      g.proposals.expire(now);
      g.reads.expire(now);
      const node = g.node;
      if (node.isQuiesced()) {
        if (g.role === Role.Leader) {
          // A member's node went silent (it died, or our links from it broke while ours to
          // it still work): wake, so the quorum check runs and steps down a cut-off leader.
          if (hasSilentMember(g, o.nodeId, isSilent)) {
            node.wake();
            continue;
          }
          if (ping) for (const p of [...g.conf.voters, ...g.conf.learners]) pingTo.add(p);
        } else if (g.lead === NONE || isSilent(g.lead)) {
          node.wake();
          continue;
        } else if (ping) {
          pingTo.add(g.lead);
        }
        this.ticking.maybePark(g);
        continue;
      }
      node.tick();
      if (
        o.quiesce &&
        g.role === Role.Leader &&
        g.proposals.size === 0 &&
        g.reads.size === 0 &&
        !node.hasReady()
      )
        node.quiesce();
    }
    pingTo.delete(o.nodeId);
    // An empty raft payload: no group, just a sign of life (see RaftHost's payload routing).
    for (const p of pingTo) this.transport.send(p, RAFT_CHANNEL, []);
    // A tick is an input for the groups it ticked. Every input wakes its group itself; a pass
    // over all groups once per election timeout is only a safety net for one that was missed.
    if (this.ticks % o.electionTick === 0) this.loop.wakeAll();
    else for (const g of this.ticking.active) this.loop.wake(g);
  }
}
