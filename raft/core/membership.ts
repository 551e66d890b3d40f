/**
 * Membership changes on a running group (Ongaro's thesis §4.1-§4.2): proposing a ConfChange
 * (one unapplied at a time) and switching configuration when the host applies it.
 */
import { NotLeaderError, ProposalDroppedError } from "../errors.js";
import { encodeConfChange } from "./confchange/codec.js";
import { applyChange } from "./confchange/confchange.js";
import type { Raft } from "./raft.js";
import { maybeSendAppend, sendTimeoutNow } from "./replicate.js";
import type { ConfChange, ConfState } from "./types.js";
import { EntryType, NONE, Role } from "./types.js";

/**
 * Proposes a membership change. The entry carries the resulting configuration too (see
 * ConfChange.conf): no other change is pending, so the applied configuration is the one
 * the change will apply to.
 */
export function proposeConfChange(r: Raft, cc: ConfChange): { index: number; term: number } {
  if (r.role !== Role.Leader) {
    throw new NotLeaderError(r.opts.group, r.lead === NONE ? undefined : r.lead);
  }
  if (confChangePending(r)) {
    throw new ProposalDroppedError(
      r.opts.group,
      `configuration change at ${r.pendingConfIndex} is not applied yet (applied ${appliedIndex(r)})`,
    );
  }
  const res = applyChange(r.trk.confState(), cc);
  if ("error" in res) throw new ProposalDroppedError(r.opts.group, res.error);
  const at = r.propose(
    encodeConfChange({ type: cc.type, node: cc.node, conf: res.conf }),
    EntryType.ConfChange,
  );
  r.pendingConfIndex = at.index;
  return at;
}

/**
 * Whether a ConfChange this leader appended (or, right after its election, any entry that might
 * be one) is not applied yet: only one change at a time.
 */
export function confChangePending(r: Raft): boolean {
  return r.pendingConfIndex > appliedIndex(r);
}

/**
 * What the host has applied as far as the core knows: `log.applied` moves at `advance()`, but a
 * ConfChange applied before that (the host applies a leader's earlier commits while its next
 * write runs) counts at once, so the promise of a change resolves with the next one allowed.
 */
function appliedIndex(r: Raft): number {
  return Math.max(r.log.applied, r.confAppliedIndex);
}

/**
 * The host applies the committed ConfChange entry at `index`: switch configuration (thesis
 * §4.1). An ignored (invalid) change is applied too, as far as pending changes go.
 */
export function applyConfChange(r: Raft, cc: ConfChange, index: number): ConfState {
  if (index > r.confAppliedIndex) r.confAppliedIndex = index;
  const res = cc.conf ? checkConf(cc.conf) : applyChange(r.trk.confState(), cc);
  if ("error" in res) {
    // Deterministic on every replica, so skipping keeps them identical.
    r.opts.logger.warn({ node: cc.node, type: cc.type }, `conf change ignored: ${res.error}`);
    return r.trk.confState();
  }
  const known = new Set(r.trk.progress.keys());
  r.trk.applyConf(res.conf, r.log.lastIndex() + 1);
  r.isLearner = r.trk.isLearner(r.id);
  if (r.role !== Role.Leader) return r.trk.confState();
  if (!r.trk.isVoter(r.id)) {
    // Thesis §4.2.2: a leader removed from the configuration steps down once the change is
    // committed. It hands over to a voter whose log is complete, if any (as a transfer would),
    // so the group does not wait out leases and an election timeout.
    const last = r.log.lastIndex();
    const heir = r.trk.voters.find((id) => r.trk.progress.get(id)?.match === last);
    if (heir !== undefined) sendTimeoutNow(r, heir);
    r.becomeFollower(r.term, NONE);
    return r.trk.confState();
  }
  if (r.leadTransferee !== NONE && !r.trk.isVoter(r.leadTransferee)) r.abortLeaderTransfer();
  // A smaller majority may already hold more entries.
  if (r.maybeCommit()) {
    r.onCommitAdvanced();
  } else {
    // Probe new members at once rather than at the next heartbeat.
    for (const id of r.trk.progress.keys()) if (id !== r.id) maybeSendAppend(r, id, !known.has(id));
  }
  return r.trk.confState();
}

/** Validates an absolute configuration carried by a ConfChange entry. */
function checkConf(conf: ConfState): { conf: ConfState } | { error: string } {
  if (conf.voters.length === 0) return { error: "configuration without voters" };
  if (conf.voters.some((v) => conf.learners.includes(v)))
    return { error: "a node is both voter and learner" };
  return { conf: { voters: [...conf.voters].sort(), learners: [...conf.learners].sort() } };
}
