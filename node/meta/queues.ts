/**
 * queue.declare and the ways a queue goes away, in rabbit_channel / rabbit_amqqueue's order of
 * checks. Warren's one departure: every durable, non-exclusive, non-auto-delete queue is a
 * replicated (quorum) queue, whatever `x-queue-type` says, and its stored arguments say
 * `x-queue-type: quorum` (what RabbitMQ does for a vhost whose default queue type is quorum).
 */
import { WarrenError } from "../errors.js";
import { assertFieldEquivalence, assertQueueArgsEquivalence, checkQueueArguments } from "./args.js";
import {
  type ApplyContext,
  checkExclusiveAccess,
  checkName,
  notFound,
  requireVHost,
  stripCrLf,
} from "./context.js";
import { isStringLike, rs, textOf } from "./format.js";
import { cleanTable } from "./store.js";
import type {
  ConnectionClosed,
  FieldTable,
  MetaReplies,
  NodeDown,
  QueueDeclare,
  QueueDelete,
  QueueDeleteInternal,
  QueueRecord,
  QueueUpdatePlacement,
} from "./types.js";

/** The prefix of server-named queues (rabbit_guid:binary(_, "amq.gen")). */
export const SERVER_NAMED_PREFIX = "amq.gen-";

/**
 * A server-named queue's name as RabbitMQ makes it: `amq.gen-` + base64url of 16 random bytes
 * (`rabbit_guid:binary/2`). The proposing node draws the bytes and sends the name in the command.
 */
export function serverNamedQueue(randomBytes: Uint8Array): string {
  if (randomBytes.length < 16) throw new RangeError("a server-named queue needs 16 random bytes");
  return SERVER_NAMED_PREFIX + Buffer.from(randomBytes.subarray(0, 16)).toString("base64url");
}

/** The group id of a quorum queue's Raft group, unique per incarnation. */
export function queueGroupId(vhost: string, name: string, incarnation: number): string {
  return `q:${vhost}:${name}:${incarnation}`;
}

function isReplicated(durable: boolean, exclusive: boolean, autoDelete: boolean): boolean {
  return durable && !exclusive && !autoDelete;
}

/** Replicated queues record `x-queue-type: quorum` when declared without a type or as classic. */
function effectiveArgs(args: FieldTable, replicated: boolean): FieldTable {
  const t = args["x-queue-type"];
  if (!replicated || (t !== undefined && !(isStringLike(t) && textOf(t) === "classic"))) return args;
  return { ...args, "x-queue-type": "quorum" };
}

export function declareQueue(ctx: ApplyContext, cmd: QueueDeclare): MetaReplies["queue.declare"] {
  requireVHost(ctx, cmd.vhost);
  if (cmd.passive === true) {
    const name = stripCrLf(cmd.name);
    const found = ctx.store.queue(cmd.vhost, name);
    if (found === undefined) throw notFound("queue", cmd.vhost, name);
    checkExclusiveAccess(found, cmd.connection, "lax");
    return { created: false, queue: found };
  }
  const exclusive = cmd.exclusive ?? false;
  const autoDelete = cmd.autoDelete ?? false;
  // rabbit_channel: an exclusive queue is never durable.
  const durable = (cmd.durable ?? false) && !exclusive;
  const owner = exclusive ? cmd.connection : undefined;
  if (exclusive && cmd.connection === undefined) {
    throw new WarrenError("PRECONDITION_FAILED", "an exclusive queue needs an owning connection");
  }
  const serverNamed = stripCrLf(cmd.name) === "";
  const name = serverNamed ? generatedName(cmd) : stripCrLf(cmd.name);
  if (!serverNamed) checkName("queue", name);
  const args = cleanTable(cmd.arguments);
  const existing = ctx.store.queue(cmd.vhost, name);
  if (existing !== undefined) {
    if (serverNamed)
      throw new WarrenError("INTERNAL_ERROR", `generated queue name '${name}' is already in use`);
    checkExclusiveAccess(existing, owner, "strict");
    assertFieldEquivalence("queue", cmd.vhost, name, "durable", existing.durable, durable);
    assertFieldEquivalence("queue", cmd.vhost, name, "auto_delete", existing.autoDelete, autoDelete);
    const received = effectiveArgs(args, isReplicated(durable, exclusive, autoDelete));
    assertQueueArgsEquivalence(cmd.vhost, name, existing.arguments, received);
    return { created: false, queue: existing };
  }

  const declaredType = checkQueueArguments(cmd.vhost, name, args);
  if (declaredType === "quorum") checkQuorumProperties(cmd.vhost, name, durable, exclusive, autoDelete);
  const replicated = isReplicated(durable, exclusive, autoDelete);
  let members: readonly string[] = [cmd.node];
  let leader = cmd.node;
  if (replicated) {
    const p = cmd.placement;
    if (p === undefined || p.members.length === 0 || !p.members.includes(p.leader)) {
      throw new WarrenError("INTERNAL_ERROR", `no placement for new quorum ${rs("queue", cmd.vhost, name)}`);
    }
    members = [...p.members];
    leader = p.leader;
  }
  const queue: QueueRecord = {
    vhost: cmd.vhost,
    name,
    durable,
    autoDelete,
    owner,
    arguments: effectiveArgs(args, replicated),
    type: replicated ? "quorum" : "transient",
    group: replicated ? queueGroupId(cmd.vhost, name, ctx.index) : undefined,
    members,
    leader,
    createdIndex: ctx.index,
    createdAt: ctx.time,
    createdBy: cmd.user,
  };
  ctx.store.putQueue(queue);
  ctx.changes.push({ type: "queue-declared", queue });
  return { created: true, queue };
}

