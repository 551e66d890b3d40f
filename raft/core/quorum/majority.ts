/**
 * Majority quorums (Raft §5.2, §5.3): the arithmetic of elections and commitment, kept apart
 * from the state machine so it can be reasoned about (and tested) alone. Imports nothing
 * from the core.
 */
import type { NodeId } from "../types.js";

export const VoteResult = {
  /** Not enough answers yet either way. */
  Pending: 0,
  Lost: 1,
  Won: 2,
} as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

/** Size of a majority of `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest index replicated on a majority of `voters`, given each one's match index
 * (Figure 2: "N such that a majority of matchIndex[i] >= N"). 0 without voters.
 */
export function committedIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const m = voters.map(match).sort((a, b) => b - a);
  return m[majority(voters.length) - 1]!;
}

/** The outcome of an election among `voters` given the votes received so far. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.length === 0) return VoteResult.Won; // an empty configuration agrees to anything (etcd)
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = majority(voters.length);
  if (granted >= q) return VoteResult.Won;
  if (granted + missing >= q) return VoteResult.Pending;
  return VoteResult.Lost;
}

/** True when `acks` (a set of nodes heard from) contains a majority of `voters`. */
export function hasQuorum(voters: readonly NodeId[], acks: (id: NodeId) => boolean): boolean {
  let n = 0;
  for (const id of voters) if (acks(id)) n++;
  return n >= majority(voters.length);
}
