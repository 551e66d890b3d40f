/**
 * "Any node serves any client": runs a proposal on whichever node leads a Raft group.
 *
 * The core does not forward proposals (a follower's propose throws NotLeaderError), so this does:
 * try the leader this node knows of (else the group's members in turn), follow `leaderHint`s,
 * wait a little while there is no leader (an election is running), and give up with
 * NO_QUORUM once the proposal timeout has passed. A ProposalTimeoutError (the leader appended
 * the entry but no majority stored it in time) is NOT retried: the entry may still commit, and
 * retrying would store it twice; the client is told NO_QUORUM and decides (a publisher
 * republishes, as after any unconfirmed publish).
 *
 * Leader changes: a command the caller declared safe to run twice (`setRetrySafe`: its second
 * run changes nothing, e.g. an ack) does not wait on a node that stopped leading: as soon as this
 * node learns of another leader, the attempt in flight is abandoned and the command sent there.
 * The old node may never answer (frozen, cut off), and the deadline would run out first. Other
 * commands keep waiting for their answer (a resend could apply them twice).
 *
 * Enqueues that carry a `publisher` (per-publisher order, node/queue/publishers.ts) do not use
 * that retry loop: node/broker/publish-streams.ts makes single `attempt()`s and resends in order,
 * which is safe after any failure because the queue drops duplicates. At the leader such
 * commands are admitted in arrival order, so backpressure never lets one overtake another.
 *
 * A forwarded command travels packed: the sender msgpack-encodes it once, exactly as the host
 * would inside an entry, and sends the bytes with the little admission reads of it
 * (`AdmissionTicket`); the leader proposes the bytes as they are (`RaftHost.proposePacked`)
 * instead of decoding the command and encoding it again (docs/raft/host.md). A request of the
 * older shape `{ group, command }` is still served.
 */
import { Packr } from "msgpackr";
import type { GroupId, NodeId } from "../../raft/core/types.js";
import {
  NotLeaderError,
  ProposalDroppedError,
  ProposalTimeoutError,
  UnknownGroupError,
} from "../../raft/errors.js";
import type { RaftHost } from "../../raft/host/index.js";
import { WarrenError } from "../errors.js";
import { type Rpc, RpcTimeoutError, RpcUnreachableError } from "./rpc.js";

/** What a proposal returns to its proposer: the machine's reply and the index applied at the leader then. */
export interface Proposed<R = unknown> {
  readonly reply: R;
  /** The leader's applied index when the proposal resolved (>= the entry's index). */
  readonly index: number;
}

/** A forwarded proposal: the command packed (current nodes) or as a value (older nodes). */
interface ProposeArgs {
  readonly group: GroupId;
  readonly command?: unknown;
  readonly packed?: Uint8Array;
  readonly admit?: AdmissionTicket;
}

/**
 * The host's encoding of a command (raft/host/entry-codec.ts): plain msgpack, no records, so
 * `proposePacked(group, packr.pack(command))` stores the very bytes `propose` would have.
 */
const packr = new Packr({ useRecords: false });

/** What admission reads of a command; a packed forwarded command carries it beside the bytes. */
export interface AdmissionTicket {
  /** The command's `type`, if it is a string. */
  readonly type?: string;
  /** The byte length of the command's `body`, if it is a byte string (an enqueue's message). */
  readonly bodyBytes?: number;
  /** It carries a `publisher` (a sequenced enqueue): admitted in arrival order. */
  readonly sequenced?: true;
}

/** The admission ticket of `command`. */
export function admissionTicket(command: unknown): AdmissionTicket {
  if (typeof command !== "object" || command === null) return {};
  const c = command as { type?: unknown; body?: unknown; publisher?: unknown };
  const ticket: { type?: string; bodyBytes?: number; sequenced?: true } = {};
  if (typeof c.type === "string") ticket.type = c.type;
  if (c.body instanceof Uint8Array) ticket.bodyBytes = c.body.byteLength;
  if (c.publisher !== undefined) ticket.sequenced = true;
  return ticket;
}

/** The applied-index map is pruned past this many groups, then past twice what stayed. */
const PRUNE_APPLIED_MIN = 2048;

/** Pause between attempts while no leader is known (an election takes a few ticks). */
const RETRY_BACKOFF_MS = 20;

/**
 * Adds to a reply, on the leader, what only the leader can read at once (e.g. the body of a
 * message a basic.get took: with no-ack it is no longer live after that entry).
 */
