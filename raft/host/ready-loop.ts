/**
 * THE LOOP: drives every group's Ready through persist -> send -> apply -> advance, once per
 * event-loop turn for all groups together, so the whole node pays ONE fsync per batch however
 * many groups have work (RabbitMQ Ra's shared WAL; etcd's Ready/Advance contract in
 * `raft/core/types.ts` on `Ready`).
 *
 * One batch, in order:
 *  1. collect: `ready()` of every group that has one;
 *  2. stage: each group's snapshot, entries and hard state go into NodeStorage's pending batch
 *     (and the in-memory log the core reads);
 *  3. early send: leaders' MsgApp / MsgHeartbeat / MsgSnap (and heartbeat responses) go out
 *     now, while the fsync runs (thesis §10.2.1: a leader may replicate before its own write is
 *     durable, because the core counts the leader's own match index only at `advance()`);
 *  4. flush: one LevelDB batch with sync:true for all groups (skipped when no Ready needs it);
 *  5. late send: everything else, i.e. votes, pre-votes, append responses, read-index answers.
 *     These promise durable state, so they leave strictly after the fsync. Of a group's
 *     successful append responses only the last (highest) one leaves: it acknowledges
 *     everything the earlier ones did (superseded-acks.ts);
 *  6. apply committed entries and read states, then `advance()`, then maybe snapshot.
 *     Committed entries that an EARLIER batch already made durable here (all of a leader's)
 *     are applied right after step 4 instead, while this batch's write runs.
 * Only one batch runs at a time. Work arriving meanwhile (messages, proposals, ticks) lands in
 * the cores and forms the next batch: the longer a flush takes, the larger the next batch
 * (group commit), and replication of batch N+1 overlaps the fsync of batch N.
 *
 * Where the pipeline overlaps (the critical path of a commit is: leader's batch -> followers'
 * fsync -> acks -> leader applies):
 *  - the next batch is handed to LevelDB (`flush({ now: true })`) before the previous batch is
 *    applied, so the fsync runs during apply instead of after it;
 *  - a leader applies the commits it learns from acks on the turn they arrive
 *    (`Group.applyCommittedAhead`), not after its own write in flight: a commit needs a
 *    majority of fsyncs, and with two acking followers the leader's own is not among them.
 * Heartbeats do not wait either: while batches run, each turn sends the heartbeats (and
 * heartbeat responses) that ticks and messages produced, outside any Ready (`onTurn`).
 * What does not overlap: a leader's MsgApp for proposals made during its write leaves only when
 * that write completes (the core hands out one Ready per group at a time). That wait is also
 * what batches a leader's proposals into one MsgApp per write cycle; a prototype that did not
 * wait was slower on a CPU-starved machine (docs/raft/benchmark.md).
 */
import type { Ready } from "../core/types.js";
import { MessageType } from "../core/types.js";
import type { Logger } from "../logger.js";
import type { NodeStorage } from "../storage/index.js";
import type { Transport } from "../transport/index.js";
import type { Group } from "./group.js";
import { Outbox } from "./outbox.js";
import type { SnapshotTransfers } from "./snapshot-transfer.js";
import { withoutSupersededAcks } from "./superseded-acks.js";

/**
 * Messages that may leave before the batch's fsync: a leader's appends and heartbeats
 * (thesis §10.2.1), and heartbeat responses, which acknowledge a leader's liveness and
 * promise nothing about this node's log. Sending them early keeps heartbeats flowing while
 * a large batch is being written, so a slow fsync does not look like a dead leader.
 */
const EARLY: ReadonlySet<number> = new Set([
  MessageType.MsgApp,
  MessageType.MsgHeartbeat,
  MessageType.MsgHeartbeatResp,
]);

export interface LoopDeps {
  readonly groups: () => Iterable<Group>;
  readonly group: (id: string) => Group | undefined;
  readonly storage: NodeStorage;
  readonly transport: Transport;
  readonly snapshots: SnapshotTransfers;
  readonly logger: Logger;
}

