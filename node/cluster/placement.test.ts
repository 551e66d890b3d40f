import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  fairShare,
  type GroupView,
  loadOf,
  PlacementError,
  pickNewMember,
  placeReplicas,
  rebalance,
  type Transfer,
} from "./placement.js";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `n${i + 1}`);

/** Declares `count` queues one after another, as the metadata leader would. */
function declareQueues(nodes: readonly string[], count: number, groupSize: number, seed = "s"): GroupView[] {
  const groups: GroupView[] = [];
  const load = new Map(nodes.map((n) => [n, { replicas: 0, leaders: 0 }]));
  for (let i = 0; i < count; i++) {
    const p = placeReplicas({ nodes, load, groupSize, seed: `${seed}:q${i}` });
    groups.push({ group: `q${i}`, leader: p.leader, members: p.members });
    for (const m of p.members) load.get(m)!.replicas++;
    load.get(p.leader)!.leaders++;
  }
  expect(load).toEqual(loadOf(nodes, groups));
  return groups;
}

function apply(groups: readonly GroupView[], transfers: readonly Transfer[]): GroupView[] {
  const to = new Map(transfers.map((t) => [t.group, t.to]));
  return groups.map((g) => ({ ...g, leader: to.get(g.group) ?? g.leader }));
}

function leaderCounts(nodes: readonly string[], groups: readonly GroupView[]): number[] {
  const load = loadOf(nodes, groups);
  return nodes.map((n) => load.get(n)!.leaders);
}

describe("placeReplicas (x-quorum-initial-group-size)", () => {
  it("defaults to three replicas, or every node when there are fewer", () => {
    expect(placeReplicas({ nodes: ids(5), load: new Map(), seed: "q" }).members).toHaveLength(3);
    expect(placeReplicas({ nodes: ids(2), load: new Map(), seed: "q" }).members).toHaveLength(2);
    expect(placeReplicas({ nodes: ids(3), load: new Map(), groupSize: 7, seed: "q" }).members).toHaveLength(
      3,
    );
  });

  it("refuses an empty cluster and a non-positive size", () => {
    expect(() => placeReplicas({ nodes: [], load: new Map(), seed: "q" })).toThrow(PlacementError);
    expect(() => placeReplicas({ nodes: ids(3), load: new Map(), groupSize: 0, seed: "q" })).toThrow(
      PlacementError,
    );
  });

  it("members are distinct cluster nodes of the right number, led by the first", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,3}$/), { minLength: 1, maxLength: 9 }),
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.record({ replicas: fc.nat(20), leaders: fc.nat(20) }), { maxLength: 9 }),
        fc.string(),
        (nodes, groupSize, loads, seed) => {
          const load = new Map(nodes.map((n, i) => [n, loads[i] ?? { replicas: 0, leaders: 0 }]));
          const p = placeReplicas({ nodes, load, groupSize, seed });
          expect(new Set(p.members).size).toBe(p.members.length);
          expect(p.members).toHaveLength(Math.min(groupSize, nodes.length));
          expect(p.members[0]).toBe(p.leader);
          for (const m of p.members) expect(nodes).toContain(m);
          // The leader leads no more than any other node did.
          const leaders = (n: string) => load.get(n)!.leaders;
          expect(Math.min(...nodes.map(leaders))).toBe(leaders(p.leader));
        },
      ),
    );
  });

  it("is deterministic and ignores the order nodes are listed in", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.string(), fc.nat(1000), (n, seed, shuffle) => {
        const nodes = ids(n);
        const rotated = [...nodes.slice(shuffle % n), ...nodes.slice(0, shuffle % n)].reverse();
        const a = placeReplicas({ nodes, load: new Map(), seed });
        const b = placeReplicas({ nodes: rotated, load: new Map(), seed });
        expect(b).toEqual(a);
      }),
    );
  });

  it("declaring queues one by one keeps every node within one of its fair share of leaders and replicas", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 1, max: 5 }),
        fc.nat(60),
        fc.string(),
        (n, size, count, seed) => {
          const nodes = ids(n);
          const groups = declareQueues(nodes, count, size, seed);
          const leaders = leaderCounts(nodes, groups);
          expect(Math.max(...leaders) - Math.min(...leaders)).toBeLessThanOrEqual(1);
          const replicas = nodes.map((x) => loadOf(nodes, groups).get(x)!.replicas);
          expect(Math.max(...replicas) - Math.min(...replicas)).toBeLessThanOrEqual(2);
        },
      ),
    );
  });

  it("different seeds spread ties across nodes", () => {
    const leaders = new Set(
      ids(30).map((seed) => placeReplicas({ nodes: ids(3), load: new Map(), seed }).leader),
    );
    expect(leaders).toEqual(new Set(ids(3)));
  });
});

