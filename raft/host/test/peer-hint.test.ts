/**
 * The failover hint a lost connection gives each group (peer-hint.ts): with one connection per
 * direction, only losing the connection that carries the leader's messages means "cannot hear
 * the leader"; a follower that can still hear it keeps it (and its lease).
 */
import { describe, expect, it } from "vitest";
import { Role } from "../../core/types.js";
import { peerDownHint } from "../peer-hint.js";

describe("peerDownHint", () => {
  it("a follower campaigns early only when the inbound connection from its leader closed", () => {
    expect(peerDownHint(Role.Follower, "n1", "n1", "inbound")).toBe("leader-lost");
    // Its acks no longer reach the leader, but the leader's heartbeats still arrive: no news.
    expect(peerDownHint(Role.Follower, "n1", "n1", "outbound")).toBeUndefined();
    expect(peerDownHint(Role.Follower, "n1", "n2", "inbound")).toBeUndefined();
    expect(peerDownHint(Role.Follower, "", "n2", "inbound")).toBeUndefined();
    expect(peerDownHint(Role.PreCandidate, "", "n1", "inbound")).toBeUndefined();
  });

  it("a leader stops streaming to a follower it can no longer reach, and only then", () => {
    expect(peerDownHint(Role.Leader, "n1", "n2", "outbound")).toBe("unreachable");
    expect(peerDownHint(Role.Leader, "n1", "n2", "inbound")).toBeUndefined();
  });
});
