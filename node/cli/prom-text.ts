/**
 * Just enough of the Prometheus text format to read a node's `/metrics`: samples with their
 * labels. `warren status` uses the per-group Raft gauges (term, commit, applied, leader), which
 * is where every node publishes its own view of every group it is a member of.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(v: string): string {
  return v.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}

export function parsePromText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1] as string] = unescapeLabel(l[2] as string);
    const value = Number(m[3]);
    if (!Number.isNaN(value)) out.push({ name: m[1] as string, labels, value });
  }
  return out;
}

/** One node's view of one Raft group. */
export interface GroupView {
  readonly group: string;
  readonly vhost: string;
  readonly queue: string;
  term?: number;
  commit?: number;
  applied?: number;
  leader?: string;
  isLeader?: boolean;
}

/** The `warren_raft_*` gauges of one node, by group id. */
export function groupViews(samples: readonly Sample[]): Map<string, GroupView> {
  const views = new Map<string, GroupView>();
  for (const s of samples) {
    if (!s.name.startsWith("warren_raft_")) continue;
    const group = s.labels.group;
    if (group === undefined) continue;
    let v = views.get(group);
    if (v === undefined) {
      v = { group, vhost: s.labels.vhost ?? "", queue: s.labels.queue ?? "" };
      views.set(group, v);
    }
    if (s.name === "warren_raft_term") v.term = s.value;
    else if (s.name === "warren_raft_commit_index") v.commit = s.value;
    else if (s.name === "warren_raft_applied_index") v.applied = s.value;
    else if (s.name === "warren_raft_is_leader") v.isLeader = s.value === 1;
    else if (s.name === "warren_raft_leader" && s.value === 1 && s.labels.leader) v.leader = s.labels.leader;
  }
  return views;
}
