/**
 * Virtual hosts. Creating one declares its pre-declared exchanges; deleting one removes
 * everything in it (RabbitMQ's rabbit_vhost:delete). `/` exists from the start.
 */
import { WarrenError } from "../errors.js";
import type { ApplyContext } from "./context.js";
import { DEFAULT_VHOST, type MetaStore, SYSTEM_EXCHANGES } from "./store.js";
import type { MetaChange, MetaReplies, VHostCreate, VHostDelete, VHostRecord } from "./types.js";

/** Adds a vhost and its system exchanges, reporting them as changes. */
export function createVHostIn(
  store: MetaStore,
  vhost: VHostRecord,
  changes: MetaChange[],
  user: string | undefined,
): void {
  store.putVHost(vhost);
  changes.push({ type: "vhost-created", vhost });
  for (const [name, type] of SYSTEM_EXCHANGES) {
    const exchange = {
      vhost: vhost.name,
      name,
      type,
      durable: true,
      autoDelete: false,
      internal: false,
      arguments: {},
      system: true,
      createdIndex: vhost.createdIndex,
      createdAt: vhost.createdAt,
      createdBy: user,
    };
    store.putExchange(exchange);
    changes.push({ type: "exchange-declared", exchange });
  }
}

/** The store every metadata group starts from: the default vhost `/` and its exchanges. */
export function initialStore(store: MetaStore): void {
  createVHostIn(
    store,
    { name: DEFAULT_VHOST, description: "Default virtual host", tags: [], createdIndex: 0, createdAt: 0 },
    [],
    undefined,
  );
}

export function createVHost(ctx: ApplyContext, cmd: VHostCreate): MetaReplies["vhost.create"] {
  if (cmd.name === "") throw new WarrenError("PRECONDITION_FAILED", "vhost name must not be empty");
  const existing = ctx.store.vhosts.get(cmd.name);
  if (existing !== undefined) {
    // As the management API's PUT: an existing vhost keeps its contents; description and tags update.
    const vhost: VHostRecord = {
      ...existing,
      description: cmd.description ?? existing.description,
      tags: cmd.tags !== undefined ? [...cmd.tags] : existing.tags,
    };
    ctx.store.putVHost(vhost);
    return { created: false, vhost };
  }
  const vhost: VHostRecord = {
    name: cmd.name,
    description: cmd.description ?? "",
    tags: [...(cmd.tags ?? [])],
    createdIndex: ctx.index,
    createdAt: ctx.time,
  };
  createVHostIn(ctx.store, vhost, ctx.changes, cmd.user);
  return { created: true, vhost };
}

export function deleteVHost(ctx: ApplyContext, cmd: VHostDelete): MetaReplies["vhost.delete"] {
  if (!ctx.store.vhosts.has(cmd.name)) throw new WarrenError("NOT_FOUND", `vhost '${cmd.name}' not found`);
  ctx.store.deleteVHost(cmd.name, ctx.changes);
  return { deleted: true };
}
