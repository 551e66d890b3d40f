/**
 * Authentication and authorisation with RabbitMQ's rules and texts, against this node's copy of
 * the metadata: users with salted SHA-256 hashes, `loopback_users`, and per-vhost
 * configure/write/read regular expressions (the default exchange is named `amq.default`).
 */
import { loginAllowedFrom } from "../config/loopback.js";
import { WarrenError } from "../errors.js";
import type { MetaMachine, PermissionKind, UserRecord } from "../meta/index.js";
import { verifyPassword } from "./passwords.js";
import type { ClientContext } from "./types.js";

export function authenticate(
  machine: MetaMachine,
  loopbackUsers: readonly string[],
  username: string,
  password: string,
  remoteAddress: string | undefined,
): UserRecord {
  const user = machine.user(username);
  if (user === undefined || !verifyPassword(password, user.passwordHash)) {
    // rabbit_auth_backend_internal's log text; the doors render 401 / connection 403.
    throw new WarrenError("UNAUTHORIZED", `user '${username}' - invalid credentials`);
  }
  if (!loginAllowedFrom(username, remoteAddress, loopbackUsers)) {
    throw new WarrenError("UNAUTHORIZED", `user '${username}' can only connect via localhost`);
  }
  return user;
}

export function authorize(
  machine: MetaMachine,
  ctx: ClientContext,
  kind: PermissionKind,
  resource: { kind: "queue" | "exchange"; name: string },
): void {
  const name = resource.kind === "exchange" && resource.name === "" ? "amq.default" : resource.name;
  if (machine.permits(ctx.user, ctx.vhost, kind, name)) return;
  throw new WarrenError(
    "ACCESS_REFUSED",
    `access to ${resource.kind} '${name}' in vhost '${ctx.vhost}' refused for user '${ctx.user}'`,
  );
}

export function checkVhostAccess(machine: MetaMachine, user: string, vhost: string): void {
  if (machine.vhost(vhost) === undefined) throw new WarrenError("NOT_ALLOWED", `vhost ${vhost} not found`);
  if (machine.permission(vhost, user) === undefined) {
    throw new WarrenError("NOT_ALLOWED", `access to vhost '${vhost}' refused for user '${user}'`);
  }
}
