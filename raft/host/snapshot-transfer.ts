/**
 * InstallSnapshot on the wire (Raft Figure 13, chunked): a MsgSnap never travels as one
 * frame. The sender streams the snapshot's state data in chunks (SNAPSHOT_CHUNK_BYTES by default),
 * then the live entries it names (read back from the log), then an `end` frame carrying the
 * MsgSnap itself without its data. The receiver acknowledges every frame; the sender keeps at
 * most SNAPSHOT_WINDOW frames unacknowledged, which bounds memory on both sides and in the
 * transport's per-peer queue. On `end` the receiver reassembles the snapshot and steps the
 * MsgSnap into its core; its live entries wait on the group until the core hands the
 * snapshot back in a Ready, so both are persisted in one batch.
 *
 * The outcome is reported to the leader's core with `reportSnapshot(peer, ok)`: ok once `end`
 * is acknowledged, failed on a missing ack within SNAPSHOT_ACK_TIMEOUT_MS, a dropped frame,
 * the peer going down, or an abort from the receiver (it restarted mid-transfer, saw a gap).
 */
import type { Entry, GroupId, Message, NodeId, Snapshot } from "../core/types.js";
import type { Logger } from "../logger.js";
import type { Transport } from "../transport/index.js";
import { SNAPSHOT_CHUNK_BYTES } from "./options.js";

/** The transport channel of snapshot transfers (separate from "raft" so chunks never delay votes). */
export const SNAPSHOT_CHANNEL = "raft-snap";
/** Frames in flight per transfer. */
export const SNAPSHOT_WINDOW = 4;
/** A transfer fails if a frame is not acknowledged within this time. */
export const SNAPSHOT_ACK_TIMEOUT_MS = 10_000;

/** Frames of the "raft-snap" channel. `id` tells transfers of the same group apart. */
export type SnapshotFrame =
  | {
      readonly k: "chunk";
      readonly g: GroupId;
      readonly id: number;
      readonly seq: number;
      readonly data: Uint8Array;
    }
  | {
      readonly k: "live";
      readonly g: GroupId;
      readonly id: number;
      readonly seq: number;
      readonly entries: Entry[];
    }
  | {
      readonly k: "end";
      readonly g: GroupId;
      readonly id: number;
      readonly seq: number;
      readonly msg: Message;
    }
  | { readonly k: "ack"; readonly g: GroupId; readonly id: number; readonly seq: number }
  | { readonly k: "abort"; readonly g: GroupId; readonly id: number };

/** What the transfer machinery needs from the host. */
export interface SnapshotHooks {
  /** Reads an entry (in-memory log first, then storage): live entries to ship. */
  readEntry(group: GroupId, index: number): Promise<Entry | undefined>;
  /** Sender side: the transfer to `peer` finished (`ok`) or failed. */
  reportSnapshot(group: GroupId, peer: NodeId, ok: boolean): void;
  /** Receiver side: a whole snapshot arrived; step `msg` (with its data) after keeping `live`. */
  deliver(from: NodeId, group: GroupId, msg: Message, live: Entry[]): void;
}

interface Outgoing {
  readonly id: number;
  acked: number;
  failed: string | undefined;
  wake: (() => void) | undefined;
}

interface Incoming {
  readonly id: number;
  nextSeq: number;
  readonly parts: Uint8Array[];
  readonly live: Entry[];
}

export class SnapshotTransfers {
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly incoming = new Map<string, Incoming>();
  private nextId = 1;

  constructor(
    private readonly transport: Transport,
    private readonly hooks: SnapshotHooks,
    private readonly logger: Logger,
    /** Bytes of state data (or of live entries) per frame. */
    private readonly chunkBytes: number = SNAPSHOT_CHUNK_BYTES,
  ) {}

  /** Starts sending the MsgSnap `m` of `group` unless a transfer to that peer is already running. */
  send(group: GroupId, m: Message): void {
    const key = `${m.to}\u0000${group}`;
    if (this.outgoing.has(key) || m.snapshot === undefined) return;
    const t: Outgoing = { id: this.nextId++, acked: -1, failed: undefined, wake: undefined };
    this.outgoing.set(key, t);
    this.run(group, m, m.snapshot, t).then(
      () => this.finish(key, group, m.to, t, true),
      (err: Error) => {
        this.logger.warn({ group, peer: m.to, err: err.message }, "snapshot transfer failed");
        this.finish(key, group, m.to, t, false);
      },
    );
  }

