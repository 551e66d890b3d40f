/**
 * Random declare / bind / unbind / delete / disconnect / node-down sequences, checking after
 * every command the invariants RabbitMQ keeps (no dangling bindings, auto-delete exchanges gone
 * with their last binding, exclusive queues gone with their connection, queue types consistent),
 * that the change stream rebuilds exactly the machine's state, and that replaying from any
 * snapshot gives the same replies and the same final state as replaying everything.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MetaMachine } from "../machine.js";
import type { MetaChange, MetaCommand } from "../types.js";
import { clean, commands } from "./arbitraries.js";

/** What a node derives from the change stream alone (its routing index, its queue groups). */
class Mirror {
  vhosts = new Set<string>();
  exchanges = new Set<string>();
  queues = new Set<string>();
  bindings = new Map<string, { src: string; dst: string }>();
  users = new Set<string>();
  permissions = new Set<string>();

  apply(c: MetaChange): void {
    switch (c.type) {
      case "vhost-created":
        this.vhosts.add(c.vhost.name);
        break;
      case "vhost-deleted":
        for (const p of this.permissions) expect(p.startsWith(`${c.vhost}|`)).toBe(false);
        this.vhosts.delete(c.vhost);
        break;
      case "exchange-declared":
        expect(this.vhosts.has(c.exchange.vhost)).toBe(true);
        this.exchanges.add(`${c.exchange.vhost}|${c.exchange.name}`);
        break;
      case "exchange-deleted": {
        const key = `${c.exchange.vhost}|${c.exchange.name}`;
        // Bindings are always removed before the entity they reference.
        for (const b of this.bindings.values()) expect(b.src !== key && b.dst !== `e|${key}`).toBe(true);
        expect(this.exchanges.delete(key)).toBe(true);
        break;
      }
      case "queue-declared":
        this.queues.add(`${c.queue.vhost}|${c.queue.name}`);
        break;
      case "queue-deleted": {
        const key = `${c.queue.vhost}|${c.queue.name}`;
        for (const b of this.bindings.values()) expect(b.dst).not.toBe(`q|${key}`);
        expect(this.queues.delete(key)).toBe(true);
        break;
      }
      case "queue-placement-changed":
        break;
      case "binding-added": {
        const b = c.binding;
        const src = `${b.vhost}|${b.source}`;
        const dst = `${b.destinationKind === "queue" ? "q" : "e"}|${b.vhost}|${b.destination}`;
        expect(this.exchanges.has(src)).toBe(true);
        expect(
          b.destinationKind === "queue" ? this.queues.has(dst.slice(2)) : this.exchanges.has(dst.slice(2)),
        ).toBe(true);
        this.bindings.set(JSON.stringify(b), { src, dst });
        break;
      }
      case "binding-removed":
        expect(this.bindings.delete(JSON.stringify(c.binding))).toBe(true);
        break;
      case "user-put":
        this.users.add(c.user.name);
        break;
      case "user-deleted":
        for (const p of this.permissions) expect(p.endsWith(`|${c.user}`)).toBe(false);
        expect(this.users.delete(c.user)).toBe(true);
        break;
      case "permission-set":
        expect(this.vhosts.has(c.permission.vhost) && this.users.has(c.permission.user)).toBe(true);
        this.permissions.add(`${c.permission.vhost}|${c.permission.user}`);
        break;
      case "permission-deleted":
        expect(this.permissions.delete(`${c.vhost}|${c.user}`)).toBe(true);
        break;
    }
  }

  static of(m: MetaMachine): Mirror {
    const mirror = new Mirror();
    for (const c of m.replayChanges()) mirror.apply(c);
    return mirror;
  }

  summary() {
    return {
      vhosts: [...this.vhosts].sort(),
      exchanges: [...this.exchanges].sort(),
      queues: [...this.queues].sort(),
      bindings: [...this.bindings.keys()].sort(),
      users: [...this.users].sort(),
      permissions: [...this.permissions].sort(),
    };
  }
}

