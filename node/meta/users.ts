/**
 * Users and their per-vhost permissions (RabbitMQ's internal auth backend data). Hashing,
 * salting and verifying passwords are the node layer's: the machine stores the hash opaquely.
 * There is no user at the start: the node that bootstraps a cluster proposes `guest` (tag
 * `administrator`, full permissions on `/`), as RabbitMQ creates it on first boot.
 */
import { WarrenError } from "../errors.js";
import { type ApplyContext, requireVHost } from "./context.js";
import { entityKey } from "./store.js";
import type {
  MetaReplies,
  PermissionDelete,
  PermissionRecord,
  PermissionSet,
  UserBootstrap,
  UserDelete,
  UserPut,
  UserRecord,
} from "./types.js";
import { createVHostIn } from "./vhosts.js";

/** RabbitMQ's default password hashing scheme name. */
export const DEFAULT_HASHING_ALGORITHM = "rabbit_password_hashing_sha256";

function requireUser(ctx: ApplyContext, name: string): UserRecord {
  const u = ctx.store.users.get(name);
  if (u === undefined) throw new WarrenError("NOT_FOUND", `no user '${name}'`);
  return u;
}

export function putUser(ctx: ApplyContext, cmd: UserPut): MetaReplies["user.put"] {
  if (cmd.name === "") throw new WarrenError("BAD_REQUEST", "user name must not be empty");
  const existing = ctx.store.users.get(cmd.name);
  const keep = existing?.passwordHash;
  const user: UserRecord = {
    name: cmd.name,
    passwordHash: cmd.clearPassword === true ? undefined : (cmd.passwordHash ?? keep),
    hashingAlgorithm: cmd.hashingAlgorithm ?? existing?.hashingAlgorithm ?? DEFAULT_HASHING_ALGORITHM,
    tags: [...(cmd.tags ?? existing?.tags ?? [])],
    createdIndex: existing?.createdIndex ?? ctx.index,
  };
  ctx.store.putUser(user);
  ctx.changes.push({ type: "user-put", user });
  return { created: existing === undefined, user };
}

/** The default user and its permissions in one step (see UserBootstrap); nothing if a user exists. */
export function bootstrapUser(ctx: ApplyContext, cmd: UserBootstrap): MetaReplies["user.bootstrap"] {
  if (ctx.store.users.size > 0) return { created: false };
  if (cmd.name === "") throw new WarrenError("BAD_REQUEST", "user name must not be empty");
  if (cmd.vhost === "") throw new WarrenError("PRECONDITION_FAILED", "vhost name must not be empty");
  checkRegex("configure", cmd.configure);
  checkRegex("write", cmd.write);
  checkRegex("read", cmd.read);
  if (!ctx.store.vhosts.has(cmd.vhost)) {
    const vhost = {
      name: cmd.vhost,
      description: "",
      tags: [],
      createdIndex: ctx.index,
      createdAt: ctx.time,
    };
    createVHostIn(ctx.store, vhost, ctx.changes, cmd.user);
  }
  putUser(ctx, {
    type: "user.put",
    name: cmd.name,
    passwordHash: cmd.passwordHash,
    ...(cmd.hashingAlgorithm !== undefined ? { hashingAlgorithm: cmd.hashingAlgorithm } : {}),
    tags: cmd.tags,
  });
  const { configure, write, read } = cmd;
  setPermission(ctx, {
    type: "permission.set",
    vhost: cmd.vhost,
    username: cmd.name,
    configure,
    write,
    read,
  });
  return { created: true };
}

export function deleteUser(ctx: ApplyContext, cmd: UserDelete): MetaReplies["user.delete"] {
  requireUser(ctx, cmd.name);
  ctx.store.deletePermissions((p) => p.user === cmd.name, ctx.changes);
  ctx.store.users.delete(cmd.name);
  ctx.changes.push({ type: "user-deleted", user: cmd.name });
  return { deleted: true };
}

function checkRegex(which: string, source: string): void {
  try {
    new RegExp(source);
  } catch {
    throw new WarrenError("BAD_REQUEST", `invalid regular expression '${source}' for ${which}`);
  }
}

export function setPermission(ctx: ApplyContext, cmd: PermissionSet): MetaReplies["permission.set"] {
  requireVHost(ctx, cmd.vhost);
  requireUser(ctx, cmd.username);
  checkRegex("configure", cmd.configure);
  checkRegex("write", cmd.write);
  checkRegex("read", cmd.read);
  const permission: PermissionRecord = {
    vhost: cmd.vhost,
    user: cmd.username,
    configure: cmd.configure,
    write: cmd.write,
    read: cmd.read,
  };
  ctx.store.putPermission(permission);
  ctx.changes.push({ type: "permission-set", permission });
  return { permission };
}

export function deletePermission(ctx: ApplyContext, cmd: PermissionDelete): MetaReplies["permission.delete"] {
  const key = entityKey(cmd.vhost, cmd.username);
  if (!ctx.store.permissions.has(key)) {
    throw new WarrenError("NOT_FOUND", `no permissions for user '${cmd.username}' in vhost '${cmd.vhost}'`);
  }
  ctx.store.deletePermissions((p) => p.vhost === cmd.vhost && p.user === cmd.username, ctx.changes);
  return { deleted: true };
}
