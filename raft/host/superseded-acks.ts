/**
 * A follower answers every MsgApp it appends with a MsgAppResp, and a Ready often holds
 * several of them for one group: the leader pipelines several MsgApps during one of the
 * follower's batch writes, and the answers all leave after that write. A successful answer
 * acknowledges the follower's whole log up to its index (Log Matching), and the leader only
 * keeps the highest index it was told (its match, flow-control window and commit count are
 * monotonic in it), so an earlier success of the same term to the same leader says nothing the
 * last one does not. Dropping it is what a lost message would do, which Raft tolerates
 * anyway; it spares the leader a message to decode and step, and both sides a frame entry.
 * Rejections (which carry hints) are never dropped, and never make an earlier success go.
 */
import type { Message } from "../core/types.js";
import { MessageType } from "../core/types.js";

/** `messages` without the successful MsgAppResp that a later one of the same Ready supersedes. */
export function withoutSupersededAcks(messages: readonly Message[]): readonly Message[] {
  let acks = 0;
  for (const m of messages) if (isSuccessAck(m)) acks++;
  if (acks < 2) return messages;
  // Backwards: the last success per leader and term is kept, earlier ones at or below it go.
  const kept: Message[] = [];
  const last = new Map<string, Message>();
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (isSuccessAck(m)) {
      const later = last.get(m.to);
      if (later !== undefined && later.term === m.term && (later.index ?? 0) >= (m.index ?? 0)) continue;
      last.set(m.to, m);
    }
    kept.push(m);
  }
  return kept.reverse();
}

function isSuccessAck(m: Message): boolean {
  return m.type === MessageType.MsgAppResp && m.reject !== true;
}