function checkInvariants(m: MetaMachine, everBound: Set<string>, closed: string | undefined): void {
  const vhosts = new Set(m.vhosts().map((v) => v.name));
  for (const b of m.bindings()) {
    // No dangling bindings, never from the default exchange.
    expect(vhosts.has(b.vhost)).toBe(true);
    expect(b.source).not.toBe("");
    expect(m.exchange(b.vhost, b.source)).toBeDefined();
    const dst =
      b.destinationKind === "queue" ? m.queue(b.vhost, b.destination) : m.exchange(b.vhost, b.destination);
    expect(dst).toBeDefined();
  }
  for (const x of m.exchanges()) {
    expect(vhosts.has(x.vhost)).toBe(true);
    // An auto-delete exchange that had a binding is gone once it has none.
    if (x.autoDelete && everBound.has(`${x.vhost}|${x.name}|${x.createdIndex}`)) {
      expect(m.bindings({ vhost: x.vhost, source: x.name }).length).toBeGreaterThan(0);
    }
  }
  for (const q of m.queues()) {
    expect(vhosts.has(q.vhost)).toBe(true);
    expect(q.type === "quorum").toBe(q.durable && q.owner === undefined && !q.autoDelete);
    expect(q.group === undefined).toBe(q.type === "transient");
    if (closed !== undefined) expect(q.owner).not.toBe(closed);
    if (q.owner !== undefined) expect(q.durable).toBe(false);
  }
  for (const v of vhosts) expect(m.exchange(v, "")).toBeDefined();
  for (const c of ["c1", "c2"]) {
    // The owner index agrees with a scan of the records.
    expect(m.queues({ owner: c })).toEqual(m.queues().filter((q) => q.owner === c));
  }
  for (const p of m.permissions()) expect(vhosts.has(p.vhost) && m.user(p.user) !== undefined).toBe(true);
}

function runAll(cmds: readonly MetaCommand[], m: MetaMachine, from: number) {
  const replies: unknown[] = [];
  for (let i = from; i < cmds.length; i++) {
    const cmd = clean(cmds[i] as MetaCommand, m);
    replies.push(m.apply({ group: "meta", index: i + 1, term: 1, time: 1000 + i }, cmd));
  }
  return replies;
}

describe("metadata machine properties", () => {
  it("keeps RabbitMQ's invariants, and the change stream rebuilds the state", () => {
    fc.assert(
      fc.property(commands, (cmds) => {
        const m = new MetaMachine();
        const mirror = Mirror.of(m);
        const everBound = new Set<string>();
        cmds.forEach((raw, i) => {
          const cmd = clean(raw, m);
          const r = m.apply({ group: "meta", index: i + 1, term: 1, time: 1000 + i }, cmd);
          if (!r.reply.ok) expect(r.changes).toEqual([]);
          for (const c of r.changes) {
            mirror.apply(c);
            if (c.type === "binding-added") {
              const x = m.exchange(c.binding.vhost, c.binding.source);
              if (x !== undefined) everBound.add(`${x.vhost}|${x.name}|${x.createdIndex}`);
            }
          }
          checkInvariants(m, everBound, cmd.type === "connection.closed" ? cmd.connection : undefined);
          expect(mirror.summary()).toEqual(Mirror.of(m).summary());
        });
      }),
      { numRuns: 300 },
    );
  });

  it("replaying from any snapshot gives the same replies and state as replaying everything", () => {
    fc.assert(
      fc.property(commands, fc.nat(), (cmds, at) => {
        const cut = cmds.length === 0 ? 0 : at % (cmds.length + 1);
        const full = new MetaMachine();
        const all = runAll(cmds, full, 0);

        const prefix = new MetaMachine();
        runAll(cmds.slice(0, cut), prefix, 0);
        const restored = new MetaMachine();
        restored.restore(prefix.snapshot(), { index: cut, term: 1 });
        expect(restored.snapshot().live).toEqual([]);
        const rest = runAll(cmds, restored, cut);

        expect(rest).toEqual(all.slice(cut));
        expect(Buffer.from(restored.snapshot().state).equals(Buffer.from(full.snapshot().state))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
