/**
 * One benchmark node: a RaftHost with real NodeStorage and Transport in its own process, plus
 * a load generator for the groups it leads (proposals must go to the leader, and in Warren
 * the broker proposing runs in the leader's process too). Driven by bench/raft/run.ts over IPC.
 *
 * Requests (all answered with { id, ...reply }):
 *   { op: "leaders" }                          -> { leaders: { group: leader | null } }
 *   { op: "transfer", group, to }              -> { ok, error? }
 *   { op: "closed", window, warmupMs, durationMs }  closed loop, `window` outstanding per led group
 *   { op: "open", rate, warmupMs, durationMs }      open loop, `rate` proposals/s for the whole
 *        cluster; each node takes the share of the groups it currently leads
 *        -> { commits, errors, leaderChanges, hist (hdr, base64, microseconds), flushes, seconds }
 *   { op: "failover", on: boolean }            while on: whenever this node leads g0, keep a
 *        few proposals outstanding; the first commit after gaining leadership is reported
 *        unsolicited as { type: "first-commit", node, at } (at = Date.now()).
 */
import { randomBytes } from "node:crypto";
import * as hdr from "hdr-histogram-js";
import { RaftHost } from "../../raft/host/index.js";
import type { ApplyMeta, MachineSnapshot, StateMachine } from "../../raft/host/state-machine.js";
import { NodeStorage } from "../../raft/storage/index.js";
import { Transport } from "../../raft/transport/index.js";

export interface BenchNodeConfig {
  readonly id: string;
  readonly dir: string;
  readonly ports: Record<string, number>;
  readonly groups: string[];
  readonly secret: string;
  /** Host tuning (defaults: the host's). */
  readonly electionTick?: number;
  readonly heartbeatTick?: number;
  readonly snapshotEvery?: number;
}

/** The benchmark's state machine: counts commands and bytes; its snapshot is a few bytes. */
class CountingMachine implements StateMachine<Uint8Array, number> {
  count = 0;
  bytes = 0;
  apply(meta: ApplyMeta, command: Uint8Array): number {
    this.count++;
    this.bytes += command.byteLength;
    return meta.index;
  }
  snapshot(): MachineSnapshot {
    return { state: new TextEncoder().encode(JSON.stringify([this.count, this.bytes])), live: [] };
  }
  restore(s: MachineSnapshot): void {
    [this.count, this.bytes] = JSON.parse(new TextDecoder().decode(s.state)) as [number, number];
  }
}

const PAYLOAD = randomBytes(1024);

function histogram() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 120_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