export type ReplyEnricher = (group: GroupId, reply: unknown) => unknown | Promise<unknown>;

/**
 * Waits until a proposal may go in; gives what to call once it is done (or nothing). Returns at
 * once (no promise) when there is room: the common case costs no promise per publish.
 */
export type Admission = (
  group: GroupId,
  ticket: AdmissionTicket,
) => (() => void) | undefined | Promise<(() => void) | undefined>;

export class Forwarder {
  private enrich: ReplyEnricher = (_group, reply) => reply;
  private whenGone: (group: GroupId) => Error | undefined = () => undefined;
  private admit: Admission = () => undefined;
  private retrySafe: (group: GroupId, command: unknown) => boolean = () => false;
  /** The leader other nodes last told of, for groups this node hosts no replica of (`leaderHeard`). */
  private heardLeader: (group: GroupId) => NodeId | undefined = () => undefined;
  /** `onLeaderChange` subscribers, also told of leaders heard of from other nodes. */
  private readonly heardListeners: ((group: GroupId, leader: NodeId | undefined) => void)[] = [];
  /** Per group: the attempts in flight that end once this node learns of another leader. */
  private readonly onMoved = new Map<GroupId, Set<(leader: NodeId) => void>>();
  /** Per group: the admission of the last sequenced command (they are admitted in arrival order). */
  private readonly admitting = new Map<GroupId, Promise<unknown>>();
  /**
   * Per group: the index of the last command this node applied. A proposal's answer carries it;
   * reading it from `host.status()` instead copied the group's whole status (progress map
   * included) per proposal. Groups removed meanwhile are pruned now and then.
   */
  private readonly applied = new Map<GroupId, number>();
  private pruneAbove = PRUNE_APPLIED_MIN;

  constructor(
    private readonly nodeId: NodeId,
    private readonly host: RaftHost,
    private readonly rpc: Rpc,
    private readonly proposalTimeoutMs: number,
  ) {
    host.onLeaderChange((group, leader) => {
      const waiting = this.onMoved.get(group);
      if (waiting !== undefined && leader !== undefined) for (const f of [...waiting]) f(leader);
    });
    host.onApplied((group, meta) => {
      if (this.applied.set(group, meta.index).size > this.pruneAbove) this.pruneApplied();
    });
    rpc.handle("propose", (_from, args) => {
      const a = args as ProposeArgs;
      if (a.packed instanceof Uint8Array) return this.proposePackedHere(a.group, a.packed, a.admit ?? {});
      return this.proposeHere(a.group, a.command);
    });
  }

  setReplyEnricher(fn: ReplyEnricher): void {
    this.enrich = fn;
  }

  /** Runs before every proposal made on this node (the leader): backpressure on its backlog. */
  setAdmission(fn: Admission): void {
    this.admit = fn;
  }

  /**
   * Tells commands that may be proposed again after an attempt was abandoned (the first may still
   * commit too): they are resent as soon as the leader changes, see the file comment.
   */
  setRetrySafe(fn: (group: GroupId, command: unknown) => boolean): void {
    this.retrySafe = fn;
  }

  /** Tells a group that will never exist again (its queue was deleted): the error to fail with. */
  setGoneCheck(fn: (group: GroupId) => Error | undefined): void {
    this.whenGone = fn;
  }

  /** The error a group that will never exist again fails with (undefined: it may still appear). */
  goneError(group: GroupId): Error | undefined {
    return this.whenGone(group);
  }

  /** Proposes on this node, which must lead the group. */
  proposeHere(group: GroupId, command: unknown, ticket = admissionTicket(command)): Promise<Proposed> {
    return this.proposeAdmitted(group, ticket, command, undefined);
  }

  /** Proposes on this node, which must lead the group, a command packed as the host packs it. */
  proposePackedHere(group: GroupId, packed: Uint8Array, ticket: AdmissionTicket): Promise<Proposed> {
    return this.proposeAdmitted(group, ticket, undefined, packed);
  }

  /**
   * Proposes `packed` if given, else `command`, once admission lets it in. Not an async function:
   * this runs per publish, and admitted at once (the common case) it costs one promise reaction.
   */
  private proposeAdmitted(
    group: GroupId,
    ticket: AdmissionTicket,
    command: unknown,
    packed: Uint8Array | undefined,
  ): Promise<Proposed> {
    // Admitted at once, the command is proposed in this very turn: arrival order is log order.
    let admitted: ReturnType<Admission>;
    try {
      admitted = this.admitInOrder(group, ticket);
    } catch (err) {
      return Promise.reject(err);
    }
    if (admitted instanceof Promise) {
      return admitted.then((release) => this.proposeAndAnswer(group, command, packed, release));
    }
    return this.proposeAndAnswer(group, command, packed, admitted);
  }

