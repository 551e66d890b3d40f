/**
 * InstallSnapshot in chunks: a snapshot travels as many bounded frames and arrives whole, or
 * the leader is told the transfer failed (so it retries) — never half a snapshot.
 */
import { describe, expect, it } from "vitest";
import type { Entry, Message, Snapshot } from "../../core/types.js";
import { MessageType } from "../../core/types.js";
import { noopLogger } from "../../logger.js";
import type { Transport } from "../../transport/index.js";
import { SNAPSHOT_CHANNEL, type SnapshotFrame, SnapshotTransfers } from "../snapshot-transfer.js";
import { waitUntil } from "./cluster.js";

interface Delivered {
  msg: Message;
  live: Entry[];
}

/** Two SnapshotTransfers joined by an in-memory "transport" that can lose frames. */
function pair(chunkBytes: number, drop: (f: SnapshotFrame) => boolean = () => false) {
  const reports: boolean[] = [];
  const delivered: Delivered[] = [];
  const frames: SnapshotFrame[] = [];
  const entries = new Map<number, Entry>();
  let leader: SnapshotTransfers;
  let follower: SnapshotTransfers;
  const link = (from: string, to: () => SnapshotTransfers) =>
    ({
      send(_peer: string, channel: string, payload: unknown) {
        expect(channel).toBe(SNAPSHOT_CHANNEL);
        const f = payload as SnapshotFrame;
        frames.push(f);
        if (!drop(f)) queueMicrotask(() => to().onFrame(from, f));
        return true;
      },
    }) as unknown as Transport;
  leader = new SnapshotTransfers(
    link("n1", () => follower),
    {
      readEntry: async (_g, index) => entries.get(index),
      reportSnapshot: (_g, _peer, ok) => reports.push(ok),
      deliver: () => {},
    },
    noopLogger,
    chunkBytes,
  );
  follower = new SnapshotTransfers(
    link("n2", () => leader),
    {
      readEntry: async () => undefined,
      reportSnapshot: () => {},
      deliver: (_from, _g, msg, live) => delivered.push({ msg, live }),
    },
    noopLogger,
    chunkBytes,
  );
  return { leader, reports, delivered, frames, entries };
}

function snapshot(bytes: number, live: number[]): Snapshot {
  const data = new Uint8Array(bytes).map((_, i) => i % 251);
  return { meta: { index: 100, term: 3, conf: { voters: ["n1", "n2", "n3"], learners: [] } }, data, live };
}

const msgSnap = (s: Snapshot): Message => ({
  type: MessageType.MsgSnap,
  to: "n2",
  from: "n1",
  term: 3,
  snapshot: s,
});

describe("SnapshotTransfers", () => {
  it("ships the state data and the live entries in bounded frames and reassembles them exactly", async () => {
    const t = pair(1000);
    const live = [10, 20, 30, 40, 50];
    for (const i of live) t.entries.set(i, { index: i, term: 2, type: 0, data: new Uint8Array(600).fill(i) });
    const s = snapshot(10_500, live);
    t.leader.send("q", msgSnap(s));
    await waitUntil(() => t.reports.length === 1, "the transfer to finish");
    expect(t.reports).toEqual([true]);
    expect(t.delivered).toHaveLength(1);
    const got = t.delivered[0]!;
    expect(got.msg.snapshot!.data).toEqual(s.data);
    expect(got.msg.snapshot!.meta).toEqual(s.meta);
    expect(got.live.map((e) => e.index)).toEqual(live);
    expect(got.live[2]!.data).toEqual(new Uint8Array(600).fill(30));
    // 11 data chunks, live entries two per frame, one end frame; no frame above the chunk size.
    const sent = t.frames.filter((f) => f.k !== "ack");
    expect(sent.filter((f) => f.k === "chunk")).toHaveLength(11);
    expect(sent.filter((f) => f.k === "live").length).toBeGreaterThan(1);
    for (const f of sent) if (f.k === "chunk") expect(f.data.byteLength).toBeLessThanOrEqual(1000);
  });

  it("reports failure and delivers nothing when a frame is lost", async () => {
    const t = pair(1000, (f) => f.k === "chunk" && f.seq === 2);
    t.leader.send("q", msgSnap(snapshot(10_000, [])));
    await waitUntil(() => t.reports.length === 1, "the transfer to fail");
    expect(t.reports).toEqual([false]);
    expect(t.delivered).toEqual([]);
  });

  it("fails a transfer whose peer went down", async () => {
    // Frames to the follower vanish, so the transfer waits for acks until the peer is reported down.
    const t = pair(1000, () => true);
    t.leader.send("q", msgSnap(snapshot(10_000, [])));
    await Promise.resolve();
    t.leader.peerDown("n2");
    await waitUntil(() => t.reports.length === 1, "the transfer to fail");
    expect(t.reports).toEqual([false]);
  });
});