/** Loop counters, for tests and the benchmark. */
export interface LoopStats {
  /** Batches run (each at most one fsync). */
  batches: number;
  /** Batches that waited for a flush. */
  flushes: number;
  /** Readies processed. */
  readies: number;
  /**
   * Total milliseconds between a batch's write completing and the next batch's write being
   * handed to LevelDB, over `handoffs` such gaps: the synchronous part of a loop cycle that
   * does not overlap a write (late sends, advance, collect, stage). The benchmark reports it.
   */
  handoffMs: number;
  handoffs: number;
}

export class ReadyLoop {
  readonly stats: LoopStats = { batches: 0, flushes: 0, readies: 0, handoffMs: 0, handoffs: 0 };
  /** When the last batch's write completed, while the next one is being begun (see handoffMs). */
  private flushedAt: number | undefined;
  private scheduled = false;
  private running: Promise<void> | undefined;
  private stopped = false;

  /**
   * Groups that may have a Ready: every input (message, proposal, tick, report) marks its
   * group, and a batch's groups are marked again after advance and apply. A batch scans only
   * these instead of every group, so a node with thousands of idle groups pays for the busy
   * ones. A group missed by mistake would only wait for the next tick, which marks all.
   */
  private readonly dirty = new Set<Group>();
  /**
   * Groups that got an input since the last turn: what a turn with a batch in flight looks at
   * (acks to apply ahead, heartbeats to send). Not `dirty`, which holds every group woken since
   * the batch began: walking it on every turn made each turn cost O(groups), not O(inputs).
   */
  private readonly touched = new Set<Group>();

  constructor(private readonly deps: LoopDeps) {}

  /** `g` got an input: look at it in the next batch. */
  wake(g: Group): void {
    this.dirty.add(g);
    this.touched.add(g);
    this.schedule();
  }

  /** Every group got an input (a tick, a lost peer). */
  wakeAll(): void {
    for (const g of this.deps.groups()) {
      this.dirty.add(g);
      this.touched.add(g);
    }
    this.schedule();
  }

