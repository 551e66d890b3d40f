/**
 * Per-publisher order on the sending side: one stream per (publisher, quorum queue group).
 *
 * Each enqueue gets the stream's next `seq` and carries `{id, epoch, seq, floor}`; the queue
 * applies a publisher's enqueues strictly in seq order, exactly once (node/queue/publishers.ts).
 * So the stream may resend anything unanswered after ANY failure (not leader, peer gone,
 * dropped, even a timeout whose entry may still commit): duplicates are answered with the
 * original outcome, and an enqueue that overtook an earlier one is refused ("out-of-order")
 * and sent again in order. A publish is resolved only by the queue's own answer, i.e. once its
 * entry (or the entry it duplicates) committed.
 *
 * Passes: while healthy, enqueues go out pipelined to one target (the leader), in seq order,
 * over one ordered connection. The first failure ends the pass; after a short pause (none when
 * a leader hint came back) a new pass resends everything unanswered, in order, to the leader
 * known then. Enqueues submitted meanwhile wait for it.
 *
 * Deadline: when the oldest unanswered enqueue is past the proposal timeout, it and every
 * enqueue already sent are failed (NO_QUORUM, or the error the leader gave, e.g. RESOURCE_ERROR):
 * a later one cannot be applied before it anyway. Those may still commit (like any unconfirmed
 * publish). The rest are renumbered in a new epoch, which the queue starts at seq 1 and which
 * makes every older-epoch enqueue stale, so a late commit never lands after newer messages.
 *
 * Leader changes: when this node learns that the group's leader is now another node than the
 * pass's target, the pass ends at once and everything unanswered goes to the new leader; a
 * stream pausing between passes (its target's node went away) resends there at once too. The old
 * target may never answer (frozen, cut off) and would hold the stream until the deadline; a
 * leader that is only slow (backpressure) is never resent to, which would add to its backlog.
 *
 * A stream is dropped as soon as nothing is unanswered; the next publish starts a new stream in
 * a new epoch (epochs come from one counter per node, so they only grow).
 */
import type { GroupId, NodeId } from "../../raft/core/types.js";
import { NotLeaderError, UnknownGroupError } from "../../raft/errors.js";
import { type AdmissionTicket, noQuorum, type Proposed } from "../cluster/forward.js";
import { WarrenError } from "../errors.js";
import type { EnqueueCommand, QueueReply } from "../queue/index.js";

/** What a stream needs from the Forwarder. */
export interface StreamNet {
  attempt(
    group: GroupId,
    target: NodeId,
    command: unknown,
    timeoutMs: number,
    ticket: AdmissionTicket,
  ): Promise<Proposed>;
  knownLeader(group: GroupId): NodeId | undefined;
  /** The error for a group that will never exist again (its queue was deleted). */
  goneError(group: GroupId): Error | undefined;
  /** Subscribes to the leaders this node learns of (RaftHost.onLeaderChange). */
  onLeaderChange(cb: (group: GroupId, leader: NodeId | undefined) => void): void;
}

/** Time and timers, injectable so tests run on a simulated clock. */
export interface StreamClock {
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function. */
  after(fn: () => void, ms: number): () => void;
}

