/**
 * The leader's outgoing replication (Raft §5.3, Figure 13): AppendEntries with flow control
 * (etcd's probe / replicate / snapshot states and the pipelining window, thesis §10.2.1),
 * InstallSnapshot when the entries a follower needs are compacted, and heartbeats.
 */
import { RaftInvariantError } from "../errors.js";
import { CompactedError, UnavailableError } from "./errors.js";
import type { Outgoing, Raft } from "./raft.js";
import { ProgressState } from "./tracker/progress.js";
import type { Entry, Snapshot } from "./types.js";
import { MessageType, Role } from "./types.js";

/** Sends `to` what it needs now, even an empty MsgApp (a probe, or to carry the commit index). */
export function sendAppend(r: Raft, to: string): void {
  maybeSendAppend(r, to, true);
}

/**
 * Sends `to` the entries it needs (or a snapshot when they are compacted away), unless flow
 * control pauses it. With `sendIfEmpty` false an empty MsgApp is not worth sending.
 * Returns true when a message went out.
 */
export function maybeSendAppend(r: Raft, to: string, sendIfEmpty: boolean): boolean {
  const pr = r.trk.progress.get(to);
  if (!pr || pr.isPaused()) return false;
  let prevTerm: number;
  let ents: Entry[];
  try {
    prevTerm = r.log.term(pr.next - 1);
    ents = r.log.entries(pr.next, r.opts.maxSizePerMsg);
  } catch (e) {
    if (!(e instanceof CompactedError)) throw e;
    return maybeSendSnapshot(r, to);
  }
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send({
    type: MessageType.MsgApp,
    to,
    index: pr.next - 1,
    logTerm: prevTerm,
    entries: ents,
    commit: r.log.committed,
  });
  const last = ents[ents.length - 1];
  if (last) {
    if (pr.state === ProgressState.Replicate) {
      // Pipelining: assume success and send the next batch without waiting.
      pr.optimisticUpdate(last.index);
      pr.inflights.add(last.index);
    } else if (pr.state === ProgressState.Probe) {
      pr.probeSent = true;
    }
  }
  return true;
}

/** The follower needs compacted entries: ship the snapshot (Figure 13's InstallSnapshot). */
export function maybeSendSnapshot(r: Raft, to: string): boolean {
  const pr = r.trk.progress.get(to)!;
  // Only to followers known alive: a snapshot is expensive.
  if (!pr.recentActive) return false;
  let snapshot: Snapshot;
  try {
    snapshot = r.log.snapshot();
  } catch (e) {
    if (e instanceof UnavailableError) return false; // not ready yet: retry later
    throw e;
  }
  if (snapshot.meta.index === 0) throw new RaftInvariantError("need a non-empty snapshot");
  r.send({ type: MessageType.MsgSnap, to, snapshot });
  pr.becomeSnapshot(snapshot.meta.index);
  r.opts.logger.debug({ to, index: snapshot.meta.index }, "sent snapshot");
  return true;
}

/** Heartbeat (Figure 2's empty AppendEntries); `commit` never exceeds what `to` holds. */
export function sendHeartbeat(r: Raft, to: string, ctx: Uint8Array | undefined): void {
  const pr = r.trk.progress.get(to);
  const m: Outgoing = {
    type: MessageType.MsgHeartbeat,
    to,
    commit: Math.min(pr?.match ?? 0, r.log.committed),
  };
  if (ctx) m.context = ctx;
  r.send(m);
}

/** Sends every follower what it lacks: one MsgApp, then more while the window allows. */
export function bcastAppend(r: Raft): void {
  r.needBcast = false;
  for (const id of r.trk.progress.keys()) {
    if (id === r.id) continue;
    sendAppend(r, id);
    while (maybeSendAppend(r, id, false)) {
      // fill the pipelining window (replicate state only; a probe pauses after one)
    }
  }
}

/**
 * Heartbeats to every member. They carry the newest pending ReadIndex context, so a periodic
 * heartbeat also confirms reads whose dedicated round was lost.
 */
export function bcastHeartbeat(r: Raft): void {
  const ctx = r.readOnly.lastPendingContext();
  for (const id of r.trk.progress.keys()) if (id !== r.id) sendHeartbeat(r, id, ctx);
}

/** Flushes the broadcast deferred by proposals (one MsgApp per follower per Ready). */
export function flushBcast(r: Raft): void {
  if (r.needBcast && r.role === Role.Leader) bcastAppend(r);
  r.needBcast = false;
}

/** Thesis §3.10: tells an up-to-date transferee to start an election at once. */
export function sendTimeoutNow(r: Raft, to: string): void {
  r.send({ type: MessageType.MsgTimeoutNow, to });
}
