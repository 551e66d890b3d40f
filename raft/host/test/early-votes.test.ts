import { describe, expect, it } from "vitest";
import { type Message, MessageType } from "../../core/types.js";
import { EARLY_VOTE_TTL_MS, EarlyVotes } from "../early-votes.js";

const msg = (type: MessageType, term = 1): Message => ({ type, to: "n2", from: "n1", term });

describe("EarlyVotes", () => {
  it("holds vote and pre-vote requests only, and hands them out once, oldest first", () => {
    const e = new EarlyVotes();
    e.hold("g", "n1", msg(MessageType.MsgPreVote), 0);
    e.hold("g", "n1", msg(MessageType.MsgApp), 1);
    e.hold("g", "n1", msg(MessageType.MsgHeartbeat), 1);
    e.hold("g", "n1", msg(MessageType.MsgVote), 2);
    e.hold("h", "n3", msg(MessageType.MsgAppResp), 2);
    expect(e.size).toBe(1);
    expect(e.take("g", 3).map((h) => h.m.type)).toEqual([MessageType.MsgPreVote, MessageType.MsgVote]);
    expect(e.take("g", 3)).toEqual([]);
    expect(e.size).toBe(0);
  });

  it("drops requests older than the TTL and keeps the last few per group", () => {
    const e = new EarlyVotes();
    e.hold("g", "n1", msg(MessageType.MsgPreVote, 1), 0);
    for (let t = 2; t <= 11; t++) e.hold("g", "n1", msg(MessageType.MsgPreVote, t), EARLY_VOTE_TTL_MS);
    const got = e.take("g", EARLY_VOTE_TTL_MS + 1);
    // The stale one is gone (too old, and pushed out: 8 per group).
    expect(got.map((h) => h.m.term)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it("is bounded in groups: expired groups go first, else the oldest", () => {
    const e = new EarlyVotes();
    for (let i = 0; i < 1024; i++)
      e.hold(`g${i}`, "n1", msg(MessageType.MsgVote), i === 0 ? 0 : EARLY_VOTE_TTL_MS);
    e.hold("new", "n1", msg(MessageType.MsgVote), EARLY_VOTE_TTL_MS + 1);
    expect(e.size).toBe(1024);
    expect(e.take("g0", EARLY_VOTE_TTL_MS + 1)).toEqual([]);
    e.hold("newer", "n1", msg(MessageType.MsgVote), EARLY_VOTE_TTL_MS + 2);
    expect(e.size).toBe(1024);
    expect(e.take("g1", EARLY_VOTE_TTL_MS + 2)).toEqual([]);
    expect(e.take("newer", EARLY_VOTE_TTL_MS + 2)).toHaveLength(1);
  });
});