  /** Fails every transfer to `peer` (its connection closed). */
  peerDown(peer: NodeId): void {
    for (const [key, t] of this.outgoing) {
      if (key.startsWith(`${peer}\u0000`)) this.fail(t, "peer down");
    }
    for (const key of this.incoming.keys()) if (key.startsWith(`${peer}\u0000`)) this.incoming.delete(key);
  }

  /** Fails all outgoing transfers (host stopping). */
  close(): void {
    for (const t of this.outgoing.values()) this.fail(t, "host stopped");
    this.incoming.clear();
  }

  /** Handles a frame of the "raft-snap" channel. */
  onFrame(from: NodeId, f: SnapshotFrame): void {
    const key = `${from}\u0000${f.g}`;
    if (f.k === "ack" || f.k === "abort") {
      const t = this.outgoing.get(key);
      if (t === undefined || t.id !== f.id) return;
      if (f.k === "abort") this.fail(t, "aborted by receiver");
      else if (f.seq > t.acked) {
        t.acked = f.seq;
        t.wake?.();
      }
      return;
    }
    let r = this.incoming.get(key);
    if (f.seq === 0) {
      r = { id: f.id, nextSeq: 0, parts: [], live: [] };
      this.incoming.set(key, r);
    }
    if (r === undefined || r.id !== f.id || r.nextSeq !== f.seq) {
      // A gap (a frame dropped) or a transfer begun before this process started: start over.
      this.transport.send(from, SNAPSHOT_CHANNEL, { k: "abort", g: f.g, id: f.id } satisfies SnapshotFrame);
      if (r !== undefined && r.id === f.id) this.incoming.delete(key);
      return;
    }
    r.nextSeq++;
    if (f.k === "chunk") r.parts.push(f.data);
    else if (f.k === "live") r.live.push(...f.entries);
    else {
      this.incoming.delete(key);
      const snap = f.msg.snapshot;
      if (snap === undefined) return;
      const data = concat(r.parts);
      this.hooks.deliver(from, f.g, { ...f.msg, snapshot: { ...snap, data } }, r.live);
    }
    this.transport.send(from, SNAPSHOT_CHANNEL, {
      k: "ack",
      g: f.g,
      id: f.id,
      seq: f.seq,
    } satisfies SnapshotFrame);
  }

  private async run(group: GroupId, m: Message, snap: Snapshot, t: Outgoing): Promise<void> {
    let seq = 0;
    const emit = async (frame: SnapshotFrame): Promise<void> => {
      await this.waitWindow(t, seq - SNAPSHOT_WINDOW);
      if (!this.transport.send(m.to, SNAPSHOT_CHANNEL, frame)) throw new Error("transport dropped a chunk");
      seq++;
    };
    // Always at least one chunk: frame 0 opens the transfer on the receiver.
    const total = snap.data.byteLength;
    let off = 0;
    do {
      const end = Math.min(off + this.chunkBytes, total);
      await emit({ k: "chunk", g: group, id: t.id, seq, data: snap.data.subarray(off, end) });
      off = end;
    } while (off < total);
    let batch: Entry[] = [];
    let bytes = 0;
    for (const index of snap.live) {
      const e = await this.hooks.readEntry(group, index);
      if (e === undefined) throw new Error(`live entry ${index} is missing`);
      batch.push(e);
      bytes += e.data.byteLength + 32;
      if (bytes >= this.chunkBytes) {
        await emit({ k: "live", g: group, id: t.id, seq, entries: batch });
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length > 0) await emit({ k: "live", g: group, id: t.id, seq, entries: batch });
    const msg: Message = { ...m, snapshot: { ...snap, data: new Uint8Array(0) } };
    await emit({ k: "end", g: group, id: t.id, seq, msg });
    await this.waitWindow(t, seq - 1);
  }

  /** Resolves once frame `seq` (and all before) is acknowledged; rejects on failure or timeout. */
  private async waitWindow(t: Outgoing, seq: number): Promise<void> {
    while (t.acked < seq) {
      if (t.failed !== undefined) throw new Error(t.failed);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          if (t.failed === undefined) t.failed = "acknowledgement timed out";
          resolve();
        }, SNAPSHOT_ACK_TIMEOUT_MS);
        t.wake = () => {
          clearTimeout(timer);
          t.wake = undefined;
          resolve();
        };
      });
    }
    if (t.failed !== undefined) throw new Error(t.failed);
  }

  private fail(t: Outgoing, reason: string): void {
    if (t.failed === undefined) t.failed = reason;
    t.wake?.();
  }

  private finish(key: string, group: GroupId, peer: NodeId, t: Outgoing, ok: boolean): void {
    if (this.outgoing.get(key) === t) this.outgoing.delete(key);
    this.hooks.reportSnapshot(group, peer, ok);
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}