  private proposeAndAnswer(
    group: GroupId,
    command: unknown,
    packed: Uint8Array | undefined,
    release: (() => void) | undefined,
  ): Promise<Proposed> {
    const proposal =
      packed === undefined ? this.host.propose(group, command) : this.host.proposePacked(group, packed);
    return proposal.then(
      (result) => {
        release?.();
        return this.answer(group, (result as { reply?: unknown } | undefined)?.reply);
      },
      (err: unknown) => {
        release?.();
        throw err;
      },
    );
  }

  /** The proposer's answer: the reply (enriched) and the leader's applied index. */
  private answer(group: GroupId, reply: unknown): Proposed | Promise<Proposed> {
    const enriched = this.enrich(group, reply);
    // Applied listeners run as the entry applies, before the proposal's promise settles.
    if (enriched instanceof Promise) {
      return enriched.then((r) => ({ reply: r, index: this.applied.get(group) ?? 0 }));
    }
    return { reply: enriched, index: this.applied.get(group) ?? 0 };
  }

  /** Forgets the applied index of groups this node no longer hosts (deleted queues). */
  private pruneApplied(): void {
    const hosted = new Set(this.host.groupIds());
    for (const group of this.applied.keys()) if (!hosted.has(group)) this.applied.delete(group);
    this.pruneAbove = Math.max(PRUNE_APPLIED_MIN, 2 * this.applied.size);
  }

  /**
   * Admission may wait (backpressure) and waiters wake in any order: a sequenced command waits
   * for the admission of the one before it, so they reach the log in the order they arrived.
   */
  private admitInOrder(group: GroupId, ticket: AdmissionTicket): ReturnType<Admission> {
    if (ticket.sequenced !== true) return this.admit(group, ticket);
    const before = this.admitting.get(group);
    let mine: Promise<(() => void) | undefined>;
    if (before === undefined) {
      const now = this.admit(group, ticket);
      // Admitted at once with nobody waiting before it: nothing to keep later ones behind.
      if (!(now instanceof Promise)) return now;
      mine = now;
    } else {
      const admit = () => this.admit(group, ticket);
      mine = before.then(admit, admit);
    }
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.admitting.set(group, settled);
    void settled.then(() => {
      if (this.admitting.get(group) === settled) this.admitting.delete(group);
    });
    return mine;
  }

  /**
   * One try at `target` (this node or another), no retry: resolves with the leader's answer or
   * rejects with what went wrong (NotLeaderError, RpcUnreachableError, ProposalTimeoutError, ...).
   */
  attempt<R = unknown>(
    group: GroupId,
    target: NodeId,
    command: unknown,
    timeoutMs: number,
    ticket: AdmissionTicket = admissionTicket(command),
  ): Promise<Proposed<R>> {
    if (target === this.nodeId) {
      // No timer per attempt (this runs per publish): `timeoutMs` bounds a call to another node.
      // Here the host fails a proposal that did not commit within its proposal timeout
      // (ProposalTimeoutError); a caller that needs an earlier end keeps its own deadline, as
      // publish-streams.ts does (one timer per stream, not per enqueue).
      return this.proposeHere(group, command, ticket) as Promise<Proposed<R>>;
    }
    return this.rpc.call<Proposed<R>>(target, "propose", packedArgs(group, command, ticket), timeoutMs);
  }

