import fc from "fast-check";
import { Packr, Unpackr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { EntryType, type Message, MessageType } from "../../core/types.js";
import { decodeRaftPayload, Outbox, RAFT_CHANNEL } from "../outbox.js";
import { decodeMessage, encodeMessage, WIRE_V1 } from "../wire.js";

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

describe("raft wire form", () => {
  it("every message survives encode -> msgpack -> decode unchanged", () => {
    fc.assert(
      fc.property(message, (m) => {
        const back = decodeMessage(overTheWire(encodeMessage(m)));
        expect(back).toBeDefined();
        expect(plain(back!)).toEqual(plain(m));
      }),
    );
  });

  it("is smaller than the map form for an append response", () => {
    const m: Message = {
      type: MessageType.MsgAppResp,
      to: "n1",
      from: "n2",
      term: 7,
      index: 1234,
      commit: 1230,
    };
    const wire = encodeMessage(m);
    expect(wire).toEqual([WIRE_V1, MessageType.MsgAppResp, "n1", "n2", 7, null, 1234, 1230]);
    expect(packr.pack(wire).length).toBeLessThan(packr.pack(m).length / 2);
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
    const good = encodeMessage({
      type: MessageType.MsgApp,
      to: "n2",
      from: "n1",
      term: 2,
      logTerm: 2,
      index: 5,
      commit: 5,
      entries: [{ term: 2, index: 6, type: EntryType.Normal, data: new Uint8Array([1]) }],
    });
    expect(decodeMessage(good)).toBeDefined();
    const bad = (i: number, v: unknown): unknown[] => good.map((x, j) => (j === i ? v : x));
    expect(decodeMessage(bad(0, 2))).toBeUndefined(); // a future version
    expect(decodeMessage(bad(1, "3"))).toBeUndefined();
    expect(decodeMessage(bad(2, 5))).toBeUndefined();
    expect(decodeMessage(bad(4, -1))).toBeUndefined();
    expect(decodeMessage(bad(6, 1.5))).toBeUndefined();
    expect(decodeMessage(bad(8, [2, 6, 0]))).toBeUndefined(); // not a multiple of 4
    expect(decodeMessage(bad(8, [2, 6, 0, "x"]))).toBeUndefined(); // data not bytes
    expect(decodeMessage([WIRE_V1, 3, "n2"])).toBeUndefined();
    expect(decodeMessage({ type: 3 })).toBeUndefined();
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
    expect(decodeRaftPayload(overTheWire(sent[0]![2]))).toEqual([
      ["g1", a],
      ["g2", b],
    ]);
  });

  it("accepts the previous build's map form and drops a payload with any bad message", () => {
    const m: Message = { type: MessageType.MsgHeartbeatResp, to: "n1", from: "n2", term: 3 };
    expect(decodeRaftPayload([["g1", m]])).toEqual([["g1", m]]);
    expect(decodeRaftPayload([])).toEqual([]);
    expect(
      decodeRaftPayload([
        ["g1", encodeMessage(m)],
        ["g2", [WIRE_V1 + 1]],
      ]),
    ).toBeUndefined();
    expect(decodeRaftPayload([["g1", { type: "x", term: 1 }]])).toBeUndefined();
    expect(decodeRaftPayload([[1, encodeMessage(m)]])).toBeUndefined();
    expect(decodeRaftPayload({})).toBeUndefined();
  });
});
