/**
 * Background duties of a starting node, retried until they succeed (they must not block startup
 * when there is no quorum):
 * - `node.down` for ITSELF to the metadata group: its transient queues died with its previous
 *   process; and `node-down` for itself to every quorum queue, so consumers of its previous
 *   process release their messages. Connection ids carry a per-process boot id, so these
 *   commands can never match a consumer of the new process.
 * - bootstrap: when there is no user yet, create the default user (administrator, password
 *   hashed) with full permissions on the default vhost in one entry, as RabbitMQ does on first
 *   boot; the node is ready only after it applied it.
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
  // After node.down: this replica then applied the log at least that far, so a user created
  // earlier is seen here and no proposal is needed on a cluster that has one.
  await bootstrapDefaultUser(ctx);
  const quorum = ctx.meta.machine.queues({ type: "quorum" });
  await Promise.all(
    quorum.map((q) =>
      retry(ctx, "queue node-down", () => queues.execute(q, { type: "node-down", node: ctx.nodeId })),
    ),
  );
}

/**
 * First boot: proposes the default user with its permissions as ONE metadata entry when this
 * node sees no user. The machine ignores it once any user exists, so every starting node may
 * propose it (the first committed wins; nothing is ever overwritten) and no replica ever has the
 * user without its permissions. Resolves once THIS node applied it, so a node is ready only with
 * the default user usable (RabbitMQ creates both at boot).
 */
async function bootstrapDefaultUser(ctx: BrokerContext): Promise<void> {
  const { settings, meta } = ctx;
  if (meta.machine.users().length > 0) return;
  await retry(ctx, "bootstrap default user", async () => {
    const r = await meta.propose({
      type: "user.bootstrap",
      name: settings.defaultUser,
      passwordHash: hashPassword(settings.defaultPass),
      hashingAlgorithm: SHA256_SCHEME,
      tags: ["administrator"],
      vhost: settings.defaultVhost,
      configure: ".*",
      write: ".*",
      read: ".*",
    });
    if (r.created)
      ctx.logger.info({ user: settings.defaultUser, vhost: settings.defaultVhost }, "default user created");
  });
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