function generatedName(cmd: QueueDeclare): string {
  const g = cmd.generatedName;
  if (g === undefined || !g.startsWith(SERVER_NAMED_PREFIX) || g.length <= SERVER_NAMED_PREFIX.length) {
    throw new WarrenError("INTERNAL_ERROR", "a server-named queue.declare needs a generated 'amq.gen-' name");
  }
  return g;
}

/** rabbit_quorum_queue:declare/2 via rabbit_queue_type_util: auto-delete, exclusive, then durable. */
function checkQuorumProperties(
  vhost: string,
  name: string,
  durable: boolean,
  exclusive: boolean,
  ad: boolean,
): void {
  const refuse = (property: string) =>
    new WarrenError("PRECONDITION_FAILED", `invalid property '${property}' for ${rs("queue", vhost, name)}`);
  if (ad) throw refuse("auto-delete");
  if (exclusive) throw refuse("exclusive-owner");
  if (!durable) throw refuse("non-durable");
}

export function deleteQueue(ctx: ApplyContext, cmd: QueueDelete): MetaReplies["queue.delete"] {
  requireVHost(ctx, cmd.vhost);
  const name = stripCrLf(cmd.name);
  const q = ctx.store.queue(cmd.vhost, name);
  // RabbitMQ answers delete-ok (0 messages) for a queue that does not exist.
  if (q === undefined) return { deleted: false, queue: undefined };
  checkExclusiveAccess(q, cmd.connection, "lax");
  if (cmd.ifUnused === true || cmd.ifEmpty === true) {
    const seen = cmd.observed;
    if (seen === undefined) {
      throw new WarrenError(
        "INTERNAL_ERROR",
        "queue.delete with if-unused/if-empty needs the observed counts",
      );
    }
    if (cmd.ifUnused === true && seen.consumers > 0) {
      throw new WarrenError("PRECONDITION_FAILED", `${rs("queue", q.vhost, q.name)} in use`);
    }
    if (cmd.ifEmpty === true && seen.messages > 0) {
      throw new WarrenError("PRECONDITION_FAILED", `${rs("queue", q.vhost, q.name)} not empty`);
    }
  }
  ctx.store.deleteQueue(q, "deleted", ctx.changes);
  return { deleted: true, queue: q };
}

export function deleteQueueInternal(
  ctx: ApplyContext,
  cmd: QueueDeleteInternal,
): MetaReplies["queue.delete-internal"] {
  const q = ctx.store.queue(cmd.vhost, cmd.name);
  if (q === undefined || q.createdIndex !== cmd.incarnation) return { deleted: false };
  if (cmd.reason === "auto-delete" && !q.autoDelete) return { deleted: false };
  ctx.store.deleteQueue(q, cmd.reason, ctx.changes);
  return { deleted: true };
}

export function updatePlacement(
  ctx: ApplyContext,
  cmd: QueueUpdatePlacement,
): MetaReplies["queue.update-placement"] {
  const q = ctx.store.queue(cmd.vhost, cmd.name);
  if (q === undefined || q.createdIndex !== cmd.incarnation || q.type !== "quorum") return { updated: false };
  if (cmd.members.length === 0 || !cmd.members.includes(cmd.leader)) {
    throw new WarrenError("INTERNAL_ERROR", `invalid placement for ${rs("queue", q.vhost, q.name)}`);
  }
  const queue: QueueRecord = {
    ...q,
    initialMembers: q.initialMembers ?? q.members,
    members: [...cmd.members],
    leader: cmd.leader,
  };
  ctx.store.putQueue(queue);
  ctx.changes.push({ type: "queue-placement-changed", queue });
  return { updated: true };
}

/** RabbitMQ's queue collector: a closed connection takes its exclusive queues with it. */
export function connectionClosed(ctx: ApplyContext, cmd: ConnectionClosed): MetaReplies["connection.closed"] {
  const owned = ctx.store.queuesOwnedBy(cmd.connection);
  for (const q of owned) ctx.store.deleteQueue(q, "owner-closed", ctx.changes);
  return { deletedQueues: owned.length };
}

/** A node lost its memory: its transient queues are gone. */
export function nodeDown(ctx: ApplyContext, cmd: NodeDown): MetaReplies["node.down"] {
  const homed = [...ctx.store.queues.values()].filter((q) => q.type === "transient" && q.leader === cmd.node);
  for (const q of homed) ctx.store.deleteQueue(q, "home-node-down", ctx.changes);
  return { deletedQueues: homed.length };
}
