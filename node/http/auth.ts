/**
 * HTTP basic auth and RabbitMQ's management tags.
 *
 * Every `/api` route declares the tag it needs in its route config (`access`); the onRequest
 * hook authenticates through `broker.authenticate` (which applies `loopback_users`) and checks
 * the tags. RabbitMQ's levels:
 * - `management`: any user tagged management, policymaker, monitoring or administrator; sees and
 *   uses the vhosts it has permissions in.
 * - `monitoring`: monitoring or administrator; sees every vhost (nodes, all queues).
 * - `administrator`: users, permissions, vhost creation and deletion.
 * Bad or missing credentials are 401 with `WWW-Authenticate`; a user without the tag is 403
 * (RabbitMQ answers 401 for both; see docs/http-api.md).
 */
import { randomBytes } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { Broker, ClientContext } from "../broker/types.js";
import { WarrenError } from "../errors.js";
import type { UserRecord } from "../meta/index.js";

export type Access = "none" | "management" | "monitoring" | "administrator";

const LEVEL_TAGS: Readonly<Record<Exclude<Access, "none">, readonly string[]>> = {
  management: ["management", "policymaker", "monitoring", "administrator"],
  monitoring: ["monitoring", "administrator"],
  administrator: ["administrator"],
};

const REFUSAL: Readonly<Record<Exclude<Access, "none">, string>> = {
  management: "Not management user",
  monitoring: "Not monitor user",
  administrator: "Not administrator user",
};

export interface AuthenticatedUser {
  readonly name: string;
  readonly tags: readonly string[];
}

declare module "fastify" {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    user?: AuthenticatedUser;
  }
}

export function parseBasicAuth(header: string | undefined): { user: string; pass: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

export function hasAccess(tags: readonly string[], access: Access): boolean {
  return access === "none" || LEVEL_TAGS[access].some((t) => tags.includes(t));
}

/** Administrators and monitors see every vhost; others the vhosts they have permissions in. */
export function seesAllVhosts(user: AuthenticatedUser): boolean {
  return hasAccess(user.tags, "monitoring");
}

export async function authenticate(broker: Broker, request: FastifyRequest, access: Access): Promise<void> {
  if (access === "none") return;
  const creds = parseBasicAuth(request.headers.authorization);
  if (!creds) throw new WarrenError("UNAUTHORIZED", "Not_Authorized");
  let record: UserRecord;
  try {
    record = await broker.authenticate(creds.user, creds.pass, request.ip);
  } catch (err) {
    if (err instanceof WarrenError && (err.code === "ACCESS_REFUSED" || err.code === "UNAUTHORIZED")) {
      throw new WarrenError("UNAUTHORIZED", "Login failed");
    }
    throw err;
  }
  request.user = { name: record.name, tags: record.tags };
  if (!hasAccess(record.tags, access)) throw new WarrenError("NOT_ALLOWED", REFUSAL[access]);
}

let nextRequestConnection = 0;

/**
 * Tells this process's pseudo-connections from a previous process's on the same node (whose
 * unacked messages the queues may still hold until the restart is announced).
 */
export const BOOT_ID = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;

/**
 * The ClientContext of one HTTP request acting in `vhost`: a connection of its own
 * (`${nodeId}/http-req-${boot}-${n}`), so the broker's exclusivity and channel bookkeeping never mix
 * two requests.
 */
export function requestContext(broker: Broker, request: FastifyRequest, vhost: string): ClientContext {
  const user = request.user;
  if (!user) throw new WarrenError("UNAUTHORIZED", "Not_Authorized");
  nextRequestConnection += 1;
  return {
    user: user.name,
    vhost,
    connection: `${broker.nodeId}/http-req-${BOOT_ID}-${nextRequestConnection}`,
    tags: user.tags,
    remoteAddress: request.ip,
  };
}

/**
 * The context for a request on resources of `vhost`: 404 when the vhost does not exist (as
 * RabbitMQ, which checks existence before anything else), then, for users who do not see every
 * vhost, the user must have access to it.
 */
export function vhostContext(broker: Broker, request: FastifyRequest, vhost: string): ClientContext {
  if (!broker.listVhosts().some((v) => v.name === vhost)) throw new WarrenError("NOT_FOUND", "Not Found");
  const user = request.user;
  if (user && !seesAllVhosts(user)) broker.checkVhostAccess(user.name, vhost);
  return requestContext(broker, request, vhost);
}

/** The vhosts whose objects a list request shows this user. */
export function visibleVhosts(broker: Broker, request: FastifyRequest): Set<string> {
  const user = request.user;
  const all = broker.listVhosts().map((v) => v.name);
  if (!user || seesAllVhosts(user)) return new Set(all);
  const mine = new Set(broker.listPermissions({ user: user.name }).map((p) => p.vhost));
  return new Set(all.filter((v) => mine.has(v)));
}
