/**
 * Where a quorum queue's replicas live and which of them leads: pure functions of the cluster's
 * current load, deterministic (ties broken by a hash of a caller-given seed, so every node that
 * computes a placement for the same queue agrees, and tests can replay).
 *
 * - `placeReplicas` picks a new queue's members (RabbitMQ's `x-quorum-initial-group-size`,
 *   default 3, or every node if fewer) and its preferred leader: the declaring client's node
 *   (`client-local`), or the node leading the fewest queues (`balanced`, which keeps leadership
 *   within one of each node's fair share as queues are declared). Replicas spread by load either way.
 * - `rebalance` returns the fewest leadership transfers that bring every node within
 *   [floor, ceil] of its fair share of leaders, moving leadership only to a group's members
 *   (used after a node returns and leads nothing). It solves this exactly as a min-cost flow.
 */
import type { GroupId, NodeId } from "../../raft/core/types.js";
import { DEFAULT_INITIAL_GROUP_SIZE } from "../config/defaults.js";
import type { QueueLeaderLocator } from "./leader-locator.js";

export interface NodeLoad {
  /** Groups this node is a member (voter) of. */
  readonly replicas: number;
  /** Groups this node leads (or is the preferred leader of). */
  readonly leaders: number;
}

export interface PlacementRequest {
  /** Nodes that may host the new replicas (usually every cluster node that is up). */
  readonly nodes: readonly NodeId[];
  /** Current load; a node missing from the map has none. */
  readonly load: ReadonlyMap<NodeId, NodeLoad>;
  /** Requested replicas; capped at the number of nodes. */
  readonly groupSize?: number;
  /** Breaks ties, e.g. the group id: the same queue always gets the same answer. */
  readonly seed: string;
  /** How to pick the leader (default `balanced`). */
  readonly leaderLocator?: QueueLeaderLocator;
  /**
   * The node the declaring client is connected to: the leader under `client-local`. Absent, or
   * not one of `nodes` (it cannot host a replica): the leader is chosen as under `balanced`.
   */
  readonly clientNode?: NodeId;
}

export interface Placement {
  /** Distinct, `members[0] === leader`, the rest in order of preference. */
  readonly members: readonly NodeId[];
  readonly leader: NodeId;
}

/** A group as the rebalancer sees it. `leader` undefined: no leader right now (not movable). */
export interface GroupView {
  readonly group: GroupId;
  readonly leader: NodeId | undefined;
  readonly members: readonly NodeId[];
}

export interface Transfer {
  readonly group: GroupId;
  readonly from: NodeId;
  readonly to: NodeId;
}

export class PlacementError extends Error {
  override name = "PlacementError";
}

