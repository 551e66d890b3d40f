/**
 * Outgoing Raft messages of one loop stage, batched per peer: every group's messages to a
 * peer travel as ONE transport payload on the "raft" channel (the transport in turn writes
 * all payloads of an event-loop turn in one socket write).
 */
import type { GroupId, Message, NodeId } from "../core/types.js";
import type { Transport } from "../transport/index.js";
import {
  ByteArena,
  decodeMessage,
  encodeEntries,
  encodeMessage,
  type Link,
  type WireMessage,
} from "./wire.js";

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
  /**
   * Per group, the entries last encoded for a MsgApp of this stage: a leader sends the same
   * entries to each follower, one after the other, and they are encoded once (wire.ts, v2).
   * Within one stage a group's log does not change, so an equal range (first and last index,
   * last term) holds equal entries.
   */
  private readonly encoded = new Map<GroupId, EncodedEntries>();
  /** Where this stage's entries strings are laid out (created on first use). */
  private arena: ByteArena | undefined;

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
    payloads[payloads.length - 1]!.push([group, encodeMessage(m, this.entryBytes(group, m))]);
    this.openBytes.set(m.to, bytes + size);
  }

  /**
   * `m`'s entries encoded (once per group and range in this stage) when it has two or more;
   * a single entry is cheaper in the v1 form, even encoded per follower (wire-micro.ts).
   */
  private entryBytes(group: GroupId, m: Message): Uint8Array | undefined {
    const entries = m.entries;
    if (entries === undefined || entries.length < 2) return undefined;
    const first = entries[0]!.index;
    const last = entries[entries.length - 1]!;
    const prev = this.encoded.get(group);
    if (prev !== undefined && prev.first === first && prev.last === last.index && prev.term === last.term) {
      return prev.bytes;
    }
    this.arena ??= new ByteArena();
    const bytes = encodeEntries(entries, this.arena);
    this.encoded.set(group, { first, last: last.index, term: last.term, bytes });
    return bytes;
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
    this.encoded.clear();
    this.arena = undefined;
  }
}

/** A range of one group's entries, encoded (see Outbox.encoded). */
interface EncodedEntries {
  readonly first: number;
  readonly last: number;
  readonly term: number;
  readonly bytes: Uint8Array;
}

/**
 * Decodes and validates an incoming "raft" payload that arrived on `link` (peers are
 * authenticated, but be strict): the pairs, or undefined when any message is malformed or of
 * an unknown wire version. Also accepts the earlier builds' forms (see wire.ts).
 */
export function decodeRaftPayload(payload: unknown, link: Link): Array<[GroupId, Message]> | undefined {
  if (!Array.isArray(payload)) return undefined;
  const out = new Array<[GroupId, Message]>(payload.length);
  for (let i = 0; i < payload.length; i++) {
    const item: unknown = payload[i];
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== "string") return undefined;
    const m = Array.isArray(item[1]) ? decodeMessage(item[1], link) : legacyMessage(item[1]);
    if (m === undefined) return undefined;
    out[i] = [item[0], m];
  }
  return out;
}

/** The map form of the builds before session 2, checked as loosely as that build checked it. */
function legacyMessage(v: unknown): Message | undefined {
  const m = v as Partial<Message> | null;
  if (m === null || typeof m !== "object" || typeof m.type !== "number" || typeof m.term !== "number") {
    return undefined;
  }
  return m as Message;
}
