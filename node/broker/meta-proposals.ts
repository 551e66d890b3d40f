/**
 * Proposing a metadata command through the metadata group's leader, and getting past a leader
 * that stops answering (frozen by SIGSTOP, cut off) as soon as another one is elected.
 *
 * A forwarded queue ack may simply be sent again to the new leader (a second run changes
 * nothing). A metadata command may not: `queue.delete` run twice answers NOT_FOUND, a declare
 * could bring back a queue deleted meanwhile. So each command carries an id (`op`, ignored by
 * MetaMachine), and this node watches its own replica apply it. When this node learns of another
 * leader while an attempt waits on the old one:
 *  - the command may be in some log. A read barrier at the new leader settles that: once this
 *    node applied up to the barrier, the command either applied here (its reply is taken from
 *    there: no resend) or can never commit. It was appended, if at all, in the old leader's
 *    term, and the new leader has committed an entry of a later term without it: any later
 *    leader's log holds that entry, and no entry of an older term can follow it. (This assumes
 *    the old node handles the request when it reaches it, in the term it led: a frozen or
 *    cut-off node reads what waited in its sockets at once when it resumes, long before it
 *    could win a later election.)
 *  - so then it is sent to the new leader, and at most one of the two runs.
 * Every node holds a replica of the metadata group, so every proposer sees the leader change.
 * A snapshot installed meanwhile may cover the command unseen: its outcome is then unknown,
 * and the caller gets NO_QUORUM as after a timeout (the previous behaviour in every case).
 */
import type { NodeId } from "../../raft/core/types.js";
import { NotLeaderError, ProposalDroppedError, UnknownGroupError } from "../../raft/errors.js";
import type { Forwarder, Proposed } from "../cluster/forward.js";
import { noQuorum } from "../cluster/forward.js";
import { RpcUnreachableError } from "../cluster/rpc.js";
import { WarrenError } from "../errors.js";
import type { MetaCommand, MetaReply } from "../meta/index.js";

/** Pause between attempts while no leader is known (an election takes a few ticks). */
const RETRY_BACKOFF_MS = 20;

/** What a proposer needs from the metadata client. */
export interface MetaProposerDeps {
  readonly nodeId: NodeId;
  readonly group: string;
  readonly forwarder: Forwarder;
  readonly timeoutMs: number;
  /** The metadata leader this node knows of. */
  leader(): NodeId | undefined;
  /** Where to send while no leader is known. */
  candidates(): readonly NodeId[];
  /** A read barrier at `leader`, then this node applied up to it. */
  catchUp(leader: NodeId, timeoutMs: number): Promise<void>;
  /** Resolves once this node applied `index`. */
  waitApplied(index: number, timeoutMs: number): Promise<void>;
}

/** A command in flight: settled by its first run applied on this node. */
interface Watch {
  reply?: MetaReply;
  /** A snapshot was installed meanwhile: it may have covered the command unseen. */
  unknown: boolean;
  readonly seen: Promise<MetaReply>;
  readonly resolve: (reply: MetaReply) => void;
}

/** How one attempt ended. */
type Outcome =
  | { readonly kind: "applied"; readonly reply: MetaReply }
  | { readonly kind: "answered"; readonly proposed: Proposed<MetaReply> }
  | { readonly kind: "moved"; readonly leader: NodeId }
  | { readonly kind: "failed"; readonly err: unknown };

export class MetaProposer {
  /** Ids are unique per process: a restarted node never reuses one. */
  private readonly prefix: string;
  private seq = 0;
  private readonly watches = new Map<string, Watch>();
  private readonly leaderWaiters = new Set<(leader: NodeId) => void>();

  constructor(private readonly deps: MetaProposerDeps) {
    this.prefix = `${deps.nodeId}:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}:`;
  }

  /** This node's replica applied `command` with `reply` (called from the machine's apply). */
  applied(command: unknown, reply: MetaReply): void {
    const op = (command as { op?: unknown }).op;
    if (typeof op !== "string") return;
    const w = this.watches.get(op);
    if (w === undefined || w.reply !== undefined) return;
    w.reply = reply;
    w.resolve(reply);
  }

  /** This node's replica was restored from a snapshot: commands in flight may be covered unseen. */
  restored(): void {
    for (const w of this.watches.values()) if (w.reply === undefined) w.unknown = true;
  }

  /** This node learned of a new metadata leader. */
  leaderChanged(leader: NodeId | undefined): void {
    if (leader !== undefined) for (const f of [...this.leaderWaiters]) f(leader);
  }