describe("rebalance after a node returns", () => {
  it("a node that was down leads its fair share again with the fewest transfers", () => {
    const nodes = ids(3);
    let groups = declareQueues(nodes, 30, 3);
    expect(leaderCounts(nodes, groups)).toEqual([10, 10, 10]);
    // n1 goes down: its groups elect leaders among the two others.
    let alt = 0;
    groups = groups.map((g) => (g.leader === "n1" ? { ...g, leader: alt++ % 2 === 0 ? "n2" : "n3" } : g));
    expect(leaderCounts(nodes, groups)).toEqual([0, 15, 15]);
    // While n1 is down, the two live nodes are already balanced.
    expect(rebalance({ nodes: ["n2", "n3"], groups, seed: "r" })).toEqual([]);
    const transfers = rebalance({ nodes, groups, seed: "r" });
    expect(transfers).toHaveLength(10);
    for (const t of transfers) expect(t.to).toBe("n1");
    expect(leaderCounts(nodes, apply(groups, transfers))).toEqual([10, 10, 10]);
  });

  it("an already balanced cluster needs no transfer", () => {
    const nodes = ids(5);
    const groups = declareQueues(nodes, 23, 3);
    expect(rebalance({ nodes, groups, seed: "x" })).toEqual([]);
  });

  it("leaderless groups and groups led by a node not in the list are left alone", () => {
    const groups: GroupView[] = [
      { group: "a", leader: undefined, members: ["n1", "n2"] },
      { group: "b", leader: "n9", members: ["n9", "n1"] },
      { group: "c", leader: "n2", members: ["n1", "n2"] },
      { group: "d", leader: "n2", members: ["n1", "n2"] },
    ];
    const transfers = rebalance({ nodes: ["n1", "n2"], groups, seed: "" });
    expect(transfers).toHaveLength(1);
    expect(transfers[0]).toMatchObject({ from: "n2", to: "n1" });
    expect(["c", "d"]).toContain(transfers[0]!.group);
  });

  it("chains transfers through a third node when the overloaded node shares no group with the idle one", () => {
    // n1 leads 2 (members n1,n2); n2 leads 1 (members n2,n3); n3 leads nothing and shares no group with n1.
    const groups: GroupView[] = [
      { group: "a", leader: "n1", members: ["n1", "n2"] },
      { group: "b", leader: "n1", members: ["n1", "n2"] },
      { group: "c", leader: "n2", members: ["n2", "n3"] },
    ];
    const transfers = rebalance({ nodes: ids(3), groups, seed: "" });
    expect(transfers).toHaveLength(2);
    expect(leaderCounts(ids(3), apply(groups, transfers))).toEqual([1, 1, 1]);
  });

  const scenario = fc.record({ n: fc.integer({ min: 1, max: 5 }), seed: fc.string() }).chain(({ n, seed }) =>
    fc.record({
      n: fc.constant(n),
      seed: fc.constant(seed),
      groups: fc.array(
        fc
          .subarray(ids(n), { minLength: 1, maxLength: Math.min(3, n) })
          .chain((members) =>
            fc.record({ members: fc.constant(members), leader: fc.constantFrom(...members) }),
          ),
        { maxLength: 6 },
      ),
    }),
  );

  it("matches a brute-force search: as fair as membership allows, then the fewest transfers", () => {
    fc.assert(
      fc.property(scenario, ({ n, seed, groups: raw }) => {
        const nodes = ids(n);
        const groups: GroupView[] = raw.map((g, i) => ({ group: `g${i}`, ...g }));
        const transfers = rebalance({ nodes, groups, seed });
        const after = apply(groups, transfers);
        // Transfers go from the current leader to a member, once per group.
        expect(new Set(transfers.map((t) => t.group)).size).toBe(transfers.length);
        for (const t of transfers) {
          const g = groups.find((x) => x.group === t.group)!;
          expect(t.from).toBe(g.leader);
          expect(g.members).toContain(t.to);
          expect(t.to).not.toBe(t.from);
        }
        const best = bruteForce(nodes, groups);
        expect(unfairness(nodes, after)).toBe(best.unfairness);
        expect(transfers).toHaveLength(best.transfers);
        if (best.unfairness === 0) {
          const { floor, ceil } = fairShare(groups.length, n);
          for (const c of leaderCounts(nodes, after)) {
            expect(c).toBeGreaterThanOrEqual(floor);
            expect(c).toBeLessThanOrEqual(ceil);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it("with every node a member of every group, always within [floor, ceil] of the fair share", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }),
        fc.array(fc.nat(6), { maxLength: 80 }),
        fc.string(),
        (n, leaders, seed) => {
          const nodes = ids(n);
          const groups = leaders.map((l, i) => ({ group: `g${i}`, leader: nodes[l % n]!, members: nodes }));
          const transfers = rebalance({ nodes, groups, seed });
          const { floor, ceil } = fairShare(groups.length, n);
          const counts = leaderCounts(nodes, apply(groups, transfers));
          for (const c of counts) expect(c >= floor && c <= ceil).toBe(true);
          // Fewest transfers: exactly the excess above the nodes that end at ceil.
          const before = leaderCounts(nodes, groups);
          const moved = before.reduce((s, b, i) => s + Math.max(0, b - counts[i]!), 0);
          expect(transfers).toHaveLength(moved);
          expect(rebalance({ nodes, groups, seed })).toEqual(transfers);
        },
      ),
    );
  });

  it("stays fast for thousands of queues", () => {
    const nodes = ids(7);
    const groups = declareQueues(nodes, 5000, 3).map((g) =>
      g.leader === "n1" ? { ...g, leader: g.members[1]! } : g,
    );
    const started = performance.now();
    const transfers = rebalance({ nodes, groups, seed: "big" });
    expect(performance.now() - started).toBeLessThan(2000);
    const counts = leaderCounts(nodes, apply(groups, transfers));
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });
});

/** Leaderships above ceil plus leaderships missing below floor, summed over nodes. */
function unfairness(nodes: readonly string[], groups: readonly GroupView[]): number {
  const { floor, ceil } = fairShare(groups.length, nodes.length);
  return leaderCounts(nodes, groups).reduce((s, c) => s + Math.max(0, c - ceil) + Math.max(0, floor - c), 0);
}

/** Every leader assignment: the least unfair, and among those the fewest changes. */
function bruteForce(
  nodes: readonly string[],
  groups: readonly GroupView[],
): { unfairness: number; transfers: number } {
  let best = { unfairness: Number.POSITIVE_INFINITY, transfers: Number.POSITIVE_INFINITY };
  const assign = (i: number, acc: GroupView[]): void => {
    if (i === groups.length) {
      const u = unfairness(nodes, acc);
      const t = acc.filter((g, j) => g.leader !== groups[j]!.leader).length;
      if (u < best.unfairness || (u === best.unfairness && t < best.transfers))
        best = { unfairness: u, transfers: t };
      return;
    }
    for (const m of groups[i]!.members) assign(i + 1, [...acc, { ...groups[i]!, leader: m }]);
  };
  assign(0, []);
  return best;
}

describe("pickNewMember (replacing a removed node's replica)", () => {
  it("picks the candidate with the fewest replicas, then the fewest leaders", () => {
    const load = new Map([
      ["n1", { replicas: 5, leaders: 1 }],
      ["n4", { replicas: 2, leaders: 2 }],
      ["n5", { replicas: 2, leaders: 0 }],
    ]);
    expect(pickNewMember({ candidates: ["n1", "n4", "n5"], load, seed: "q" })).toBe("n5");
    expect(pickNewMember({ candidates: ["n1", "n4"], load, seed: "q" })).toBe("n4");
    expect(pickNewMember({ candidates: [], load, seed: "q" })).toBeUndefined();
  });
});
