import fc from "fast-check";
import { Packr, Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { EntryType, type Message, MessageType } from "../../core/types.js";
import { decodeRaftPayload, Outbox, RAFT_CHANNEL } from "../outbox.js";
import { decodeMessage, encodeEntries, encodeMessage, WIRE_V1, WIRE_V2 } from "../wire.js";

// The transport's codec settings (raft/transport/connection.ts), so the round trip is the real one.
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, copyBuffers: true });
const overTheWire = (v: unknown): unknown => unpackr.unpack(packr.pack(v));

/** Normalises byte fields to plain Uint8Array so a Buffer and a Uint8Array compare equal. */
function plain(m: Message): unknown {
  return {
    ...m,
    ...(m.entries !== undefined && { entries: m.entries.map((e) => ({ ...e, data: [...e.data] })) }),
    ...(m.context !== undefined && { context: [...m.context] }),
  };
}

const idx = fc.nat({ max: 2 ** 40 });
const message: fc.Arbitrary<Message> = fc.record(
  {
    type: fc.constantFrom(...Object.values(MessageType).filter((t) => t !== MessageType.MsgSnap)),
    to: fc.constantFrom("n1", "n2", "node-3"),
    from: fc.constantFrom("n1", "n2", "node-3"),
    term: idx,
    logTerm: idx,
    index: idx,
    commit: idx,
    entries: fc.array(
      fc.record({
        term: idx,
        index: idx,
        type: fc.constantFrom(...Object.values(EntryType)),
        data: fc.uint8Array({ maxLength: 40 }),
      }),
      { maxLength: 4 },
    ),
    reject: fc.boolean(),
    rejectHint: idx,
    logTermHint: idx,
    context: fc.uint8Array({ minLength: 1, maxLength: 8 }),
    quiesce: fc.boolean(),
  },
  { requiredKeys: ["type", "to", "from", "term"] },
);

/** The link a message from `m.from` to `m.to` travels on. */
const linkOf = (m: Message) => ({ from: m.from, to: m.to });
const N1_TO_N2 = { from: "n1", to: "n2" };

describe("raft wire form", () => {
  it("every message survives encode -> msgpack -> decode unchanged, entries flat or as bytes", () => {
    fc.assert(
      fc.property(message, (m) => {
        const flat = decodeMessage(overTheWire(encodeMessage(m)), linkOf(m));
        expect(flat).toBeDefined();
        expect(plain(flat!)).toEqual(plain(m));
        if (m.entries === undefined) return;
        const bytes = decodeMessage(overTheWire(encodeMessage(m, encodeEntries(m.entries))), linkOf(m));
        expect(bytes).toBeDefined();
        expect(plain(bytes!)).toEqual(plain(m));
      }),
    );
  });

  it("leaves out sender and receiver (the link names them) and is far smaller than the map form", () => {
    const m: Message = {
      type: MessageType.MsgAppResp,
      to: "n1",
      from: "n2",
      term: 7,
      index: 1234,
      commit: 1230,
    };
    const wire = encodeMessage(m);
    expect(wire).toEqual([WIRE_V2, MessageType.MsgAppResp, 7, null, 1234, 1230]);
    expect(packr.pack(wire).length).toBeLessThan(packr.pack(m).length / 2);
    expect(decodeMessage(overTheWire(wire), { from: "n2", to: "n1" })).toEqual(m);
  });

  it("refuses to carry a MsgSnap (it has its own channel)", () => {
    const snap: Message = {
      type: MessageType.MsgSnap,
      to: "n2",
      from: "n1",
      term: 1,
      snapshot: {
        meta: { index: 1, term: 1, conf: { voters: ["n1"], learners: [] } },
        data: new Uint8Array(),
        live: [],
      },
    } as Message;
    expect(() => encodeMessage(snap)).toThrow(/MsgSnap/);
  });

  it("rejects unknown versions and malformed fields", () => {
    const entries = [
      { term: 2, index: 6, type: EntryType.Normal, data: new Uint8Array([1]) },
      { term: 2, index: 7, type: EntryType.Normal, data: new Uint8Array([2]) },
    ];
    const good = encodeMessage(
      { type: MessageType.MsgApp, to: "n2", from: "n1", term: 2, logTerm: 2, index: 5, commit: 5, entries },
      encodeEntries(entries),
    );
    expect(decodeMessage(good, N1_TO_N2)).toBeDefined();
    const bad = (i: number, v: unknown): unknown[] => good.map((x, j) => (j === i ? v : x));
    expect(decodeMessage(bad(0, WIRE_V2 + 1), N1_TO_N2)).toBeUndefined(); // a future version
    expect(decodeMessage(bad(1, "3"), N1_TO_N2)).toBeUndefined();
    expect(decodeMessage(bad(2, -1), N1_TO_N2)).toBeUndefined();
    expect(decodeMessage(bad(4, 1.5), N1_TO_N2)).toBeUndefined();
    expect(decodeMessage(bad(6, [2, 6, 0]), N1_TO_N2)).toBeUndefined(); // not a multiple of 4
    expect(decodeMessage(bad(6, [2, 6, 0, "x"]), N1_TO_N2)).toBeUndefined(); // data not bytes
    expect(decodeMessage(bad(6, "x"), N1_TO_N2)).toBeUndefined();
    expect(decodeMessage([WIRE_V2, 3], N1_TO_N2)).toBeUndefined();
    expect(decodeMessage({ type: 3 }, N1_TO_N2)).toBeUndefined();
  });

  it("rejects an entries byte string that is cut short or holds a bad index or term", () => {
    const bytes = encodeEntries([
      { term: 2, index: 6, type: EntryType.Normal, data: new Uint8Array([1, 2, 3]) },
      { term: 2, index: 7, type: EntryType.Normal, data: new Uint8Array([4]) },
    ]);
    const app = (entries: Uint8Array): unknown[] => [WIRE_V2, MessageType.MsgApp, 2, 2, 5, 5, entries];
    expect(decodeMessage(app(bytes), N1_TO_N2)!.entries!.map((e) => [e.index, [...e.data]])).toEqual([
      [6, [1, 2, 3]],
      [7, [4]],
    ]);
    expect(decodeMessage(app(bytes.subarray(0, bytes.length - 1)), N1_TO_N2)).toBeUndefined(); // data cut
    expect(decodeMessage(app(bytes.subarray(0, 30)), N1_TO_N2)).toBeUndefined(); // header cut
    const negative = Uint8Array.from(bytes);
    new DataView(negative.buffer).setFloat64(0, -6);
    expect(decodeMessage(app(negative), N1_TO_N2)).toBeUndefined();
    const fraction = Uint8Array.from(bytes);
    new DataView(fraction.buffer).setFloat64(8, 2.5);
    expect(decodeMessage(app(fraction), N1_TO_N2)).toBeUndefined();
  });

  it("still decodes the v1 form (sender and receiver in the tuple), and rejects a malformed one", () => {
    const v1 = [WIRE_V1, MessageType.MsgApp, "n2", "n1", 2, 2, 5, 5, [2, 6, 0, new Uint8Array([1])]];
    const other = { from: "n3", to: "n4" };
    expect(decodeMessage(v1, other)).toEqual({
      type: MessageType.MsgApp,
      to: "n2",
      from: "n1",
      term: 2,
      logTerm: 2,
      index: 5,
      commit: 5,
      entries: [{ term: 2, index: 6, type: EntryType.Normal, data: new Uint8Array([1]) }],
    });
    const bad = (i: number, v: unknown): unknown[] => v1.map((x, j) => (j === i ? v : x));
    expect(decodeMessage(bad(2, 5), other)).toBeUndefined();
    expect(decodeMessage(bad(8, [2, 6, 0]), other)).toBeUndefined();
    expect(decodeMessage(bad(8, encodeEntries([])), other)).toBeUndefined(); // byte strings are v2 only
    expect(decodeMessage([WIRE_V1, 3, "n2"], other)).toBeUndefined();
  });
});

