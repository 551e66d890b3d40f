/**
 * Outgoing Raft messages of one loop stage, batched per peer: every group's messages to a
 * peer travel as ONE transport payload on the "raft" channel (the transport in turn writes
 * all payloads of an event-loop turn in one socket write).
 */
import type { GroupId, Message, NodeId } from "../core/types.js";
import type { Transport } from "../transport/index.js";
import { decodeMessage, encodeMessage, type WireMessage } from "./wire.js";

/** The transport channel carrying Raft messages. */
export const RAFT_CHANNEL = "raft";

/**
 * Wire shape of a "raft" payload: [group, message] pairs, in the order the cores emitted them,
 * each message in the tuple form of wire.ts.
 */
export type RaftPayload = Array<[GroupId, WireMessage]>;

/**
 * A payload is closed at about this many bytes of entry data, well under the transport's
 * frame limit, so a catch-up burst of many groups becomes several frames rather than one
 * oversized one.
 */
export const MAX_PAYLOAD_BYTES = 4 << 20;

/** Rough fixed cost of a message without entry data, for the payload size estimate. */
const MESSAGE_OVERHEAD = 64;

export class Outbox {
  /** Per peer: the payloads of this stage, the last one still open. */
  private readonly perPeer = new Map<NodeId, RaftPayload[]>();
  /** Estimated bytes of each peer's open payload. */
  private readonly openBytes = new Map<NodeId, number>();

  add(group: GroupId, m: Message): void {
    let size = MESSAGE_OVERHEAD;
    if (m.entries !== undefined) for (const e of m.entries) size += e.data.byteLength + 16;
    let payloads = this.perPeer.get(m.to);
    if (payloads === undefined) {
      payloads = [[]];
      this.perPeer.set(m.to, payloads);
    }
    let bytes = this.openBytes.get(m.to) ?? 0;
    if (bytes > 0 && bytes + size > MAX_PAYLOAD_BYTES) {
      payloads.push([]);
      bytes = 0;
    }
    payloads[payloads.length - 1]!.push([group, encodeMessage(m)]);
    this.openBytes.set(m.to, bytes + size);
  }

  isEmpty(): boolean {
    return this.perPeer.size === 0;
  }

  /**
   * Hands every batch to the transport. When the transport drops a batch (its queue for that
   * peer is full or the peer is unknown), `unreachable(group, peer)` is called once per group
   * so the core probes that follower instead of assuming its pipeline is flowing.
   */
  send(transport: Transport, unreachable: (group: GroupId, peer: NodeId) => void): void {
    for (const [peer, payloads] of this.perPeer) {
      for (const batch of payloads) {
        if (transport.send(peer, RAFT_CHANNEL, batch)) continue;
        const seen = new Set<GroupId>();
        for (const [group] of batch) {
          if (seen.has(group)) continue;
          seen.add(group);
          unreachable(group, peer);
        }
      }
    }
    this.perPeer.clear();
    this.openBytes.clear();
  }
}

/**
 * Decodes and validates an incoming "raft" payload (peers are authenticated, but be strict):
 * the pairs, or undefined when any message is malformed or of an unknown wire version. Also
 * accepts the previous build's form, where each message is a map (see wire.ts).
 */
export function decodeRaftPayload(payload: unknown): Array<[GroupId, Message]> | undefined {
  if (!Array.isArray(payload)) return undefined;
  const out = new Array<[GroupId, Message]>(payload.length);
  for (let i = 0; i < payload.length; i++) {
    const item: unknown = payload[i];
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== "string") return undefined;
    const m = Array.isArray(item[1]) ? decodeMessage(item[1]) : legacyMessage(item[1]);
    if (m === undefined) return undefined;
    out[i] = [item[0], m];
  }
  return out;
}

/** The previous build's map form, checked as loosely as that build checked it. */
function legacyMessage(v: unknown): Message | undefined {
  const m = v as Partial<Message> | null;
  if (m === null || typeof m !== "object" || typeof m.type !== "number" || typeof m.term !== "number") {
    return undefined;
  }
  return m as Message;
}
