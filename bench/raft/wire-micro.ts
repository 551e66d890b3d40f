/**
 * Micro-benchmark of a Raft message's wire cost: CPU per message to encode a "raft" payload
 * into a transport frame and to decode it back into messages, for the map form (each message
 * a msgpack map with the Message field names, the format before session 2), the tuple form
 * of raft/host/wire.ts with entries as a flat array (`tuple`), and with entries as one byte
 * string (`bytes`, what the outbox sends for two entries or more). Same codec settings as the
 * transport (connection.ts).
 *
 * Shapes: what one loop batch sends one peer: `groups` MsgApp with one or four 1 KiB entries
 * each (leader -> follower), and `groups` MsgAppResp (follower -> leader).
 *
 *   tsx bench/raft/wire-micro.ts [--form map|tuple|bytes] [--rounds N]
 *
 * With `--form`, only that form runs (for `perf stat -e instructions` of one form); the
 * encode + decode total is printed as one JSON line per shape.
 */
import { Unpackr } from "msgpackr";
import type { Message } from "../../raft/core/types.js";
import { EntryType, MessageType } from "../../raft/core/types.js";
import { decodeRaftPayload } from "../../raft/host/outbox.js";
import { encodeEntries, encodeMessage } from "../../raft/host/wire.js";
import { packFrame } from "../../raft/transport/connection.js";
import { FRAME_HEADER_BYTES } from "../../raft/transport/frame.js";

const unpackr = new Unpackr({ useRecords: false, copyBuffers: true });

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const forms = arg("--form") !== undefined ? [arg("--form")!] : ["map", "tuple", "bytes"];
const rounds = Number(arg("--rounds") ?? 20_000);

const data = new Uint8Array(1024).fill(7);
const appOf =
  (n: number) =>
  (i: number): Message => ({
    type: MessageType.MsgApp,
    to: "n2",
    from: "n1",
    term: 5,
    logTerm: 5,
    index: 100_000 + i,
    commit: 99_990 + i,
    entries: Array.from({ length: n }, (_, k) => ({
      term: 5,
      index: 100_001 + i + k,
      type: EntryType.Normal,
      data,
    })),
  });
const resp = (i: number): Message => ({
  type: MessageType.MsgAppResp,
  to: "n1",
  from: "n2",
  term: 5,
  index: 100_001 + i,
  commit: 99_990 + i,
});

const shapes = [
  { name: "MsgApp 1 KiB", groups: 1, make: appOf(1) },
  { name: "MsgApp 1 KiB", groups: 64, make: appOf(1) },
  { name: "MsgApp 4 x 1 KiB", groups: 64, make: appOf(4) },
  { name: "MsgAppResp", groups: 64, make: resp },
];

function cpuUs(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const t = process.cpuUsage(t0);
  return t.user + t.system;
}

for (const shape of shapes) {
  const msgs = Array.from({ length: shape.groups }, (_, i) => [`g${i}`, shape.make(i)] as const);
  const n = Math.max(200, Math.floor(rounds / shape.groups)) * shape.groups;
  for (const form of forms) {
    // What the outbox hands the transport, built per round as the host does.
    const payload = (): unknown =>
      form === "map"
        ? msgs.map(([g, m]) => [g, m])
        : msgs.map(([g, m]) => [
            g,
            encodeMessage(
              m,
              form === "bytes" && m.entries !== undefined ? encodeEntries(m.entries) : undefined,
            ),
          ]);
    let frame = packFrame(["raft", payload()]);
    const iterations = n / shape.groups;
    for (let i = 0; i < iterations / 10; i++) packFrame(["raft", payload()]); // warm-up
    const enc = cpuUs(() => {
      for (let i = 0; i < iterations; i++) frame = packFrame(["raft", payload()]);
    });
    const body = frame.subarray(FRAME_HEADER_BYTES);
    const decodeOnce = (): void => {
      const [, p] = unpackr.unpack(body) as [string, unknown];
      if (decodeRaftPayload(p, { from: "n1", to: "n2" }) === undefined)
        throw new Error("payload did not decode");
    };
    for (let i = 0; i < iterations / 10; i++) decodeOnce();
    const dec = cpuUs(() => {
      for (let i = 0; i < iterations; i++) decodeOnce();
    });
    console.log(
      JSON.stringify({
        shape: shape.name,
        groups: shape.groups,
        form,
        encodeUsPerMsg: +(enc / n).toFixed(3),
        decodeUsPerMsg: +(dec / n).toFixed(3),
        bytesPerMsg: Math.round(body.length / shape.groups),
      }),
    );
  }
}
