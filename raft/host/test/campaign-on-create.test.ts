/**
 * CreateGroupOptions.campaign: a new group's preferred leader campaigns as it creates the group,
 * so the group has a leader within a round trip, even when the other members create theirs
 * after the campaign's requests arrived (they are held, early-votes.ts). Election timeouts are
 * set far beyond the test's deadline here: a leader can only come from that campaign.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type NodeId, Role } from "../../core/types.js";
import { TestCluster, waitUntil } from "./cluster.js";
import { ListMachine } from "./list-machine.js";

const NO_TIMEOUT_ELECTIONS = { tickMs: 10, electionTick: 100_000 };

describe("campaign at group creation", () => {
  let c: TestCluster | undefined;
  afterEach(async () => {
    await c?.close();
    c = undefined;
  });

  async function create(id: NodeId, group: string, campaign: boolean): Promise<void> {
    const n = c!.node(id);
    const machine = new ListMachine();
    n.machines.set(group, machine);
    await n.host.createGroup(group, { voters: ["n1", "n2", "n3"], machine, campaign });
  }

  it("the campaigning member leads in term 1, although the others created the group after its requests", async () => {
    c = await TestCluster.start(["n1", "n2", "n3"], NO_TIMEOUT_ELECTIONS);
    await create("n1", "g", true);
    // n1's pre-vote requests are out before n2 and n3 know the group.
    await waitUntil(
      () => c!.node("n2").host.heldVoteGroups() === 1 && c!.node("n3").host.heldVoteGroups() === 1,
      "n1's requests to reach n2 and n3",
      5000,
    );
    await create("n2", "g", false);
    await create("n3", "g", false);
    expect(c.node("n2").host.heldVoteGroups()).toBe(0);
    expect(await c.leaderOf("g", 8000)).toBe("n1");
    for (const id of ["n1", "n2", "n3"]) expect(c.node(id).host.status("g").term).toBe(1);
    await c.propose("g", { v: "first" }, 8000);
  });

  it("a recovered group does not campaign again, and its members keep their leader and term", async () => {
    c = await TestCluster.start(["n1", "n2", "n3"], NO_TIMEOUT_ELECTIONS);
    await create("n2", "g", false);
    await create("n3", "g", false);
    await create("n1", "g", true);
    expect(await c.leaderOf("g", 8000)).toBe("n1");
    await c.propose("g", { v: "stored" }, 8000);
    await waitUntil(() => c!.node("n2").machines.get("g")?.values.length === 1, "n2 to apply", 8000);
    // n2 restarts and asks to campaign: its group is recovered from storage, so it does not.
    const port = c.node("n2").port;
    await c.stopNode("n2");
    await c.restartNode("n2", port);
    await create("n2", "g", true);
    expect(c.node("n2").host.status("g").role).toBe(Role.Follower);
    await c.propose("g", { v: "after" }, 8000);
    await waitUntil(() => c!.node("n2").machines.get("g")?.values.length === 2, "n2 to catch up", 8000);
    expect(await c.leaderOf("g", 8000)).toBe("n1");
    for (const id of ["n1", "n2", "n3"]) expect(c.node(id).host.status("g").term).toBe(1);
  });
});
