import { describe, expect, it } from "vitest";
import { parseConfig } from "./config/parse.js";
import { brokerSettings } from "./node.js";

describe("the broker's settings from the node config", () => {
  it("carries the node-down grace period, the proposal timeout and the group size", () => {
    const config = parseConfig({
      argv: ["--node-down-grace-ms", "2500", "--raft-proposal-timeout-ms", "700"],
      env: { WARREN_QUORUM_INITIAL_GROUP_SIZE: "5" },
    });
    expect(brokerSettings(config)).toMatchObject({
      nodeDownGraceMs: 2500,
      proposalTimeoutMs: 700,
      initialGroupSize: 5,
    });
  });
});