async function main(): Promise<void> {
  const cfg = JSON.parse(process.argv[2] ?? "{}") as BenchNodeConfig;
  const storage = await NodeStorage.open(cfg.dir);
  const peers = new Map<string, { host: string; port: number }>();
  for (const [id, port] of Object.entries(cfg.ports))
    if (id !== cfg.id) peers.set(id, { host: "127.0.0.1", port });
  const transport = new Transport({
    nodeId: cfg.id,
    listen: { host: "127.0.0.1", port: cfg.ports[cfg.id]! },
    peers,
    secret: cfg.secret,
  });
  await transport.start();
  const host = new RaftHost({
    nodeId: cfg.id,
    storage,
    transport,
    ...(cfg.electionTick !== undefined ? { electionTick: cfg.electionTick } : {}),
    ...(cfg.heartbeatTick !== undefined ? { heartbeatTick: cfg.heartbeatTick } : {}),
    ...(cfg.snapshotEvery !== undefined ? { snapshotEvery: cfg.snapshotEvery } : {}),
  });
  await host.start();
  const voters = Object.keys(cfg.ports).sort();
  for (const g of cfg.groups) await host.createGroup(g, { voters, machine: new CountingMachine() });

  let leaderChanges = 0;
  let peerDowns = 0;
  /** Set while a closed loop runs: starts the load on a group this node just became leader of. */
  let gainedLeadership: ((group: string) => void) | undefined;
  host.onLeaderChange((g, leader) => {
    leaderChanges++;
    if (leader === cfg.id) gainedLeadership?.(g);
  });
  transport.onPeerDown(() => {
    peerDowns++;
  });
  const led = () => cfg.groups.filter((g) => host.leaderOf(g) === cfg.id);
  const send = (m: object) => process.send?.(m);

  /**
   * One measured load phase: proposals started after the warm-up and committed before the
   * end are counted and their latency (propose -> resolved on the leader) recorded.
   */
  class Phase {
    readonly hist = histogram();
    commits = 0;
    errors = 0;
    private readonly leaderChanges0 = leaderChanges;
    private readonly peerDowns0 = peerDowns;
    private readonly cpu0 = process.cpuUsage();
    private readonly elu0 = performance.eventLoopUtilization();
    private readonly loop0 = { ...host.loopStats() };
    private readonly wall0 = performance.now();
    inFlight = 0;
    private readonly from: number;
    private readonly end: number;
    private flushes0: number | undefined;
    private flushes1: number | undefined;
    private readonly timers: NodeJS.Timeout[];

    constructor(warmupMs: number, durationMs: number) {
      this.from = performance.now() + warmupMs;
      this.end = this.from + durationMs;
      this.timers = [
        setTimeout(() => {
          this.flushes0 = storage.stats().flushes;
        }, warmupMs),
        setTimeout(() => {
          this.flushes1 = storage.stats().flushes;
        }, warmupMs + durationMs),
      ];
    }

    done(): boolean {
      return performance.now() >= this.end;
    }

    propose(g: string, then?: (ok: boolean) => void): void {
      const t0 = performance.now();
      this.inFlight++;
      host.propose(g, PAYLOAD).then(
        () => {
          this.inFlight--;
          const t1 = performance.now();
          if (t0 >= this.from && t1 <= this.end) {
            this.commits++;
            this.hist.recordValue(Math.max(1, Math.round((t1 - t0) * 1000)));
          }
          then?.(true);
        },
        () => {
          this.inFlight--;
          this.errors++;
          then?.(false);
        },
      );
    }

    async finish(seconds: number) {
      // The end-of-phase timer may not have run yet (busy event loop): read the counter now.
      this.flushes1 ??= storage.stats().flushes;
      this.flushes0 ??= this.flushes1;
      // Let the tail drain so the next phase starts from an idle cluster.
      const settle = Date.now() + 10_000;
      while (this.inFlight > 0 && Date.now() < settle) await new Promise((r) => setTimeout(r, 5));
      for (const t of this.timers) clearTimeout(t);
      return {
        commits: this.commits,
        errors: this.errors,
        leaderChanges: leaderChanges - this.leaderChanges0,
        peerDowns: peerDowns - this.peerDowns0,
        /** Share of one core this process used during the phase (warm-up included). */
        cpuShare: (() => {
          const u = process.cpuUsage(this.cpu0);
          return (u.user + u.system) / 1000 / (performance.now() - this.wall0);
        })(),
        /** Mean ms from a write's completion to the next write's start (the loop's serial part). */
        handoffMs: (() => {
          const l = host.loopStats();
          const n = l.handoffs - this.loop0.handoffs;
          return n > 0 ? (l.handoffMs - this.loop0.handoffMs) / n : 0;
        })(),
        /** Share of the phase the event loop was busy (1 = never idle: CPU-bound or starved). */
        elu: performance.eventLoopUtilization(this.elu0).utilization,
        /** Batch write latency (ms) of the node's last writes, for the report on stderr. */
        fsyncMs: storage.stats().fsyncMs,
        hist: hdr.encodeIntoCompressedBase64(this.hist),
        flushes: this.flushes1 - this.flushes0,
        seconds,
      };
    }
  }

  /** Closed loop: `window` proposals outstanding per group this node leads. */
  /**
   * Closed loop: `window` proposals outstanding per group this node leads. Follows leadership:
   * a group's chains stop when this node loses it and start when it gains one, so an election
   * during the run moves the load instead of ending it.
   */
  async function closed(window: number, warmupMs: number, durationMs: number) {
    const phase = new Phase(warmupMs, durationMs);
    const running = new Map<string, number>();
    const chain = (g: string): void => {
      if (phase.done() || host.leaderOf(g) !== cfg.id) {
        running.set(g, (running.get(g) ?? 1) - 1);
        return;
      }
      phase.propose(g, (ok) => (ok ? chain(g) : setTimeout(() => chain(g), 5)));
    };
    const startGroup = (g: string): void => {
      if ((running.get(g) ?? 0) > 0 || phase.done()) return;
      running.set(g, window);
      for (let i = 0; i < window; i++) chain(g);
    };
    gainedLeadership = startGroup;
    for (const g of led()) startGroup(g);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        let active = 0;
        for (const n of running.values()) active += n;
        if (phase.done() && active === 0) {
          clearInterval(poll);
          resolve();
        }
      }, 10);
    });
    gainedLeadership = undefined;
    return phase.finish(durationMs / 1000);
  }

  /**
   * Open loop: this node's share of `totalRate` proposals per second, i.e. in proportion to the
   * groups it leads right now, spread round-robin over them.
   */
  async function open(totalRate: number, warmupMs: number, durationMs: number) {
    const phase = new Phase(warmupMs, durationMs);
    await new Promise<void>((resolve) => {
      let last = performance.now();
      let credit = 0;
      let rr = 0;
      const timer = setInterval(() => {
        if (phase.done()) {
          clearInterval(timer);
          resolve();
          return;
        }
        const now = performance.now();
        const groups = led();
        credit += ((now - last) / 1000) * ((totalRate * groups.length) / cfg.groups.length);
        last = now;
        for (; credit >= 1 && groups.length > 0; credit--) phase.propose(groups[rr++ % groups.length]!);
      }, 1);
    });
    return phase.finish(durationMs / 1000);
  }

  // Failover driver: keeps proposals flowing on g0 whenever this node leads it.
  let failoverOn = false;
  let reportedTerm = -1;
  const failoverDrive = () => {
    if (!failoverOn || host.leaderOf("g0") !== cfg.id) return;
    const term = host.status("g0").term;
    host.propose("g0", PAYLOAD).then(
      () => {
        if (term !== reportedTerm && failoverOn) {
          reportedTerm = term;
          send({ type: "first-commit", node: cfg.id, at: Date.now(), term });
        }
        failoverDrive();
      },
      () => setTimeout(failoverDrive, 5),
    );
  };
  host.onLeaderChange((g, leader) => {
    if (g === "g0" && leader === cfg.id && failoverOn) for (let i = 0; i < 4; i++) failoverDrive();
  });

  process.on("message", async (req: { id: number; op: string } & Record<string, unknown>) => {
    const reply = (m: object) => send({ id: req.id, ...m });
    switch (req.op) {
      case "leaders": {
        const leaders: Record<string, string | null> = {};
        for (const g of cfg.groups) leaders[g] = host.leaderOf(g) ?? null;
        reply({ leaders });
        return;
      }
      case "transfer":
        host.transferLeadership(req.group as string, req.to as string).then(
          () => reply({ ok: true }),
          (err: Error) => reply({ ok: false, error: err.message }),
        );
        return;
      case "closed":
        reply(await closed(req.window as number, req.warmupMs as number, req.durationMs as number));
        return;
      case "open":
        reply(await open(req.rate as number, req.warmupMs as number, req.durationMs as number));
        return;
      case "failover":
        failoverOn = req.on === true;
        if (failoverOn) for (let i = 0; i < 4; i++) failoverDrive();
        reply({ ok: true });
        return;
    }
  });
  process.on("disconnect", () => process.exit(0));
  send({ type: "ready" });
}

main().catch((err: Error) => {
  process.stderr.write(`bench node failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
