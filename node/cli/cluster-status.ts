/**
 * `warren status`: the cluster as one node's HTTP API and every node's `/metrics` describe it.
 * Nodes and their listeners come from `/api/nodes` of whichever node answers; up/ready from each
 * node's `/ready`; queue leaders and members from `/api/queues`; term, commit and applied index
 * per Raft group from each node's own `warren_raft_*` gauges (so a lagging follower shows).
 */
import type { ApiClient } from "./api-client.js";
import { type GroupView, groupViews, parsePromText } from "./prom-text.js";
import { renderTable } from "./table.js";

interface ApiNode {
  name: string;
  running: boolean;
  raft_listener: string;
  http_listener: string | null;
  leader_of: number;
}
interface ApiQueue {
  name: string;
  vhost: string;
  leader: string | null;
  members: string[];
  state: string;
  messages_ready: number;
  messages_unacknowledged: number;
  consumers: number;
}

/**
 * `unreachable`: the cluster says the node runs, but its HTTP address (as it advertises it, e.g. a
 * compose service name seen from the host) does not answer from here.
 */
export type NodeState = "ready" | "not ready" | "down" | "unreachable" | "unknown";

export interface StatusNode {
  readonly id: string;
  readonly state: NodeState;
  readonly http: string | undefined;
  readonly raft: string;
  readonly leads: number;
}

export interface StatusGroup {
  readonly group: string;
  /** "meta", or the queue name (with its vhost unless it is "/"). */
  readonly label: string;
  readonly leader: string | undefined;
  readonly term: number | undefined;
  readonly members: readonly string[];
  /** Each node's own commit/applied index of the group (absent: not a member, or down). */
  readonly indexes: Readonly<Record<string, { commit: number | undefined; applied: number | undefined }>>;
}

export interface ClusterStatus {
  readonly via: string;
  readonly viaNode: string;
  readonly nodes: readonly StatusNode[];
  readonly groups: readonly StatusGroup[];
}

/** `0.0.0.0:15672` is where a node listens, not where to reach it. */
function reachable(listener: string): string {
  return `http://${listener.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:")}`;
}

export async function gatherStatus(api: ApiClient): Promise<ClusterStatus> {
  const overview = await api.request<{ node: string }>("GET", "/api/overview");
  const via = api.url as string;
  const [nodes, queues] = await Promise.all([
    api.request<ApiNode[]>("GET", "/api/nodes"),
    api.request<ApiQueue[]>("GET", "/api/queues"),
  ]);
  const probed = await Promise.all(
    nodes.map(async (n) => {
      const url = n.http_listener ? reachable(n.http_listener) : n.name === overview.node ? via : undefined;
      if (url === undefined)
        return { n, url, state: (n.running ? "unknown" : "down") as NodeState, views: undefined };
      const [ready, metrics] = await Promise.all([api.text(url, "/ready"), api.text(url, "/metrics")]);
      const state: NodeState =
        ready === undefined
          ? n.running
            ? "unreachable"
            : "down"
          : ready.status === 200
            ? "ready"
            : "not ready";
      const views = metrics?.status === 200 ? groupViews(parsePromText(metrics.text)) : undefined;
      return { n, url, state, views };
    }),
  );
  const allGroups = new Map<string, GroupView>();
  for (const p of probed) for (const [g, v] of p.views ?? []) if (!allGroups.has(g)) allGroups.set(g, v);
  const queueByKey = new Map(queues.map((q) => [`${q.vhost}\u0000${q.name}`, q]));
  const groups: StatusGroup[] = [...allGroups.values()]
    .sort((a, b) => (a.group === "meta" ? -1 : b.group === "meta" ? 1 : a.group.localeCompare(b.group)))
    .map((g) => {
      const q = g.group === "meta" ? undefined : queueByKey.get(`${g.vhost}\u0000${g.queue}`);
      const views = probed.map((p) => ({ id: p.n.name, v: p.views?.get(g.group) }));
      const terms = views.map((x) => x.v?.term).filter((t): t is number => t !== undefined);
      const leader = q
        ? (q.leader ?? undefined)
        : (views.find((x) => x.v?.isLeader)?.id ?? views.find((x) => x.v?.leader)?.v?.leader);
      const indexes: Record<string, { commit: number | undefined; applied: number | undefined }> = {};
      for (const x of views) if (x.v) indexes[x.id] = { commit: x.v.commit, applied: x.v.applied };
      return {
        group: g.group,
        label: g.group === "meta" ? "meta" : g.vhost === "/" ? g.queue : `${g.queue} (vhost ${g.vhost})`,
        leader,
        term: terms.length > 0 ? Math.max(...terms) : undefined,
        members: q ? q.members : nodes.map((n) => n.name),
        indexes,
      };
    });
  return {
    via,
    viaNode: overview.node,
    nodes: probed.map((p) => ({
      id: p.n.name,
      state: p.state,
      http: p.url,
      raft: p.n.raft_listener,
      leads: p.n.leader_of,
    })),
    groups,
  };
}

export function renderStatus(s: ClusterStatus): string {
  const up = s.nodes.filter((n) => n.state === "ready").length;
  const nodeTable = renderTable(
    ["NODE", "STATE", "HTTP", "RAFT", "LEADS"],
    s.nodes.map((n) => [n.id, n.state, n.http ?? "-", n.raft, String(n.leads)]),
  );
  const ids = s.nodes.map((n) => n.id);
  const groupTable = renderTable(
    ["GROUP", "LEADER", "TERM", ...ids.map((id) => `${id} commit/applied`)],
    s.groups.map((g) => [
      g.label,
      g.leader ?? "(none)",
      g.term === undefined ? "-" : String(g.term),
      ...ids.map((id) => {
        const ix = g.indexes[id];
        if (ix === undefined) return g.members.includes(id) ? "?" : "";
        return `${ix.commit ?? "?"}/${ix.applied ?? "?"}`;
      }),
    ]),
  );
  return [
    `cluster via ${s.via} (${s.viaNode}): ${up}/${s.nodes.length} nodes ready`,
    "",
    nodeTable,
    "",
    s.groups.length > 0 ? groupTable : "(no Raft groups reported)",
    "",
    "? = member whose figures could not be read (node down or not serving HTTP)",
  ].join("\n");
}
