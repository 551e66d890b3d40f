import { describe, expect, it } from "vitest";
import type { RaftHost } from "../../raft/host/index.js";
import { noopLogger } from "../../raft/logger.js";
import { effectiveLeaderLocator, locatorFromArgument } from "./leader-locator.js";
import { placeReplicas } from "./placement.js";
import { Rebalancer } from "./rebalancer.js";

const nodes = ["n1", "n2", "n3", "n4", "n5"];
/** n1 leads the most queues, n4 the fewest; n5 hosts the most replicas. */
const load = new Map([
  ["n1", { replicas: 4, leaders: 4 }],
  ["n2", { replicas: 4, leaders: 2 }],
  ["n3", { replicas: 3, leaders: 2 }],
  ["n4", { replicas: 3, leaders: 0 }],
  ["n5", { replicas: 9, leaders: 1 }],
]);

describe("leader locator (x-queue-leader-locator, else queueLeaderLocator, else client-local)", () => {
  it("the argument wins over the setting; old values mean balanced; the default is client-local", () => {
    expect(effectiveLeaderLocator({ "x-queue-leader-locator": "balanced" }, "client-local")).toBe("balanced");
    expect(effectiveLeaderLocator({ "x-queue-leader-locator": "client-local" }, "balanced")).toBe(
      "client-local",
    );
    expect(effectiveLeaderLocator({}, "balanced")).toBe("balanced");
    expect(effectiveLeaderLocator({}, undefined)).toBe("client-local");
    expect(locatorFromArgument("random")).toBe("balanced");
    expect(locatorFromArgument("least-leaders")).toBe("balanced");
    expect(locatorFromArgument(undefined)).toBeUndefined();
  });

  it("client-local leads on the client's node, even the busiest; replicas still spread by load", () => {
    const p = placeReplicas({ nodes, load, seed: "q", leaderLocator: "client-local", clientNode: "n1" });
    expect(p.leader).toBe("n1");
    // The other two: the fewest replicas (n4 and n3, n4 leading fewer), not the busy n5.
    expect(p.members).toEqual(["n1", "n4", "n3"]);
  });

  it("balanced leads on the node leading the fewest queues, wherever the client is", () => {
    const p = placeReplicas({ nodes, load, seed: "q", leaderLocator: "balanced", clientNode: "n1" });
    expect(p.leader).toBe("n4");
    expect(p.members[0]).toBe("n4");
  });

  it("falls back to balanced when the client's node cannot host a replica", () => {
    const up = nodes.filter((n) => n !== "n1");
    const p = placeReplicas({ nodes: up, load, seed: "q", leaderLocator: "client-local", clientNode: "n1" });
    expect(p.leader).toBe("n4");
    expect(p.members).not.toContain("n1");
  });
});

describe("rebalancer and client-local queues", () => {
  /** A host where n1 leads every group, recording the transfers asked of it. */
  function run(pinned: boolean) {
    const transfers: { group: string; to: string }[] = [];
    const host = {
      leaderOf: () => "n1",
      transferLeadership: async (group: string, to: string) => {
        transfers.push({ group, to });
      },
    } as unknown as RaftHost;
    const groups = Array.from({ length: 6 }, (_, i) => ({
      group: `q${i}`,
      members: ["n1", "n2", "n3"],
      pinned,
    }));
    const r = new Rebalancer({
      nodeId: "n1",
      host,
      groups: () => groups,
      upNodes: () => ["n1", "n2", "n3"],
      logger: noopLogger,
    });
    return { transfers, once: () => r.runOnce() };
  }

  it("never moves the leadership of a client-local queue", async () => {
    const { transfers, once } = run(true);
    expect(await once()).toBe(false);
    expect(transfers).toEqual([]);
  });

  it("evens out balanced queues", async () => {
    const { transfers, once } = run(false);
    expect(await once()).toBe(true);
    expect(transfers.filter((t) => t.to === "n2")).toHaveLength(2);
    expect(transfers.filter((t) => t.to === "n3")).toHaveLength(2);
  });
});