/** 32-bit FNV-1a: a stable, dependency-free hash for tie-breaking (not for security). */
export function tieHash(seed: string, key: string): number {
  let h = 0x811c9dc5;
  const s = `${seed}\u0000${key}`;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Each node's fair share of `led` leaderships among `nodes` nodes: floor and ceil. */
export function fairShare(led: number, nodes: number): { floor: number; ceil: number } {
  if (nodes <= 0) return { floor: 0, ceil: 0 };
  return { floor: Math.floor(led / nodes), ceil: Math.ceil(led / nodes) };
}

/** Per-node replica and leader counts of a set of groups (only the given nodes are counted). */
export function loadOf(nodes: readonly NodeId[], groups: readonly GroupView[]): Map<NodeId, NodeLoad> {
  const load = new Map<NodeId, { replicas: number; leaders: number }>(
    nodes.map((n) => [n, { replicas: 0, leaders: 0 }]),
  );
  for (const g of groups) {
    for (const m of new Set(g.members)) {
      const l = load.get(m);
      if (l) l.replicas++;
    }
    const l = g.leader === undefined ? undefined : load.get(g.leader);
    if (l) l.leaders++;
  }
  return load;
}

function distinct(nodes: readonly NodeId[]): NodeId[] {
  return [...new Set(nodes)].sort();
}

/**
 * The leader is the client's node under `client-local`; otherwise (or when that node is not
 * available) the node leading the fewest groups (then fewest replicas, then the hash), which keeps
 * every node within one of its fair share as queues are declared one by one. The other members
 * are the nodes with the fewest replicas (then fewest leaders, then the hash).
 */
export function placeReplicas(req: PlacementRequest): Placement {
  const nodes = distinct(req.nodes);
  if (nodes.length === 0) throw new PlacementError("cannot place a queue: no nodes available");
  const requested = req.groupSize ?? DEFAULT_INITIAL_GROUP_SIZE;
  if (!Number.isInteger(requested) || requested < 1) {
    throw new PlacementError(`group size must be a positive integer, got ${requested}`);
  }
  const size = Math.min(requested, nodes.length);
  const load = (n: NodeId): NodeLoad => req.load.get(n) ?? { replicas: 0, leaders: 0 };
  const by =
    (first: keyof NodeLoad, second: keyof NodeLoad) =>
    (a: NodeId, b: NodeId): number =>
      load(a)[first] - load(b)[first] ||
      load(a)[second] - load(b)[second] ||
      tieHash(req.seed, a) - tieHash(req.seed, b) ||
      (a < b ? -1 : 1);
  const local =
    req.leaderLocator === "client-local" && req.clientNode !== undefined && nodes.includes(req.clientNode)
      ? req.clientNode
      : undefined;
  const leader = local ?? [...nodes].sort(by("leaders", "replicas"))[0]!;
  const others = nodes.filter((n) => n !== leader).sort(by("replicas", "leaders"));
  return { leader, members: [leader, ...others.slice(0, size - 1)] };
}

/**
 * A node to add to a group that lacks one (a replacement for a removed node): the candidate
 * hosting the fewest replicas, then leading the fewest groups, then the hash of `seed`.
 * Undefined when there is no candidate.
 */
export function pickNewMember(req: {
  readonly candidates: readonly NodeId[];
  readonly load: ReadonlyMap<NodeId, NodeLoad>;
  readonly seed: string;
}): NodeId | undefined {
  const load = (n: NodeId): NodeLoad => req.load.get(n) ?? { replicas: 0, leaders: 0 };
  return distinct(req.candidates).sort(
    (a, b) =>
      load(a).replicas - load(b).replicas ||
      load(a).leaders - load(b).leaders ||
      tieHash(req.seed, a) - tieHash(req.seed, b) ||
      (a < b ? -1 : 1),
  )[0];
}

/** Groups that share a leader and a set of eligible members are interchangeable for the flow. */
interface GroupClass {
  readonly leader: NodeId;
  readonly eligible: readonly NodeId[];
  readonly groups: GroupId[];
}

/**
 * The fewest leadership transfers that bring every node of `nodes` within [floor, ceil] of its
 * fair share of the movable leaderships (groups whose leader is one of `nodes`), moving each
 * group's leadership only to one of its members that is in `nodes`. When membership makes that
 * impossible, the result is as fair as membership allows (fewest leaderships above ceil plus
 * missing below floor), again with the fewest transfers. Each group appears at most once.
 */
export function rebalance(req: {
  readonly nodes: readonly NodeId[];
  readonly groups: readonly GroupView[];
  readonly seed: string;
}): Transfer[] {
  const nodes = distinct(req.nodes);
  const live = new Set(nodes);
  const classes = new Map<string, GroupClass>();
  for (const g of [...req.groups].sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0))) {
    if (g.leader === undefined || !live.has(g.leader)) continue;
    const eligible = distinct([g.leader, ...g.members.filter((m) => live.has(m))]);
    const key = `${g.leader}\u0000${eligible.join("\u0000")}`;
    const c = classes.get(key) ?? { leader: g.leader, eligible, groups: [] };
    classes.set(key, c);
    c.groups.push(g.group);
  }
  const led = [...classes.values()].reduce((n, c) => n + c.groups.length, 0);
  if (led === 0) return [];
  const { floor, ceil } = fairShare(led, nodes.length);

  // Vertices: source, sink, one per node, one per class.
  const flow = new MinCostFlow(2 + nodes.length + classes.size);
  const SOURCE = 0;
  const SINK = 1;
  const nodeVertex = new Map(nodes.map((n, i) => [n, 2 + i]));
  // Any fairness gain outweighs every transfer: at most `led` transfers ever happen.
  const BIG = led + 1;
  for (const n of nodes) {
    const v = nodeVertex.get(n)!;
    if (floor > 0) flow.addEdge(v, SINK, floor, -BIG);
    if (ceil > floor) flow.addEdge(v, SINK, ceil - floor, 0);
    flow.addEdge(v, SINK, led, BIG);
  }
  // Edge order decides between equally good answers: shuffle it by the seed, deterministically.
  const ordered = [...classes.entries()].sort(
    ([a], [b]) => tieHash(req.seed, a) - tieHash(req.seed, b) || (a < b ? -1 : 1),
  );
  const targetEdges: { cls: GroupClass; to: NodeId; edge: number }[] = [];
  ordered.forEach(([, cls], i) => {
    const v = 2 + nodes.length + i;
    flow.addEdge(SOURCE, v, cls.groups.length, 0);
    const targets = [...cls.eligible].sort(
      (a, b) => tieHash(req.seed, a) - tieHash(req.seed, b) || (a < b ? -1 : 1),
    );
    for (const to of targets) {
      const edge = flow.addEdge(v, nodeVertex.get(to)!, cls.groups.length, to === cls.leader ? 0 : 1);
      if (to !== cls.leader) targetEdges.push({ cls, to, edge });
    }
  });
  flow.run(SOURCE, SINK);

  const transfers: Transfer[] = [];
  const taken = new Map<GroupClass, number>();
  for (const { cls, to, edge } of targetEdges) {
    const moved = flow.flowOn(edge);
    if (moved === 0) continue;
    // Which groups of a class move is arbitrary for balance; choose by hash so it is stable.
    const start = taken.get(cls) ?? 0;
    const picked = [...cls.groups]
      .sort((a, b) => tieHash(req.seed, a) - tieHash(req.seed, b) || (a < b ? -1 : 1))
      .slice(start, start + moved);
    taken.set(cls, start + moved);
    for (const group of picked) transfers.push({ group, from: cls.leader, to });
  }
  return transfers.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/**
 * Min-cost max-flow by successive shortest paths (Bellman-Ford, as costs may be negative; the
 * residual graph never has a negative cycle because each augmentation uses a shortest path).
 * The graphs here are small: a vertex per node and per class of interchangeable groups.
 */