describe("raft payloads", () => {
  it("an outbox payload decodes back to its groups' messages, in order", () => {
    const sent: Array<[string, string, unknown]> = [];
    const transport = {
      send: (to: string, channel: string, payload: unknown) => {
        sent.push([to, channel, payload]);
        return true;
      },
    };
    const out = new Outbox();
    const a: Message = { type: MessageType.MsgHeartbeat, to: "n2", from: "n1", term: 3, commit: 9 };
    const b: Message = { type: MessageType.MsgVote, to: "n2", from: "n1", term: 4, logTerm: 3, index: 9 };
    out.add("g1", a);
    out.add("g2", b);
    out.send(transport as never, () => {});
    expect(sent).toHaveLength(1);
    expect(sent[0]![1]).toBe(RAFT_CHANNEL);
    expect(decodeRaftPayload(overTheWire(sent[0]![2]), N1_TO_N2)).toEqual([
      ["g1", a],
      ["g2", b],
    ]);
  });

  it("encodes a group's entries once for every follower they go to (two or more entries)", () => {
    const sent: unknown[] = [];
    const transport = { send: (_to: string, _ch: string, payload: unknown) => sent.push(payload) > 0 };
    const entries = [
      { term: 3, index: 10, type: EntryType.Normal, data: new Uint8Array([9, 9]) },
      { term: 3, index: 11, type: EntryType.Normal, data: new Uint8Array([8]) },
    ];
    const app = (to: string): Message => ({
      type: MessageType.MsgApp,
      to,
      from: "n1",
      term: 3,
      logTerm: 3,
      index: 9,
      commit: 9,
      entries: entries.map((e) => ({ ...e })),
    });
    const out = new Outbox();
    out.add("g1", app("n2"));
    out.add("g1", app("n3"));
    out.send(transport as never, () => {});
    const [toN2, toN3] = sent.map((p) => (p as Array<[string, unknown[]]>)[0]![1][6]);
    expect(toN2).toBeInstanceOf(Uint8Array);
    expect(toN3).toBe(toN2);
    for (const p of sent) {
      const [[, m]] = decodeRaftPayload(overTheWire(p), N1_TO_N2) as [[string, Message]];
      expect(m.entries!.map((e) => ({ ...e, data: [...e.data] }))).toEqual([
        { term: 3, index: 10, type: EntryType.Normal, data: [9, 9] },
        { term: 3, index: 11, type: EntryType.Normal, data: [8] },
      ]);
    }
  });

  it("accepts the previous build's map form and drops a payload with any bad message", () => {
    const m: Message = { type: MessageType.MsgHeartbeatResp, to: "n1", from: "n2", term: 3 };
    expect(decodeRaftPayload([["g1", m]], N1_TO_N2)).toEqual([["g1", m]]);
    expect(decodeRaftPayload([], N1_TO_N2)).toEqual([]);
    expect(
      decodeRaftPayload(
        [
          ["g1", encodeMessage(m)],
          ["g2", [WIRE_V2 + 1]],
        ],
        N1_TO_N2,
      ),
    ).toBeUndefined();
    expect(decodeRaftPayload([["g1", { type: "x", term: 1 }]], N1_TO_N2)).toBeUndefined();
    expect(decodeRaftPayload([[1, encodeMessage(m)]], N1_TO_N2)).toBeUndefined();
    expect(decodeRaftPayload({}, N1_TO_N2)).toBeUndefined();
  });
});
