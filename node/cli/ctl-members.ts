/**
 * The `warren` membership commands, named as RabbitMQ's (`rabbitmq-queues add_member`, ...;
 * both `add-member` and `add_member` work), through the membership routes of any node
 * (docs/http-api.md, a Warren extension). Each returns the text to print, or undefined when the
 * command is not one of them.
 */
import type { ApiClient } from "./api-client.js";
import type { CtlArgs } from "./ctl-args.js";
import { renderTable } from "./table.js";

const seg = encodeURIComponent;

interface Members {
  members: string[];
  leader: string | null;
  voters: string[];
  learners: string[];
  settled: boolean;
}

interface Outcome {
  vhost: string;
  name: string;
  ok: boolean;
  error?: string;
  settled?: boolean;
}

export class MemberUsageError extends Error {}

function need(args: CtlArgs, n: number, what: string): string[] {
  if (args.positionals.length < n) throw new MemberUsageError(`${args.command}: missing ${what}`);
  return args.positionals.slice(0, n) as string[];
}

function describeMembers(queue: string, m: Members): string {
  const state = m.settled
    ? "settled"
    : "still changing (the leader goes on; check again with `warren members`)";
  return [
    `queue ${queue}: members ${m.members.join(",")}; ${state}`,
    `  leader ${m.leader ?? "(none)"}, voters ${m.voters.join(",") || "(unknown)"}${
      m.learners.length > 0 ? `, learners (catching up) ${m.learners.join(",")}` : ""
    }`,
  ].join("\n");
}

function describeOutcomes(rows: readonly Outcome[]): string {
  if (rows.length === 0) return "(no queue to change)";
  return renderTable(
    ["VHOST", "QUEUE", "RESULT"],
    rows.map((r) => [
      r.vhost,
      r.name,
      r.ok ? (r.settled === false ? "recorded, still changing" : "ok") : `error: ${r.error ?? "?"}`,
    ]),
  );
}

export async function runMemberCommand(api: ApiClient, args: CtlArgs): Promise<string | undefined> {
  const json = (v: unknown) => JSON.stringify(v, null, 2);
  const q = (queue: string) => `/api/queues/${seg(args.vhost)}/${seg(queue)}/members`;
  const wait = { timeout_ms: args.timeoutMs };
  switch (args.command?.replace(/_/g, "-")) {
    case "members": {
      const [queue] = need(args, 1, "<queue>") as [string];
      const m = await api.request<Members>("GET", q(queue));
      return args.json ? json(m) : describeMembers(queue, m);
    }
    case "add-member": {
      const [queue, node] = need(args, 2, "<queue> <node>") as [string, string];
      const m = await api.request<Members>("POST", q(queue), { node, ...wait });
      return args.json ? json(m) : describeMembers(queue, m);
    }
    case "delete-member": {
      const [queue, node] = need(args, 2, "<queue> <node>") as [string, string];
      const m = await api.request<Members>("DELETE", `${q(queue)}/${seg(node)}?timeout_ms=${args.timeoutMs}`);
      return args.json ? json(m) : describeMembers(queue, m);
    }
    case "grow": {
      const [node, strategy] = need(args, 2, "<node> all|even") as [string, string];
      if (strategy !== "all" && strategy !== "even")
        throw new MemberUsageError(`grow: strategy must be all or even, got "${strategy}"`);
      const rows = await api.request<Outcome[]>("POST", `/api/nodes/${seg(node)}/grow`, {
        strategy,
        ...(args.vhostPattern !== undefined ? { vhost_pattern: args.vhostPattern } : {}),
        ...(args.queuePattern !== undefined ? { queue_pattern: args.queuePattern } : {}),
        ...wait,
      });
      return args.json ? json(rows) : describeOutcomes(rows);
    }
    case "shrink": {
      const [node] = need(args, 1, "<node>") as [string];
      const rows = await api.request<Outcome[]>("POST", `/api/nodes/${seg(node)}/shrink`, wait);
      return args.json ? json(rows) : describeOutcomes(rows);
    }
    case "forget-node":
    case "forget-cluster-node": {
      const [node] = need(args, 1, "<node>") as [string];
      const r = await api.request<{ queues: number }>("DELETE", `/api/nodes/${seg(node)}`);
      return args.json
        ? json(r)
        : `node ${node} removed from the cluster; its replicas of ${r.queues} quorum queue(s) are moving to other nodes (see \`warren queues\`)`;
    }
    default:
      return undefined;
  }
}
