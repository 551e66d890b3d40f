/**
 * The routing table of one virtual host: exchanges, queues and bindings, mirrored by every node
 * from the metadata group, answering "which queues does this publish reach?".
 *
 * Pure and synchronous. Updates are incremental (each exchange type keeps its own index). The
 * table trusts its caller: the metadata machine has already applied RabbitMQ's declare and bind
 * rules (reserved names, 404s, equivalence) and uses `validate.ts` for argument checks; a call
 * that contradicts the table throws RoutingError, which means a bug, not a client error.
 */
import { createBehaviour } from "./exchange-types.js";
import { canonicalTable, stringArg } from "./field-values.js";
import type { BindingRec, DestRec, ExchangeRec, QueueRec, RoutedMessage } from "./records.js";
import { destId } from "./records.js";
import {
  type BindingInfo,
  type Destination,
  type ExchangeOptions,
  type ExchangeType,
  type FieldTable,
  type HashableProperties,
  type RouteResult,
  RoutingError,
} from "./types.js";
import { validateBinding, validateExchange } from "./validate.js";

const EMPTY: FieldTable = Object.freeze({});

function toInfo(b: BindingRec): BindingInfo {
  return {
    source: b.source.name,
    destination: { kind: b.dest.kind, name: b.dest.name },
    routingKey: b.routingKey,
    args: b.args,
  };
}

export class RoutingTable {
  private readonly exchanges = new Map<string, ExchangeRec>();
  private readonly queues = new Map<string, QueueRec>();
  private epoch = 0;
  // Scratch reused by every route call (routing is synchronous and never re-entered).
  private readonly scratch: DestRec[] = [];
  private readonly work: ExchangeRec[] = [];
  private readonly singleKey: string[] = [""];

  // ---- queues -------------------------------------------------------------------------------

  /** Make a queue known (the default exchange routes to it by name). Idempotent. */
  addQueue(name: string): boolean {
    if (this.queues.has(name)) return false;
    this.queues.set(name, { kind: "queue", name, stamp: 0, inbound: new Set() });
    return true;
  }

  hasQueue(name: string): boolean {
    return this.queues.has(name);
  }

  /** Forget a queue and every binding to it; returns the bindings removed. */
  removeQueue(name: string): BindingInfo[] {
    const q = this.queues.get(name);
    if (q === undefined) return [];
    const removed = [...q.inbound].map((b) => this.dropBinding(b));
    this.queues.delete(name);
    return removed;
  }

  // ---- exchanges ----------------------------------------------------------------------------

  /**
   * Declare an exchange. Redeclaring with the same type, arguments and options is a no-op
   * (returns false); anything else for an existing name throws, as meta answers 406 first.
   */
  declareExchange(
    name: string,
    type: ExchangeType,
    args: FieldTable = EMPTY,
    opts: ExchangeOptions = {},
  ): boolean {
    if (name === "") throw new RoutingError("the default exchange is implicit and cannot be declared");
    const invalid = validateExchange(type, args);
    if (invalid !== undefined) throw new RoutingError(`exchange '${name}': ${invalid.message}`);
    const canonicalArgs = canonicalTable(args);
    const internal = opts.internal ?? false;
    const existing = this.exchanges.get(name);
    if (existing !== undefined) {
      if (
        existing.type === type &&
        existing.canonicalArgs === canonicalArgs &&
        existing.internal === internal
      ) {
        return false;
      }
      throw new RoutingError(`exchange '${name}' already exists with different properties`);
    }
    // A frozen copy: later mutation of the caller's object must not change routing.
    const ownArgs = Object.freeze({ ...args });
    const ae = stringArg(ownArgs["alternate-exchange"]);
    this.exchanges.set(name, {
      kind: "exchange",
      name,
      type,
      args: ownArgs,
      canonicalArgs,
      internal,
      alternate: ae,
      stamp: 0,
      inbound: new Set(),
      outbound: new Map(),
      behaviour: createBehaviour(type, ownArgs),
    });
    return true;
  }