  /**
   * Proposes `command` to `group` through its leader. `members` are tried in turn when no leader
   * is known. Rejects NO_QUORUM when nothing committed within the proposal timeout.
   */
  async propose<R = unknown>(
    group: GroupId,
    members: readonly NodeId[],
    command: unknown,
    timeoutMs = this.proposalTimeoutMs,
  ): Promise<Proposed<R>> {
    const deadline = Date.now() + timeoutMs;
    let hint: NodeId | undefined;
    let next = 0;
    let lastError: unknown;
    // Packed once, on the first forward, and resent as is on every retry.
    let forwarded: ProposeArgs | undefined;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const target = hint ?? this.knownLeader(group) ?? members[next++ % Math.max(1, members.length)];
      hint = undefined;
      if (target === undefined) break;
      try {
        let call: Promise<Proposed<R>>;
        if (target === this.nodeId) {
          call = withDeadline(this.proposeHere(group, command), remaining, group) as Promise<Proposed<R>>;
        } else {
          forwarded ??= packedArgs(group, command);
          call = this.rpc.call<Proposed<R>>(target, "propose", forwarded, remaining);
        }
        return (await (this.retrySafe(group, command)
          ? this.untilLeaderMoves(group, target, call)
          : call)) as Proposed<R>;
      } catch (err) {
        if (err instanceof LeaderMovedError) {
          hint = err.leader;
          continue;
        }
        lastError = err;
        if (err instanceof ProposalTimeoutError || err instanceof RpcTimeoutError) break;
        if (err instanceof WarrenError) throw err;
        if (err instanceof NotLeaderError) {
          if (err.leaderHint !== undefined && err.leaderHint !== target) {
            hint = err.leaderHint;
            continue;
          }
        } else if (err instanceof UnknownGroupError) {
          // Not created yet (a new queue), or removed (its queue was deleted meanwhile).
          const gone = this.whenGone(group);
          if (gone !== undefined) throw gone;
        } else if (!(err instanceof ProposalDroppedError) && !(err instanceof RpcUnreachableError)) {
          throw err;
        }
      }
      await sleep(Math.min(RETRY_BACKOFF_MS, Math.max(0, deadline - Date.now())));
    }
    throw noQuorum(group, timeoutMs, lastError);
  }

  /** `call`'s outcome, or LeaderMovedError once this node learns that another node than `target` leads. */
  private untilLeaderMoves<T>(group: GroupId, target: NodeId, call: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let waiting = this.onMoved.get(group);
      if (waiting === undefined) {
        waiting = new Set();
        this.onMoved.set(group, waiting);
      }
      const set = waiting;
      const done = () => {
        set.delete(moved);
        if (set.size === 0 && this.onMoved.get(group) === set) this.onMoved.delete(group);
      };
      const moved = (leader: NodeId) => {
        if (leader === target) return;
        done();
        reject(new LeaderMovedError(leader));
      };
      set.add(moved);
      call.then(
        (v) => {
          done();
          resolve(v);
        },
        (e: unknown) => {
          done();
          reject(e);
        },
      );
    });
  }

  /** Subscribes to the leaders this node learns of (from its replicas, or `leaderHeard`). */
  onLeaderChange(cb: (group: GroupId, leader: NodeId | undefined) => void): void {
    this.host.onLeaderChange(cb);
    this.heardListeners.push(cb);
  }

  /**
   * Where to look up the leader of a group this node hosts no replica of, as other nodes told
   * it (node/broker/leader-news.ts): its host never hears of that group's leader changes.
   */
  setHeardLeaders(fn: (group: GroupId) => NodeId | undefined): void {
    this.heardLeader = fn;
  }

  /**
   * Another node told that `leader` leads `group` (leader news, for a group without a replica
   * here): attempts in flight to another node move there, and subscribers hear of it, as when
   * this node's host tells of a new leader.
   */
  leaderHeard(group: GroupId, leader: NodeId): void {
    const waiting = this.onMoved.get(group);
    if (waiting !== undefined) for (const f of [...waiting]) f(leader);
    for (const cb of this.heardListeners) cb(group, leader);
  }

  knownLeader(group: GroupId): NodeId | undefined {
    try {
      return this.host.leaderOf(group) ?? this.heardLeader(group);
    } catch {
      return undefined;
    }
  }
}

export function noQuorum(group: GroupId, timeoutMs: number, cause?: unknown): WarrenError {
  const what = group === "meta" ? "the metadata store" : `queue group ${group}`;
  return new WarrenError("NO_QUORUM", `${what} could not commit within ${timeoutMs} ms (no quorum)`, {
    cause,
  });
}

/** A forwarded proposal's arguments: the command packed as the host packs it, and its ticket. */
function packedArgs(group: GroupId, command: unknown, ticket = admissionTicket(command)): ProposeArgs {
  return { group, packed: packr.pack(command), admit: ticket };
}

/** An attempt abandoned because this node learned that `leader` leads the group now. */
class LeaderMovedError extends Error {
  override name = "LeaderMovedError";
  constructor(readonly leader: NodeId) {
    super(`the group's leader is now ${leader}`);
  }
}

/** The host's own proposal timeout may be longer than what is left of the caller's. */
function withDeadline<T>(p: Promise<T>, ms: number, group: GroupId): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new ProposalTimeoutError(group, ms)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
