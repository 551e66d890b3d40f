/**
 * One RoutingTable per vhost, kept as a mirror of the metadata group by replaying its change
 * events in log order, so every publish routes locally without asking anyone.
 */
import type { ExchangeRecord, MetaChange, MetaMachine } from "../meta/index.js";
import { RoutingTable } from "../routing/index.js";

export class RoutingMirror {
  private readonly tables = new Map<string, RoutingTable>();

  table(vhost: string): RoutingTable | undefined {
    return this.tables.get(vhost);
  }

  /** Rebuild from scratch (startup, snapshot install). */
  rebuild(machine: MetaMachine): void {
    this.tables.clear();
    this.apply(machine.replayChanges());
  }

  apply(changes: readonly MetaChange[]): void {
    for (const c of changes) {
      switch (c.type) {
        case "vhost-created":
          if (!this.tables.has(c.vhost.name)) this.tables.set(c.vhost.name, new RoutingTable());
          break;
        case "vhost-deleted":
          this.tables.delete(c.vhost);
          break;
        case "exchange-declared":
          this.declareExchange(c.exchange);
          break;
        case "exchange-deleted":
          this.tables.get(c.exchange.vhost)?.deleteExchange(c.exchange.name);
          break;
        case "queue-declared":
          this.tableFor(c.queue.vhost).addQueue(c.queue.name);
          break;
        case "queue-deleted":
          this.tables.get(c.queue.vhost)?.removeQueue(c.queue.name);
          break;
        case "binding-added": {
          const b = c.binding;
          this.tables
            .get(b.vhost)
            ?.bind(b.source, { kind: b.destinationKind, name: b.destination }, b.routingKey, b.arguments);
          break;
        }
        case "binding-removed": {
          const b = c.binding;
          this.tables
            .get(b.vhost)
            ?.unbind(b.source, { kind: b.destinationKind, name: b.destination }, b.routingKey, b.arguments);
          break;
        }
        default:
          break;
      }
    }
  }

  private tableFor(vhost: string): RoutingTable {
    let t = this.tables.get(vhost);
    if (t === undefined) {
      t = new RoutingTable();
      this.tables.set(vhost, t);
    }
    return t;
  }

  private declareExchange(x: ExchangeRecord): void {
    // The default exchange is implicit in the table.
    if (x.name === "") return;
    const t = this.tableFor(x.vhost);
    if (t.hasExchange(x.name)) return;
    t.declareExchange(x.name, x.type, x.arguments, { internal: x.internal });
  }
}
