import { describe, expect, it } from "vitest";
import { type Message, MessageType } from "../../core/types.js";
import { withoutSupersededAcks } from "../superseded-acks.js";

const ack = (index: number, term = 2, to = "n1"): Message => ({
  type: MessageType.MsgAppResp,
  to,
  from: "n2",
  term,
  index,
});

describe("a Ready's superseded append acknowledgements", () => {
  it("keeps only the last success to a leader: it acknowledges everything the earlier ones did", () => {
    const hb: Message = { type: MessageType.MsgHeartbeatResp, to: "n1", from: "n2", term: 2 };
    expect(withoutSupersededAcks([ack(5), hb, ack(9), ack(12)])).toEqual([hb, ack(12)]);
  });

  it("never drops a rejection, nor a success of another term or to another node", () => {
    const reject: Message = { ...ack(7), reject: true, rejectHint: 4 };
    const msgs = [ack(5, 1), reject, ack(6, 2, "n3"), ack(8, 2)];
    expect(withoutSupersededAcks(msgs)).toEqual(msgs);
  });

  it("keeps a success a later one does not cover", () => {
    const msgs = [ack(9), ack(4)];
    expect(withoutSupersededAcks(msgs)).toEqual(msgs);
  });

  it("returns the same list when there is nothing to drop", () => {
    const msgs = [ack(3)];
    expect(withoutSupersededAcks(msgs)).toBe(msgs);
  });
});
