/**
 * Metadata commands (declare, bind, delete) go through the metadata group's leader. When that
 * leader freezes (SIGSTOP), a command waiting on it goes to the new leader soon after its
 * election, and a command whose answer is lost is answered from this node's own replica; in
 * both cases it runs once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RPC_CHANNEL } from "../../cluster/rpc.js";
import { BrokerCluster, client, durableExchange, eventually, type TestNode } from "./harness.js";

const PROPOSAL_TIMEOUT_MS = 4000;

/** The metadata leader once every node agrees on it, and another node. */
function metaLeader(c: BrokerCluster): Promise<{ leader: TestNode; other: TestNode }> {
  return eventually("one metadata leader known everywhere", () => {
    const leaders = new Set(c.nodes.map((n) => n.host.leaderOf("meta")));
    const [leader] = leaders;
    if (leaders.size !== 1 || leader === undefined) return undefined;
    return { leader: c.node(leader), other: c.nodes.find((n) => n.id !== leader)! };
  });
}

describe("metadata commands while the metadata leader is frozen", () => {
  let c: BrokerCluster;
  let undo: (() => void) | undefined;
  beforeAll(async () => {
    c = await BrokerCluster.start(3, { proposalTimeoutMs: PROPOSAL_TIMEOUT_MS });
  });
  afterEach(() => {
    undo?.();
    undo = undefined;
    for (const n of c.nodes) c.thaw(n.id);
  });
  afterAll(async () => {
    await c.close();
  });

  it("runs a declare on the new metadata leader soon after its election", async () => {
    const { leader, other } = await metaLeader(c);
    let electedAt: number | undefined;
    other.host.onLeaderChange((g, l) => {
      if (g === "meta" && l !== undefined && l !== leader.id) electedAt ??= Date.now();
    });
    c.freeze(leader.id);
    const ctx = client(other);
    await other.broker.declareExchange(ctx, durableExchange("meta-frozen", "direct"));
    // Before: it waited out the whole proposal timeout on the frozen leader (then NO_QUORUM).
    expect(electedAt).toBeDefined();
    expect(Date.now() - electedAt!).toBeLessThan(PROPOSAL_TIMEOUT_MS / 2);
    // Read-your-writes on the node that asked.
    expect(other.broker.listExchanges("/").some((e) => e.name === "meta-frozen")).toBe(true);

    c.thaw(leader.id);
    await eventually("the exchange on the thawed node", () =>
      leader.broker.listExchanges("/").some((e) => e.name === "meta-frozen"),
    );
  });

  it("answers a command whose answer was lost from this node's replica, and runs it once", async () => {
    const { leader, other } = await metaLeader(c);
    const ctx = client(other);
    await other.broker.declareExchange(ctx, durableExchange("meta-lost", "fanout"));
    // The leader's answers to `other` are lost (its raft traffic still flows): the command
    // commits and applies everywhere, but no answer comes back.
    const t = leader.transport as unknown as { send(to: string, channel: string, payload: unknown): boolean };
    const send = t.send;
    t.send = (to, channel, payload) =>
      to === other.id && channel === RPC_CHANNEL ? true : send.call(t, to, channel, payload);
    undo = () => {
      t.send = send;
    };
    const started = Date.now();
    // A second run of the delete would fail NOT_FOUND.
    await other.broker.deleteExchange(ctx, "meta-lost", { ifUnused: false });
    // Before: it waited out the whole proposal timeout for the answer (then NO_QUORUM).
    expect(Date.now() - started).toBeLessThan(PROPOSAL_TIMEOUT_MS / 2);
    expect(other.broker.listExchanges("/").some((e) => e.name === "meta-lost")).toBe(false);
  });
});
