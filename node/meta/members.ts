/**
 * Membership in the metadata: which nodes a quorum queue's replicas live on (rabbitmq-queues
 * add_member / delete_member), which nodes joined the running cluster and which were removed
 * (rabbitmqctl join_cluster / forget_cluster_node).
 *
 * The record says what the membership SHOULD be; each queue's Raft leader then changes its
 * group's configuration to match, one server at a time (a new replica joins as a learner, catches
 * up, then votes; see node/cluster/membership-plan.ts). So these commands only validate and
 * record, and every node learns of the change from `queue-placement-changed` / `node-joined` /
 * `node-removed`.
 */
import { WarrenError } from "../errors.js";
import { type ApplyContext, notFound, requireVHost } from "./context.js";
import { rs } from "./format.js";
import type {
  ClusterNodeRecord,
  MetaReplies,
  NodeForget,
  NodeJoin,
  QueueAddMember,
  QueueRecord,
  QueueRemoveMember,
} from "./types.js";

/** The queue a member command names; only quorum queues have members to change. */
function quorumQueue(ctx: ApplyContext, vhost: string, name: string): QueueRecord {
  requireVHost(ctx, vhost);
  const q = ctx.store.queue(vhost, name);
  if (q === undefined) throw notFound("queue", vhost, name);
  if (q.type !== "quorum") {
    // rabbit_quorum_queue's answer for a classic queue.
    throw new WarrenError("PRECONDITION_FAILED", `${rs("queue", vhost, name)} is not a quorum queue`);
  }
  return q;
}

/** The record with new members; `initialMembers` keeps the group's configuration at index 0. */
function withMembers(q: QueueRecord, members: readonly string[], leader: string): QueueRecord {
  return { ...q, initialMembers: q.initialMembers ?? q.members, members: [...members], leader };
}

export function addMember(ctx: ApplyContext, cmd: QueueAddMember): MetaReplies["queue.add-member"] {
  const q = quorumQueue(ctx, cmd.vhost, cmd.name);
  if (ctx.store.removedNodes.has(cmd.node)) {
    throw new WarrenError("PRECONDITION_FAILED", `node '${cmd.node}' was removed from the cluster`);
  }
  if (q.members.includes(cmd.node)) return { changed: false, queue: q };
  const queue = withMembers(q, [...q.members, cmd.node], q.leader);
  ctx.store.putQueue(queue);
  ctx.changes.push({ type: "queue-placement-changed", queue });
  return { changed: true, queue };
}

export function removeMember(ctx: ApplyContext, cmd: QueueRemoveMember): MetaReplies["queue.remove-member"] {
  const q = quorumQueue(ctx, cmd.vhost, cmd.name);
  if (!q.members.includes(cmd.node)) return { changed: false, queue: q };
  if (q.members.length === 1) {
    throw new WarrenError(
      "PRECONDITION_FAILED",
      `cannot remove '${cmd.node}': it is the last member of ${rs("queue", q.vhost, q.name)}`,
    );
  }
  const members = q.members.filter((m) => m !== cmd.node);
  const queue = withMembers(q, members, q.leader === cmd.node ? members[0]! : q.leader);
  ctx.store.putQueue(queue);
  ctx.changes.push({ type: "queue-placement-changed", queue });
  return { changed: true, queue };
}

export function joinNode(ctx: ApplyContext, cmd: NodeJoin): MetaReplies["node.join"] {
  if (ctx.store.removedNodes.has(cmd.node)) {
    throw new WarrenError(
      "PRECONDITION_FAILED",
      `node '${cmd.node}' was removed from the cluster: it can join again only under a new node id`,
    );
  }
  const old = ctx.store.nodes.get(cmd.node);
  const node: ClusterNodeRecord = {
    id: cmd.node,
    raft: cmd.raft,
    ...(cmd.amqp !== undefined ? { amqp: cmd.amqp } : {}),
    ...(cmd.http !== undefined ? { http: cmd.http } : {}),
    joinedIndex: old?.joinedIndex ?? ctx.index,
  };
  const same =
    old !== undefined && old.raft === node.raft && old.amqp === node.amqp && old.http === node.http;
  if (same) return { joined: false, node: old };
  ctx.store.nodes.set(node.id, Object.freeze(node));
  ctx.changes.push({ type: "node-joined", node });
  return { joined: old === undefined, node };
}

export function forgetNode(ctx: ApplyContext, cmd: NodeForget): MetaReplies["node.forget"] {
  if (ctx.store.removedNodes.has(cmd.node)) return { forgotten: false, queues: 0 };
  const replacement = new Map<string, string>();
  for (const r of cmd.replacements ?? []) replacement.set(`${r.vhost}\u0000${r.name}`, r.node);
  // Checked before anything changes: a queue whose only member is the node would lose its data.
  const affected = [...ctx.store.queues.values()].filter(
    (q) => q.type === "quorum" && q.members.includes(cmd.node),
  );
  for (const q of affected) {
    const with_ = replacement.get(`${q.vhost}\u0000${q.name}`);
    if (q.members.length === 1 && (with_ === undefined || with_ === cmd.node)) {
      throw new WarrenError(
        "PRECONDITION_FAILED",
        `cannot forget '${cmd.node}': it is the only member of ${rs("queue", q.vhost, q.name)}`,
      );
    }
  }
  for (const q of affected) {
    const with_ = replacement.get(`${q.vhost}\u0000${q.name}`);
    const members = q.members.filter((m) => m !== cmd.node);
    if (with_ !== undefined && with_ !== cmd.node && !members.includes(with_)) members.push(with_);
    const queue = withMembers(q, members, q.leader === cmd.node ? members[0]! : q.leader);
    ctx.store.putQueue(queue);
    ctx.changes.push({ type: "queue-placement-changed", queue });
  }
  // Its transient queues lived in its memory (as node.down).
  const homed = [...ctx.store.queues.values()].filter((q) => q.type === "transient" && q.leader === cmd.node);
  for (const q of homed) ctx.store.deleteQueue(q, "home-node-down", ctx.changes);
  ctx.store.nodes.delete(cmd.node);
  ctx.store.removedNodes.add(cmd.node);
  ctx.changes.push({ type: "node-removed", node: cmd.node });
  return { forgotten: true, queues: affected.length };
}
