/**
 * The next membership change a Raft group's leader makes to bring its configuration to the
 * members the metadata records (pure: every input is given, the same view gives the same step).
 *
 * Single-server changes only (Ongaro's thesis §4.1), one at a time, in this order:
 * 1. a desired node that is not in the configuration joins as a LEARNER (§4.2.1: it receives the
 *    log, or a snapshot with its live entries, without counting for commit or elections);
 * 2. a learner that caught up is promoted to VOTER (a voter that cannot keep up would slow every
 *    commit and could cost the group its majority);
 * 3. learners that are no longer wanted are removed;
 * 4. only once every desired node votes, unwanted voters are removed: adding before removing
 *    keeps the replication factor through the move. The leader never removes itself: it first
 *    hands leadership to a caught-up desired voter (RabbitMQ moves the leader away before
 *    delete_member of the leader's node), and the new leader carries on.
 */
import type { NodeId } from "../../raft/core/types.js";

/**
 * A learner whose match index is within this many entries of the commit index counts as caught
 * up. Under traffic the commit index keeps moving; a pipelined follower trails it by a window.
 */
export const CATCH_UP_SLACK = 256;

export interface ConfView {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface PlanInput {
  /** The leader computing the step. */
  readonly self: NodeId;
  /** The members the metadata records (never empty). */
  readonly desired: readonly NodeId[];
  /** The configuration as the leader applied it. */
  readonly conf: ConfView;
  /** The leader's match index of each member (0 or absent: nothing acknowledged yet). */
  readonly match: ReadonlyMap<NodeId, number>;
  readonly commit: number;
  /** The leader's last log index: a transfer target must have all of it (thesis §3.10). */
  readonly lastIndex: number;
  readonly slack?: number;
}

export type ConfStep =
  | { readonly kind: "add-learner"; readonly node: NodeId }
  | { readonly kind: "promote"; readonly node: NodeId }
  | { readonly kind: "remove"; readonly node: NodeId }
  | { readonly kind: "transfer"; readonly to: NodeId }
  /** Something is under way (a learner catching up, no caught-up transfer target yet). */
  | { readonly kind: "wait"; readonly reason: string }
  | { readonly kind: "done" };

const sorted = (xs: Iterable<NodeId>): NodeId[] => [...xs].sort();

/** Whether `node` acknowledged enough of the log to vote without holding commits back. */
export function caughtUp(match: number | undefined, commit: number, slack = CATCH_UP_SLACK): boolean {
  return match !== undefined && match > 0 && match + slack >= commit;
}

export function nextConfStep(input: PlanInput): ConfStep {
  const { self, conf, match } = input;
  const desired = new Set(input.desired);
  const voters = new Set(conf.voters);
  const learners = new Set(conf.learners);
  if (desired.size === 0) return { kind: "wait", reason: "no members recorded" };

  for (const n of sorted(desired)) {
    if (!voters.has(n) && !learners.has(n)) return { kind: "add-learner", node: n };
  }
  const waiting: NodeId[] = [];
  for (const n of sorted(desired)) {
    if (!learners.has(n)) continue;
    if (caughtUp(match.get(n), input.commit, input.slack)) return { kind: "promote", node: n };
    waiting.push(n);
  }
  for (const n of sorted(learners)) if (!desired.has(n)) return { kind: "remove", node: n };
  if (waiting.length > 0) return { kind: "wait", reason: `learners catching up: ${waiting.join(",")}` };

  const unwanted = sorted(voters).filter((n) => !desired.has(n));
  if (unwanted.length === 0) return { kind: "done" };
  const other = unwanted.find((n) => n !== self);
  if (other !== undefined) return { kind: "remove", node: other };
  // Only this leader is left to remove: hand over to a desired voter holding the whole log.
  const heir = sorted(voters).find(
    (n) => n !== self && desired.has(n) && (match.get(n) ?? 0) >= input.lastIndex,
  );
  if (heir !== undefined) return { kind: "transfer", to: heir };
  return { kind: "wait", reason: "no caught-up voter to hand leadership to" };
}