  hasExchange(name: string): boolean {
    return name === "" || this.exchanges.has(name);
  }

  exchangeType(name: string): ExchangeType | undefined {
    return name === "" ? "direct" : this.exchanges.get(name)?.type;
  }

  isInternal(name: string): boolean {
    return this.exchanges.get(name)?.internal ?? false;
  }

  /**
   * Delete an exchange with its bindings as source and as destination; returns them. Exchanges
   * naming it as alternate keep the name (it applies again if the exchange is redeclared).
   */
  deleteExchange(name: string): BindingInfo[] {
    const x = this.exchanges.get(name);
    if (x === undefined) return [];
    const removed: BindingInfo[] = [];
    // Its own index is discarded whole, so its outbound bindings skip the per-binding removal
    // (a consistent-hash ring would otherwise be rebuilt once per binding).
    for (const b of x.outbound.values()) {
      b.dest.inbound.delete(b);
      removed.push(toInfo(b));
    }
    for (const b of x.inbound) if (b.source !== x) removed.push(this.dropBinding(b));
    x.outbound.clear();
    this.exchanges.delete(name);
    return removed;
  }

  // ---- bindings -----------------------------------------------------------------------------

  /** Add a binding; false if the same binding (source, destination, key, args) exists. */
  bind(source: string, destination: Destination, routingKey: string, args: FieldTable = EMPTY): boolean {
    const x = this.sourceOf(source);
    const dest = this.destOf(destination);
    const invalid = validateBinding(x.type, routingKey, args);
    if (invalid !== undefined) throw new RoutingError(`binding from '${source}': ${invalid.message}`);
    const id = bindingId(destination, routingKey, args);
    if (x.outbound.has(id)) return false;
    const b: BindingRec = { id, source: x, dest, routingKey, args: Object.freeze({ ...args }) };
    x.outbound.set(id, b);
    dest.inbound.add(b);
    x.behaviour.add(b);
    return true;
  }

  /** Remove a binding; false if there was none. */
  unbind(source: string, destination: Destination, routingKey: string, args: FieldTable = EMPTY): boolean {
    const x = this.exchanges.get(source);
    if (x === undefined) return false;
    const b = x.outbound.get(bindingId(destination, routingKey, args));
    if (b === undefined) return false;
    this.dropBinding(b);
    return true;
  }

  hasBinding(
    source: string,
    destination: Destination,
    routingKey: string,
    args: FieldTable = EMPTY,
  ): boolean {
    return this.exchanges.get(source)?.outbound.has(bindingId(destination, routingKey, args)) ?? false;
  }

  /** Every binding, or those of one source exchange, in a stable order (source, then id). */
  bindings(source?: string): BindingInfo[] {
    const xs =
      source === undefined
        ? [...this.exchanges.values()]
        : [this.exchanges.get(source)].filter((x) => x !== undefined);
    const out: BindingRec[] = [];
    for (const x of xs) for (const b of x.outbound.values()) out.push(b);
    out.sort((a, b) => cmp(a.source.name, b.source.name) || cmp(a.id, b.id));
    return out.map(toInfo);
  }

  /** Bindings that have `name` as destination (meta uses it for auto-delete decisions). */
  bindingsTo(destination: Destination): BindingInfo[] {
    const d =
      destination.kind === "queue" ? this.queues.get(destination.name) : this.exchanges.get(destination.name);
    if (d === undefined) return [];
    return [...d.inbound].sort((a, b) => cmp(a.source.name, b.source.name) || cmp(a.id, b.id)).map(toInfo);
  }

  private sourceOf(name: string): ExchangeRec {
    if (name === "") throw new RoutingError("the default exchange cannot be bound to or from");
    const x = this.exchanges.get(name);
    if (x === undefined) throw new RoutingError(`no exchange '${name}'`);
    return x;
  }

