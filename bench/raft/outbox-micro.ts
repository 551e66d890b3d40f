/**
 * Micro-benchmark of what a leader's MsgApps cost on the wire, the way the host sends them:
 * `groups` groups, each with a MsgApp of `entries` 1 KiB entries to each of two followers,
 * through the Outbox (which encodes a group's entries once for both), the transport's frame
 * codec, and decodeRaftPayload on the receiving side; `rounds` times. Meant for
 * `perf stat -e instructions:u` (start-up measured with rounds = 0 and subtracted):
 *
 *   perf stat -e instructions:u npx tsx bench/raft/outbox-micro.ts 64 4 1000   # groups entries rounds
 *
 * (instructions(rounds) - instructions(0)) / (rounds * groups * 2 * entries) is the cost per
 * entry and follower. BENCH_ROOT runs another checkout's code (see in-process.ts).
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Unpackr } from "msgpackr";
import { EntryType, type Message, MessageType } from "../../raft/core/types.js";

const root = process.env.BENCH_ROOT ?? resolve(fileURLToPath(import.meta.url), "../../..");
const { Outbox, decodeRaftPayload } = (await import(
  `${root}/raft/host/outbox.ts`
)) as typeof import("../../raft/host/outbox.js");
const { packFrame } = (await import(
  `${root}/raft/transport/connection.ts`
)) as typeof import("../../raft/transport/connection.js");
const { FRAME_HEADER_BYTES } = await import("../../raft/transport/frame.js");

const groups = Number(process.argv[2] ?? 64);
const perMsg = Number(process.argv[3] ?? 4);
const rounds = Number(process.argv[4] ?? 1000);
// The transport's decoder settings (connection.ts).
const unpackr = new Unpackr({ useRecords: false, copyBuffers: true });
const data = new Uint8Array(1024).fill(7);
const msgs: Array<[string, Message]> = [];
for (let g = 0; g < groups; g++) {
  for (const to of ["n2", "n3"]) {
    const entries = Array.from({ length: perMsg }, (_, i) => ({
      term: 5,
      index: 1001 + i,
      type: EntryType.Normal,
      data,
    }));
    msgs.push([
      `g${g}`,
      { type: MessageType.MsgApp, to, from: "n1", term: 5, logTerm: 5, index: 1000, commit: 990, entries },
    ]);
  }
}
// The previous build's decodeRaftPayload took the payload only; an extra argument is ignored.
const decode = decodeRaftPayload as (p: unknown, link: { from: string; to: string }) => unknown[] | undefined;
let decoded = 0;
for (let r = 0; r < rounds; r++) {
  const out = new Outbox();
  for (const [g, m] of msgs) out.add(g, m);
  const frames: Buffer[] = [];
  const transport = {
    send: (_to: string, channel: string, payload: unknown) => frames.push(packFrame([channel, payload])) > 0,
  };
  out.send(transport as never, () => {});
  for (const f of frames) {
    const [, payload] = unpackr.unpack(f.subarray(FRAME_HEADER_BYTES)) as [string, unknown];
    decoded += decode(payload, { from: "n1", to: "n2" })?.length ?? 0;
  }
}
if (decoded !== rounds * msgs.length) throw new Error(`decoded ${decoded} messages`);