class MinCostFlow {
  private readonly to: number[] = [];
  private readonly cap: number[] = [];
  private readonly cost: number[] = [];
  private readonly initialCap: number[] = [];
  private readonly adj: number[][];

  constructor(vertices: number) {
    this.adj = Array.from({ length: vertices }, () => []);
  }

  /** Returns the edge's id for flowOn. Edge e's residual twin is e ^ 1. */
  addEdge(from: number, to: number, cap: number, cost: number): number {
    const id = this.to.length;
    this.to.push(to, from);
    this.cap.push(cap, 0);
    this.initialCap.push(cap, 0);
    this.cost.push(cost, -cost);
    this.adj[from]!.push(id);
    this.adj[to]!.push(id + 1);
    return id;
  }

  flowOn(edge: number): number {
    return this.initialCap[edge]! - this.cap[edge]!;
  }

  run(source: number, sink: number): void {
    const n = this.adj.length;
    for (;;) {
      const dist = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
      const via = new Array<number>(n).fill(-1);
      dist[source] = 0;
      // Bellman-Ford with early exit; at most n-1 rounds.
      for (let round = 0; round < n - 1; round++) {
        let changed = false;
        for (let u = 0; u < n; u++) {
          const du = dist[u]!;
          if (du === Number.POSITIVE_INFINITY) continue;
          for (const e of this.adj[u]!) {
            if (this.cap[e]! <= 0) continue;
            const v = this.to[e]!;
            const nd = du + this.cost[e]!;
            if (nd < dist[v]!) {
              dist[v] = nd;
              via[v] = e;
              changed = true;
            }
          }
        }
        if (!changed) break;
      }
      if (dist[sink] === Number.POSITIVE_INFINITY) return;
      let push = Number.POSITIVE_INFINITY;
      for (let v = sink; v !== source; v = this.to[via[v]! ^ 1]!) push = Math.min(push, this.cap[via[v]!]!);
      for (let v = sink; v !== source; v = this.to[via[v]! ^ 1]!) {
        this.cap[via[v]!]! -= push;
        this.cap[via[v]! ^ 1]! += push;
      }
    }
  }
}