  private destOf(d: Destination): DestRec {
    const rec = d.kind === "queue" ? this.queues.get(d.name) : this.exchanges.get(d.name);
    if (rec === undefined) {
      throw new RoutingError(
        d.name === "" && d.kind === "exchange"
          ? "the default exchange cannot be bound to"
          : `no ${d.kind} '${d.name}'`,
      );
    }
    return rec;
  }

  private dropBinding(b: BindingRec): BindingInfo {
    b.source.outbound.delete(b.id);
    b.dest.inbound.delete(b);
    b.source.behaviour.remove(b);
    return toInfo(b);
  }

  // ---- routing ------------------------------------------------------------------------------

  /**
   * Route a message as rabbit_exchange:route does: the exchange's type picks destinations;
   * exchange destinations are routed in turn (each exchange at most once, so cycles end); an
   * exchange whose type picked no destination at all hands the message to its alternate
   * exchange, which may have its own. Queues come out once each, sorted by name.
   *
   * `routingKey` may be several keys (the routing key plus CC/BCC headers); the default,
   * direct and topic exchanges route on each. An unknown exchange routes nowhere.
   */
  route(
    exchange: string,
    routingKey: string | readonly string[],
    headers?: FieldTable,
    properties?: HashableProperties,
  ): RouteResult {
    let keys: readonly string[];
    if (typeof routingKey === "string") {
      this.singleKey[0] = routingKey;
      keys = this.singleKey;
    } else {
      keys = routingKey.length === 0 ? [""] : routingKey;
    }
    const epoch = ++this.epoch;
    const queues: string[] = [];
    if (exchange === "") {
      this.routeDefault(keys, epoch, queues);
      return finish(queues);
    }
    const start = this.exchanges.get(exchange);
    if (start === undefined) return finish(queues);
    const msg: RoutedMessage = { keys, headers, properties };
    const work = this.work;
    const out = this.scratch;
    work.length = 0;
    start.stamp = epoch;
    work.push(start);
    while (work.length > 0) {
      const x = work.pop()!;
      out.length = 0;
      x.behaviour.collect(msg, out);
      if (out.length === 0 && x.alternate !== undefined) {
        this.routeAlternate(x.alternate, keys, epoch, queues);
      }
      for (const d of out) {
        if (d.stamp === epoch) continue;
        d.stamp = epoch;
        if (d.kind === "queue") queues.push(d.name);
        else work.push(d);
      }
    }
    out.length = 0;
    return finish(queues);
  }

  /** The default exchange: each key names a queue, if it exists. */
  private routeDefault(keys: readonly string[], epoch: number, queues: string[]): void {
    for (const k of keys) {
      const q = this.queues.get(k);
      if (q !== undefined && q.stamp !== epoch) {
        q.stamp = epoch;
        queues.push(q.name);
      }
    }
  }

  private routeAlternate(name: string, keys: readonly string[], epoch: number, queues: string[]): void {
    // An alternate of "" is the default exchange itself (queue named by the key).
    if (name === "") {
      this.routeDefault(keys, epoch, queues);
      return;
    }
    const ae = this.exchanges.get(name);
    // A missing alternate is ignored (RabbitMQ logs a warning); a seen one is not routed twice.
    if (ae === undefined || ae.stamp === epoch) return;
    ae.stamp = epoch;
    this.work.push(ae);
  }

  // ---- introspection ------------------------------------------------------------------------

  stats(): { exchanges: number; queues: number; bindings: number } {
    let bindings = 0;
    for (const x of this.exchanges.values()) bindings += x.outbound.size;
    return { exchanges: this.exchanges.size, queues: this.queues.size, bindings };
  }
}

function bindingId(d: Destination, routingKey: string, args: FieldTable): string {
  return destId(d) + "\u0000" + routingKey + "\u0000" + canonicalTable(args);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function finish(queues: string[]): RouteResult {
  if (queues.length > 1) queues.sort();
  return { queues, unroutable: queues.length === 0 };
}
