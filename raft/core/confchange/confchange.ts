/**
 * Single-server membership changes (Ongaro's thesis §4.1): each ConfChange adds or removes at
 * most one voter, so the majorities of the old and new configurations always overlap and no
 * joint consensus is needed. Learners (thesis §4.2.1, "non-voting members") may come and go
 * freely: they never count in a majority.
 *
 * Pure functions over ConfState; the core applies a change when the host applies the
 * committed ConfChange entry (as etcd does), and allows one unapplied change at a time.
 */
import type { ConfChange, ConfState, NodeId } from "../types.js";
import { ConfChangeType } from "../types.js";

/**
 * The configuration after `cc`, or an error message when the change is not allowed (it would
 * leave no voter). AddVoter of a learner promotes it; AddLearner of a voter demotes it (one
 * voter fewer, like a removal); adding a present member or removing an absent one is a no-op.
 */
export function applyChange(conf: ConfState, cc: ConfChange): { conf: ConfState } | { error: string } {
  const voters = conf.voters.filter((v) => v !== cc.node);
  const learners = conf.learners.filter((l) => l !== cc.node);
  switch (cc.type) {
    case ConfChangeType.AddVoter:
      voters.push(cc.node);
      break;
    case ConfChangeType.AddLearner:
      learners.push(cc.node);
      break;
    case ConfChangeType.RemoveNode:
      break;
    default:
      return { error: `unknown conf change type ${String((cc as ConfChange).type)}` };
  }
  if (voters.length === 0) return { error: `removing ${cc.node} would leave no voter` };
  return { conf: { voters: voters.sort(), learners: learners.sort() } };
}

/** True when `a` and `b` have the same members in the same roles. */
export function sameConf(a: ConfState, b: ConfState): boolean {
  return sameSet(a.voters, b.voters) && sameSet(a.learners, b.learners);
}

function sameSet(a: readonly NodeId[], b: readonly NodeId[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