  /** Asks for a batch on the next turn (coalesces: any number of calls, one batch). */
  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(this.onTurn);
  }

  /** Stops scheduling batches and waits for the running one to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    while (this.running !== undefined) await this.running;
  }

  /** Waits until no batch is running. */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private readonly onTurn = (): void => {
    this.scheduled = false;
    if (this.stopped) return;
    if (this.running !== undefined) {
      // Batches are running: the pipeline collects this work after the current flush. Two
      // things do not wait for it (with no batch running, the batch begun below does both in
      // this turn anyway):
      //  - commits learned this turn from followers' acks are applied now rather than after
      //    the leader's own write in flight (see Group.applyCommittedAhead);
      //  - heartbeats and their responses leave now (RawNode.takeHeartbeats): a leader whose
      //    write outlasts the election timeout (LevelDB batch writes reach hundreds of ms under
      //    load) is still heard, so its followers do not elect another.
      let beats: Outbox | undefined;
      for (const g of this.touched) {
        if (g.removed) continue;
        if (g.isLeader()) g.applyCommittedAhead();
        for (const m of g.node.takeHeartbeats()) {
          beats ??= new Outbox();
          beats.add(g.id, m);
        }
      }
      this.touched.clear();
      if (beats !== undefined) beats.send(this.deps.transport, this.unreachable);
      return;
    }
    this.touched.clear();
    this.running = this.pipeline().then(
      () => this.finish(),
      (err: unknown) => {
        // A failed fsync or a state machine breaking its contract: continuing could
        // acknowledge what is not durable, so the error escapes and the process exits.
        this.deps.logger.error({ err: (err as Error).message }, "raft host loop failed");
        this.running = undefined;
        throw err;
      },
    );
  };

  private finish(): void {
    this.running = undefined;
    if (this.stopped) return;
    for (const g of this.dirty) {
      if (!g.removed && g.node.hasReady()) {
        this.schedule();
        return;
      }
      // No Ready and none outstanding (the pipeline is over): nothing to do until an input.
      this.dirty.delete(g);
    }
  }

  /**
   * Runs batches back to back while there is work. The flush of batch N+1 is started before
   * batch N is applied, so the state machines run while LevelDB writes (see `complete`).
   */
  private async pipeline(): Promise<void> {
    let cur = this.begin();
    if (cur !== undefined) this.applyDurable(cur);
    while (cur !== undefined) {
      await cur.flushed;
      this.flushedAt = performance.now();
      if (this.stopped) {
        // Stopping: finish this batch (its writes are durable), start nothing new.
        this.complete(cur, true);
        return;
      }
      cur = this.complete(cur, false);
    }
  }

  /** Steps 1-4: collect, stage, early send, start the flush. Undefined when no group has work. */
  private begin(): Batch | undefined {
    const { storage, transport, snapshots } = this.deps;
    const since = this.flushedAt;
    this.flushedAt = undefined;
    const readies: Array<[Group, Ready]> = [];
    for (const g of this.dirty) {
      // A group of the batch in flight has no Ready now; it is marked again after advance.
      if (!g.removed && g.node.hasReady()) readies.push([g, g.node.ready()]);
      this.dirty.delete(g);
    }
    if (readies.length === 0) return undefined;
    this.stats.batches++;
    this.stats.readies += readies.length;

    const early = new Outbox();
    const late = new Outbox();
    let mustSync = false;
    for (const [g, rd] of readies) {
      g.stage(rd, storage);
      if (rd.mustSync) mustSync = true;
      for (const m of withoutSupersededAcks(rd.messages)) {
        if (m.type === MessageType.MsgSnap) snapshots.send(g.id, m);
        else if (EARLY.has(m.type)) early.add(g.id, m);
        else late.add(g.id, m);
      }
    }
    // Only now, with every Ready of the batch staged, may subscribers propose (Group.announceLeader).
    for (const [g] of readies) g.announceLeader();
    let flushed: Promise<void> = Promise.resolve();
    if (mustSync) {
      this.stats.flushes++;
      // Everything of this batch is staged: hand it to LevelDB now, so the fsync runs while
      // the early messages are encoded and the previous batch is applied (with a plain
      // flush() it would start on a microtask, i.e. only after all of that).
      flushed = storage.flush({ now: true });
      if (since !== undefined) {
        this.stats.handoffMs += performance.now() - since;
        this.stats.handoffs++;
      }
    }
    if (!early.isEmpty()) early.send(transport, this.unreachable);
    return { readies, late, flushed };
  }

  /**
   * Steps 5-6 for a flushed batch: late send, advance, then (unless `last`) begin the next
   * batch, and only then apply this one's committed entries, so applying overlaps the next
   * fsync. Advancing before applying is invisible to the cores: the whole sequence is one
   * synchronous block (no tick or message can run in between), the next `ready()` only reads
   * state, and committed entries are still applied strictly in index order. Returns the next
   * batch, if one was begun.
   */
  private complete(cur: Batch, last: boolean): Batch | undefined {
    if (!cur.late.isEmpty()) cur.late.send(this.deps.transport, this.unreachable);
    for (const [g, rd] of cur.readies) {
      // Removed while the flush ran: its promises are already rejected and its core is gone.
      if (g.removed) continue;
      g.node.advance(rd);
      // Inputs that arrived during the flush, or work advance() unblocked.
      this.dirty.add(g);
    }
    const next = last ? undefined : this.begin();
    for (const [g, rd] of cur.readies) {
      if (g.removed) continue;
      g.apply(rd);
      // A compaction staged here joins the next batch (this one is already in LevelDB); it
      // is only an optimization, so it may wait for the next write, or for close(), which flushes.
      g.maybeSnapshot(this.deps.storage);
      this.dirty.add(g); // applying a conf change produces messages
    }
    if (next !== undefined) this.applyDurable(next);
    return next;
  }

  /** Step 6 ahead of the write, for committed entries already durable here (see Group.applyDurable). */
  private applyDurable(b: Batch): void {
    for (const [g, rd] of b.readies) if (!g.removed) g.applyDurable(rd);
  }

  private readonly unreachable = (groupId: string, peer: string): void => {
    const g = this.deps.group(groupId);
    if (g === undefined || g.removed) return;
    g.node.reportUnreachable(peer);
    this.wake(g);
  };
}

/** A batch between `begin` and `complete`. */
interface Batch {
  readonly readies: Array<[Group, Ready]>;
  /** Messages that must wait for the flush. */
  readonly late: Outbox;
  readonly flushed: Promise<void>;
}
