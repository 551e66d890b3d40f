/**
 * Background duties of a starting node, retried until they succeed (they must not block startup
 * when there is no quorum):
 * - `node.down` for ITSELF to the metadata group: its transient queues died with its previous
 *   process; and `node-down` for itself to every quorum queue, so consumers of its previous
 *   process release their messages. Connection ids carry a per-process boot id, so these
 *   commands can never match a consumer of the new process.
 * - bootstrap: when this node leads the metadata group and there are no users, create the
 *   default user (administrator, password hashed) with full permissions on the default vhost,
 *   as RabbitMQ does on first boot.
 */
import type { NodeStorage } from "../../raft/storage/index.js";
import type { BrokerContext } from "./context.js";
import { META_GROUP } from "./meta-client.js";
import { hashPassword, SHA256_SCHEME } from "./passwords.js";
import type { QueueGroups } from "./queue-groups.js";

const RETRY_MS = 200;

async function retry(ctx: BrokerContext, what: string, op: () => Promise<unknown>): Promise<boolean> {
  for (let attempt = 0; !ctx.stopped; attempt++) {
    try {
      await op();
      return true;
    } catch (err) {
      if (attempt % 10 === 0) ctx.logger.debug({ err, what }, "startup task failed; retrying");
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
  return false;
}

/** Declares this node's previous process gone everywhere it matters; resolves when done. */
export async function announceRestart(ctx: BrokerContext, queues: QueueGroups): Promise<void> {
  await retry(ctx, "node.down", () => ctx.meta.propose({ type: "node.down", node: ctx.nodeId }));
  const quorum = ctx.meta.machine.queues({ type: "quorum" });
  await Promise.all(
    quorum.map((q) =>
      retry(ctx, "queue node-down", () => queues.execute(q, { type: "node-down", node: ctx.nodeId })),
    ),
  );
}

/** Registers the first-boot bootstrap: runs whenever this node becomes the metadata leader. */
export function bootstrapOnLeadership(ctx: BrokerContext): void {
  let running = false;
  ctx.host.onLeaderChange((group, leader) => {
    if (group !== META_GROUP || leader !== ctx.nodeId || running) return;
    running = true;
    void bootstrap(ctx).finally(() => {
      running = false;
    });
  });
}

async function bootstrap(ctx: BrokerContext): Promise<void> {
  const { settings, meta } = ctx;
  // A new leader may not have applied the whole log yet: wait for a read barrier first, so a
  // user created (or a password changed) earlier is seen and never overwritten.
  for (;;) {
    if (ctx.stopped || meta.leader() !== ctx.nodeId) return; // the new leader bootstraps
    try {
      await ctx.host.readIndex(META_GROUP);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
  if (meta.machine.users().length > 0) return;
  await retry(ctx, "bootstrap vhost", async () => {
    if (meta.machine.vhost(settings.defaultVhost) === undefined) {
      await meta.propose({ type: "vhost.create", name: settings.defaultVhost });
    }
  });
  if (meta.machine.users().length > 0) return;
  await retry(ctx, "bootstrap user", () =>
    meta.propose({
      type: "user.put",
      name: settings.defaultUser,
      passwordHash: hashPassword(settings.defaultPass),
      hashingAlgorithm: SHA256_SCHEME,
      tags: ["administrator"],
    }),
  );
  await retry(ctx, "bootstrap permissions", () =>
    meta.propose({
      type: "permission.set",
      vhost: settings.defaultVhost,
      username: settings.defaultUser,
      configure: ".*",
      write: ".*",
      read: ".*",
    }),
  );
  ctx.logger.info({ user: settings.defaultUser, vhost: settings.defaultVhost }, "default user created");
}

/**
 * Deletes the stored data of queue groups whose queue no longer exists (deleted while this node
 * was down, and compacted into a metadata snapshot it recovered from, so no `queue-deleted`
 * change ever reached it). Run once the metadata caught up (after the restart announcement).
 */
export async function removeOrphanGroups(
  ctx: BrokerContext,
  storage: NodeStorage,
  queues: QueueGroups,
): Promise<number> {
  const live = new Set<string>(queues.hostedReplicas().map((r) => r.group));
  for (const q of ctx.meta.machine.queues({ type: "quorum" })) if (q.group !== undefined) live.add(q.group);
  const running = new Set(ctx.host.groupIds());
  let removed = 0;
  for (const group of await storage.groups()) {
    if (group === META_GROUP || live.has(group) || running.has(group) || !group.startsWith("q:")) continue;
    storage.stageDeleteGroup(group);
    removed++;
  }
  if (removed > 0) {
    await storage.flush();
    ctx.logger.info({ removed }, "stored data of deleted queues removed");
  }
  return removed;
}