const realClock: StreamClock = {
  now: () => Date.now(),
  after: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** Pause before a new pass when no leader hint came back (an election takes a few ticks). */
const RETRY_BACKOFF_MS = 20;

interface Entry {
  seq: number;
  epoch: number;
  readonly command: EnqueueCommand;
  /** What the leader's admission reads of it, made once (not per attempt). */
  readonly ticket: AdmissionTicket;
  readonly deadline: number;
  /** Sent at least once, under any numbering: it may be in some log. */
  sent: boolean;
  /** The last WarrenError a leader answered (reported if the deadline passes). */
  lastError: unknown;
  readonly resolve: (reply: QueueReply) => void;
  readonly reject: (err: unknown) => void;
}

export class PublishStreams {
  /** Open streams by publisher, then group (no key string built and hashed per enqueue). */
  private readonly streams = new Map<string, Map<GroupId, Stream>>();
  /** Open streams by group, for leader changes. */
  private readonly byGroup = new Map<GroupId, Set<Stream>>();
  private epochCounter = 0;

  constructor(
    private readonly net: StreamNet,
    private readonly timeoutMs: number,
    private readonly clock: StreamClock = realClock,
  ) {
    net.onLeaderChange((group, leader) => {
      const streams = this.byGroup.get(group);
      if (streams === undefined || leader === undefined) return;
      for (const s of [...streams]) s.leaderChanged(leader);
    });
  }

  /** The highest epoch handed out so far: a `down` for a closed channel forgets up to it. */
  get epoch(): number {
    return this.epochCounter;
  }

  /** A fresh epoch, above `atLeast` too (a queue that remembers a higher one for this id). */
  nextEpoch(atLeast = 0): number {
    this.epochCounter = Math.max(this.epochCounter, atLeast) + 1;
    return this.epochCounter;
  }

  /** Streams with unanswered enqueues (tests). */
  get size(): number {
    let n = 0;
    for (const byGroup of this.streams.values()) n += byGroup.size;
    return n;
  }

  /**
   * Enqueues `command` into `group` in `publisher`'s order; resolves with the queue's answer
   * (`duplicate` carries the original outcome) or rejects (NO_QUORUM, NOT_FOUND, ...).
   */
  enqueue(
    publisher: string,
    group: GroupId,
    members: readonly NodeId[],
    command: EnqueueCommand,
  ): Promise<QueueReply> {
    let mine = this.streams.get(publisher);
    if (mine === undefined) {
      mine = new Map();
      this.streams.set(publisher, mine);
    }
    const ofPublisher = mine;
    let stream = ofPublisher.get(group);
    if (stream === undefined) {
      const created: Stream = new Stream(
        this,
        this.net,
        this.clock,
        this.timeoutMs,
        publisher,
        group,
        this.nextEpoch(),
        () => {
          if (ofPublisher.get(group) === created) ofPublisher.delete(group);
          if (ofPublisher.size === 0 && this.streams.get(publisher) === ofPublisher) {
            this.streams.delete(publisher);
          }
          const inGroup = this.byGroup.get(group);
          inGroup?.delete(created);
          if (inGroup?.size === 0) this.byGroup.delete(group);
        },
      );
      stream = created;
      ofPublisher.set(group, created);
      let inGroup = this.byGroup.get(group);
      if (inGroup === undefined) {
        inGroup = new Set();
        this.byGroup.set(group, inGroup);
      }
      inGroup.add(created);
    }
    stream.members = members;
    return stream.submit(command);
  }
}

class Stream {
  members: readonly NodeId[] = [];
  private nextSeq = 1;
  /** Unanswered enqueues by seq, in seq order. */
  private pending = new Map<number, Entry>();
  private pass = 0;
  /**
   * streaming: enqueues go to `target` as they come; probing: no leader is known, so only the
   * pass head went to a member picked in turn, and the rest waits for its answer (a member that
   * accepts it leads: the rest follows); waiting: between passes.
   */
  private mode: "streaming" | "probing" | "waiting" = "streaming";
  private target: NodeId | undefined;
  /**
   * The oldest unanswered enqueue when the pass began: it was sent after every earlier seq was
   * answered, so the queue's answer to it reflects all of them (see onReply).
   */
  private passHead: Entry | undefined;
  private rr = 0;
  private cancelDeadline: (() => void) | undefined;
  private cancelRetry: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly owner: PublishStreams,
    private readonly net: StreamNet,
    private readonly clock: StreamClock,
    private readonly timeoutMs: number,
    private readonly id: string,
    private readonly group: GroupId,
    private epoch: number,
    private readonly onClose: () => void,
  ) {}

  submit(command: EnqueueCommand): Promise<QueueReply> {
    return new Promise<QueueReply>((resolve, reject) => {
      const entry: Entry = {
        seq: this.nextSeq++,
        epoch: this.epoch,
        command,
        ticket: { type: command.type, bodyBytes: command.body.byteLength, sequenced: true },
        deadline: this.clock.now() + this.timeoutMs,
        sent: false,
        lastError: undefined,
        resolve,
        reject,
      };
      this.pending.set(entry.seq, entry);
      this.armDeadline();
      if (this.mode === "streaming") {
        if (this.target === undefined) this.target = this.pickTarget(undefined);
        this.send(entry);
      }
    });
  }

  // ---- sending -------------------------------------------------------------------------------

  private pickTarget(hint: NodeId | undefined): NodeId | undefined {
    return hint ?? this.net.knownLeader(this.group) ?? this.guessTarget();
  }

  /** No leader known: the members in turn (undefined without members). */
  private guessTarget(): NodeId | undefined {
    return this.members[this.rr++ % Math.max(1, this.members.length)];
  }

  private send(entry: Entry): void {
    const target = this.target;
    const remaining = entry.deadline - this.clock.now();
    if (target === undefined || remaining <= 0) return; // the deadline timer fails it
    const first = this.pending.keys().next().value ?? entry.seq;
    const { epoch, seq } = entry;
    const pass = this.pass;
    entry.sent = true;
    const command: EnqueueCommand = {
      ...entry.command,
      publisher: { id: this.id, seq, epoch, floor: Math.min(first, seq) },
    };
    // An attempt may wait until the deadline: a leader that is slow (its backlog over the bound,
    // leader-admission.ts) must not be sent the same enqueues again, which would add to it. Only
    // news of another leader ends the pass early (leaderChanged).
    this.net.attempt(this.group, target, command, remaining, entry.ticket).then(
      (r) => this.onReply(entry, epoch, seq, pass, r.reply as QueueReply),
      (err: unknown) => this.onError(entry, epoch, seq, pass, err),
    );
  }

  /**
   * A new pass: everything unanswered, in order, to the leader known now. With no leader known
   * (an election, or this node is in a minority) only the oldest goes, as a probe, to a member
   * picked in turn: sending every unanswered enqueue to each member every retry period was a
   * busy loop in a minority (~300,000 refused attempts in 7 s on one node).
   */
  private startPass(hint: NodeId | undefined): void {
    this.cancelRetry = undefined;
    if (this.closed || this.pending.size === 0) return;
    this.pass++;
    const known = hint ?? this.net.knownLeader(this.group);
    this.target = known ?? this.guessTarget();
    this.passHead = this.pending.values().next().value!;
    if (known === undefined) {
      this.mode = "probing";
      this.send(this.passHead);
      return;
    }
    this.mode = "streaming";
    for (const e of this.pending.values()) this.send(e);
  }

  /** The probe was accepted: its target leads; the rest of the pass follows, in order. */
  private probeAccepted(pass: number): void {
    if (pass !== this.pass || this.mode !== "probing" || this.closed) return;
    this.mode = "streaming";
    for (const e of this.pending.values()) this.send(e);
  }

  /** The current pass failed: pause (none after a leader hint), then a new pass. */
  private failPass(pass: number, hint: NodeId | undefined): void {
    if (pass !== this.pass || this.mode === "waiting" || this.closed) return;
    this.mode = "waiting";
    this.cancelRetry = this.clock.after(
      () => this.startPass(hint),
      hint !== undefined ? 0 : RETRY_BACKOFF_MS,
    );
  }

  /**
   * This node learned that `leader` leads the group now. A pass streaming to another node ends at
   * once (the resend goes to `leader`): that node is no longer leader, and may never answer. A
   * stream between passes does not wait out its pause.
   */
  leaderChanged(leader: NodeId): void {
    if (this.closed || this.pending.size === 0) return;
    if (this.mode === "waiting") {
      // The pause after a failed pass (the old leader's node went away, no leader was known
      // then) is for an election to end: this is its end. The pass starts on a timer, as after
      // a hint, not inside the Raft host's loop that runs this (RaftHost.onLeaderChange).
      this.cancelRetry?.();
      this.cancelRetry = this.clock.after(() => this.startPass(leader), 0);
      return;
    }
    if (this.target === undefined || leader === this.target) return;
    this.failPass(this.pass, leader);
  }

  // ---- answers -------------------------------------------------------------------------------

  /** True when the answer is about the entry as it is numbered now (not an abandoned numbering). */
  private current(entry: Entry, epoch: number, seq: number): boolean {
    return !this.closed && entry.epoch === epoch && entry.seq === seq && this.pending.get(seq) === entry;
  }

  private onReply(entry: Entry, epoch: number, seq: number, pass: number, reply: QueueReply): void {
    if (!this.current(entry, epoch, seq)) return;
    if (reply.type === "out-of-order") {
      const { expected } = reply;
      // Only the pass head's answer is known to be current: it was sent after every earlier seq
      // was answered, so the queue had applied those (other answers may predate them).
      const isHead = pass === this.pass && entry === this.passHead;
      if (isHead && (expected.epoch > this.epoch || (expected.epoch === this.epoch && expected.seq < seq))) {
        // The queue forgot this publisher (node-down of a node that was only cut off, or its
        // least-recently-used bound), or remembers a newer epoch: number everything again.
        this.renumber(this.owner.nextEpoch(expected.epoch), () => true);
        this.startPass(this.target);
        return;
      }
      // An earlier seq is missing: resend from the oldest (at once, unless the head itself was refused).
      this.failPass(pass, isHead ? undefined : this.target);
      return;
    }
    this.pending.delete(seq);
    entry.resolve(reply);
    if (this.pending.size === 0) {
      this.close();
      return;
    }
    if (entry === this.passHead) this.probeAccepted(pass);
  }

  private onError(entry: Entry, epoch: number, seq: number, pass: number, err: unknown): void {
    if (!this.current(entry, epoch, seq)) return;
    const gone = WarrenError.is(err, "NOT_FOUND")
      ? err
      : err instanceof UnknownGroupError
        ? this.net.goneError(this.group)
        : undefined;
    if (gone !== undefined) {
      this.failAll(gone);
      return;
    }
    if (err instanceof WarrenError) entry.lastError = err;
    const hint = err instanceof NotLeaderError && err.leaderHint !== this.target ? err.leaderHint : undefined;
    this.failPass(pass, hint);
  }

  // ---- deadlines -----------------------------------------------------------------------------

  private armDeadline(): void {
    if (this.cancelDeadline !== undefined || this.closed) return;
    const head = this.pending.values().next().value;
    if (head === undefined) return;
    this.cancelDeadline = this.clock.after(
      () => {
        this.cancelDeadline = undefined;
        this.onDeadline();
      },
      Math.max(0, head.deadline - this.clock.now()),
    );
  }

  /**
   * The oldest unanswered enqueue is past its deadline: fail it, every enqueue already sent
   * (none can be applied before it) and any other past its deadline; renumber the rest.
   */
  private onDeadline(): void {
    if (this.closed) return;
    const head = this.pending.values().next().value;
    if (head === undefined) return;
    const now = this.clock.now();
    if (head.deadline > now) {
      this.armDeadline();
      return;
    }
    const failed = new Set<Entry>();
    for (const e of this.pending.values()) if (e === head || e.sent || e.deadline <= now) failed.add(e);
    this.renumber(this.owner.nextEpoch(), (e) => !failed.has(e));
    for (const e of failed) {
      e.reject(
        e.lastError instanceof WarrenError ? e.lastError : noQuorum(this.group, this.timeoutMs, e.lastError),
      );
    }
    if (this.pending.size === 0) {
      this.close();
      return;
    }
    this.armDeadline();
    this.cancelRetry?.();
    this.startPass(undefined);
  }

  /** Gives the kept entries seqs 1, 2, ... of `epoch`, in their order (`sent` stays: they may be in a log). */
  private renumber(epoch: number, keep: (e: Entry) => boolean): void {
    const kept = [...this.pending.values()].filter(keep);
    this.epoch = epoch;
    this.pending = new Map();
    this.nextSeq = 1;
    for (const e of kept) {
      e.epoch = epoch;
      e.seq = this.nextSeq++;
      this.pending.set(e.seq, e);
    }
  }

  private failAll(err: unknown): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    this.close();
    for (const e of all) e.reject(err);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelDeadline?.();
    this.cancelRetry?.();
    this.onClose();
  }
}