  /** Runs `command` once; resolves with its reply once this node applied it (NO_QUORUM if it cannot tell). */
  async propose(command: MetaCommand): Promise<MetaReply> {
    const op = this.prefix + (++this.seq).toString(36);
    let resolve!: (reply: MetaReply) => void;
    const seen = new Promise<MetaReply>((r) => {
      resolve = r;
    });
    const watch: Watch = { unknown: false, seen, resolve };
    this.watches.set(op, watch);
    try {
      return await this.run({ ...command, op }, watch);
    } finally {
      this.watches.delete(op);
    }
  }

  private async run(command: MetaCommand & { op: string }, watch: Watch): Promise<MetaReply> {
    const { deps } = this;
    const deadline = Date.now() + deps.timeoutMs;
    let hint: NodeId | undefined;
    let next = 0;
    let lastError: unknown;
    for (;;) {
      const remaining = deadline - Date.now();
      if (watch.reply !== undefined) return watch.reply;
      if (remaining <= 0) break;
      const candidates = deps.candidates();
      const target = hint ?? deps.leader() ?? candidates[next++ % Math.max(1, candidates.length)];
      hint = undefined;
      if (target === undefined) break;
      const out = await this.attempt(target, command, remaining, watch);
      if (out.kind === "applied") return out.reply;
      if (out.kind === "answered") {
        // Committed: this replica gets a whole timeout to catch up, as before the deadline.
        await deps.waitApplied(out.proposed.index, deps.timeoutMs);
        return out.proposed.reply;
      }
      if (out.kind === "moved") {
        if (!(await this.settled(target, watch, deadline))) break;
        hint = out.leader;
        continue;
      }
      const err = out.err;
      lastError = err;
      if (err instanceof WarrenError) throw err;
      if (err instanceof NotLeaderError && err.leaderHint !== undefined && err.leaderHint !== target) {
        hint = err.leaderHint;
        continue;
      }
      // Not proposed (no leader there, not reachable), or dropped: its entry was overwritten by
      // another, so it can never commit (as the forwarder treats it). Timeouts end the loop: the
      // entry may still commit, and no other leader is known to settle that.
      const retry =
        err instanceof NotLeaderError ||
        err instanceof RpcUnreachableError ||
        err instanceof ProposalDroppedError ||
        err instanceof UnknownGroupError;
      if (!retry) break;
      await sleep(Math.min(RETRY_BACKOFF_MS, Math.max(0, deadline - Date.now())));
    }
    if (watch.reply !== undefined) return watch.reply;
    throw noQuorum(deps.group, deps.timeoutMs, lastError);
  }

  /** One try at `target`, ended early by this node applying the command or learning of another leader. */
  private attempt(
    target: NodeId,
    command: MetaCommand & { op: string },
    timeoutMs: number,
    watch: Watch,
  ): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let done = false;
      const finish = (o: Outcome) => {
        if (done) return;
        done = true;
        this.leaderWaiters.delete(moved);
        resolve(o);
      };
      const moved = (leader: NodeId) => {
        if (leader !== target) finish({ kind: "moved", leader });
      };
      this.leaderWaiters.add(moved);
      void watch.seen.then((reply) => finish({ kind: "applied", reply }));
      this.deps.forwarder.attempt<MetaReply>(this.deps.group, target, command, timeoutMs).then(
        (proposed) => finish({ kind: "answered", proposed }),
        (err: unknown) => finish({ kind: "failed", err }),
      );
    });
  }

  /**
   * After an attempt at `target` was abandoned: true once it is safe to send the command again
   * (a read barrier at a leader other than `target` passed and this node applied up to it; the
   * command then either applied here, see `watch`, or can never commit). False when the
   * deadline passed first or a snapshot may have hidden the outcome.
   */
  private async settled(target: NodeId, watch: Watch, deadline: number): Promise<boolean> {
    for (;;) {
      if (watch.reply !== undefined) return true;
      if (watch.unknown) return false;
      const remaining = deadline - Date.now();
      if (remaining <= 0) return false;
      const leader = this.deps.leader();
      if (leader !== undefined && leader !== target) {
        try {
          await this.deps.catchUp(leader, remaining);
          return !watch.unknown;
        } catch {
          // no barrier yet (an election, a leader that just lost its place): try again
        }
      }
      await sleep(Math.min(RETRY_BACKOFF_MS, Math.max(0, deadline - Date.now())));
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
