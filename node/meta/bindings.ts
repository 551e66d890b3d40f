/**
 * queue.bind / exchange.bind and their unbinds, as rabbit_channel:binding_action and
 * rabbit_binding:add/remove: the default exchange is refused on either end; a missing source or
 * destination is 404 on bind but a silent no-op on unbind; the source type validates the binding;
 * an exclusive queue refuses other connections; an existing binding is a no-op.
 */
import { checkBinding } from "./args.js";
import {
  type ApplyContext,
  checkExclusiveAccess,
  checkNotDefaultExchange,
  notFound,
  requireVHost,
  stripCrLf,
} from "./context.js";
import { cleanTable } from "./store.js";
import type { BindingAdd, BindingRecord, BindingRemove, MetaReplies, QueueRecord } from "./types.js";

function recordOf(cmd: BindingAdd | BindingRemove): BindingRecord {
  return {
    vhost: cmd.vhost,
    source: stripCrLf(cmd.source),
    destinationKind: cmd.destinationKind,
    destination: stripCrLf(cmd.destination),
    routingKey: cmd.routingKey,
    arguments: cleanTable(cmd.arguments),
  };
}

function checkEnds(b: BindingRecord): void {
  if (b.destinationKind === "exchange") checkNotDefaultExchange(b.destination);
  checkNotDefaultExchange(b.source);
}

function destinationQueue(ctx: ApplyContext, b: BindingRecord): QueueRecord | undefined {
  return b.destinationKind === "queue" ? ctx.store.queue(b.vhost, b.destination) : undefined;
}

function destinationExists(ctx: ApplyContext, b: BindingRecord): boolean {
  return b.destinationKind === "queue"
    ? ctx.store.queue(b.vhost, b.destination) !== undefined
    : ctx.store.exchange(b.vhost, b.destination) !== undefined;
}

export function addBinding(ctx: ApplyContext, cmd: BindingAdd): MetaReplies["binding.add"] {
  requireVHost(ctx, cmd.vhost);
  const b = recordOf(cmd);
  checkEnds(b);
  const source = ctx.store.exchange(b.vhost, b.source);
  if (source === undefined) throw notFound("exchange", b.vhost, b.source);
  if (!destinationExists(ctx, b)) throw notFound(b.destinationKind, b.vhost, b.destination);
  checkBinding(source.type, b.routingKey, b.arguments);
  const q = destinationQueue(ctx, b);
  if (q !== undefined) checkExclusiveAccess(q, cmd.connection, "lax");
  if (!ctx.store.addBinding(b)) return { created: false };
  ctx.changes.push({ type: "binding-added", binding: b });
  return { created: true };
}

export function removeBinding(ctx: ApplyContext, cmd: BindingRemove): MetaReplies["binding.remove"] {
  requireVHost(ctx, cmd.vhost);
  const b = recordOf(cmd);
  checkEnds(b);
  if (ctx.store.exchange(b.vhost, b.source) === undefined || !destinationExists(ctx, b))
    return { removed: false };
  if (!ctx.store.hasBinding(b)) return { removed: false };
  const q = destinationQueue(ctx, b);
  if (q !== undefined) checkExclusiveAccess(q, cmd.connection, "lax");
  ctx.store.removeBinding(b, ctx.changes);
  return { removed: true };
}
