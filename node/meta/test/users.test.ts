import { describe, expect, it } from "vitest";
import { Harness } from "./harness.js";

function withGuest(): Harness {
  const h = new Harness();
  h.ok({ type: "user.put", name: "guest", passwordHash: "hash-of-guest", tags: ["administrator"] });
  h.ok({ type: "permission.set", vhost: "/", username: "guest", configure: ".*", write: ".*", read: ".*" });
  return h;
}

describe("users (RabbitMQ's internal auth backend)", () => {
  it("there is no user until the bootstrapping node proposes guest", () => {
    expect(new Harness().machine.users()).toEqual([]);
    expect(withGuest().machine.user("guest")).toMatchObject({
      passwordHash: "hash-of-guest",
      hashingAlgorithm: "rabbit_password_hashing_sha256",
      tags: ["administrator"],
    });
  });

  it("putting an existing user updates it and keeps its password unless a new one is given", () => {
    const h = withGuest();
    const r = h.ok({ type: "user.put", name: "guest", tags: ["management"] });
    expect(r.created).toBe(false);
    expect(r.user).toMatchObject({ passwordHash: "hash-of-guest", tags: ["management"] });
    expect(h.ok({ type: "user.put", name: "guest", clearPassword: true }).user.passwordHash).toBeUndefined();
  });

  it("deleting a user deletes its permissions and tells nodes to close its connections", () => {
    const h = withGuest();
    const r = h.ok({ type: "user.delete", name: "guest" });
    expect(r.changes).toEqual([
      { type: "permission-deleted", vhost: "/", user: "guest" },
      { type: "user-deleted", user: "guest" },
    ]);
    expect(h.machine.permissions()).toEqual([]);
    expect(h.fail({ type: "user.delete", name: "guest" })).toEqual({
      code: "NOT_FOUND",
      message: "no user 'guest'",
    });
  });
});

describe("user.bootstrap (first boot)", () => {
  const boot = {
    type: "user.bootstrap",
    name: "guest",
    passwordHash: "hash-of-guest",
    tags: ["administrator"],
    vhost: "/",
    configure: ".*",
    write: ".*",
    read: ".*",
  } as const;

  it("creates the user with its permissions in one entry, so no replica sees one without the other", () => {
    const h = new Harness();
    const r = h.ok(boot);
    expect(r.created).toBe(true);
    expect(r.changes.map((c) => c.type)).toEqual(["user-put", "permission-set"]);
    expect(h.machine.permits("guest", "/", "write", "anything")).toBe(true);
    expect(h.machine.user("guest")).toMatchObject({ passwordHash: "hash-of-guest", tags: ["administrator"] });
  });

  it("creates a missing default vhost first", () => {
    const h = new Harness();
    expect(h.ok({ ...boot, vhost: "main" }).changes.map((c) => c.type)[0]).toBe("vhost-created");
    expect(h.machine.permits("guest", "main", "read", "q")).toBe(true);
  });

  it("does nothing once any user exists (a later leader, a second proposal)", () => {
    const h = withGuest();
    h.ok({ type: "user.put", name: "guest", passwordHash: "changed" });
    expect(h.ok(boot)).toMatchObject({ created: false, changes: [] });
    expect(h.machine.user("guest")?.passwordHash).toBe("changed");
  });
});

describe("permissions", () => {
  it("are regular expressions checked unanchored, as RabbitMQ", () => {
    const h = withGuest();
    h.ok({ type: "user.put", name: "ann" });
    h.ok({
      type: "permission.set",
      vhost: "/",
      username: "ann",
      configure: "^$",
      write: "^orders",
      read: "log",
    });
    const m = h.machine;
    expect(m.permits("ann", "/", "configure", "q")).toBe(false);
    expect(m.permits("ann", "/", "configure", "")).toBe(true);
    expect(m.permits("ann", "/", "write", "orders.eu")).toBe(true);
    expect(m.permits("ann", "/", "write", "my.orders")).toBe(false);
    expect(m.permits("ann", "/", "read", "catalog")).toBe(true);
    expect(m.permits("ann", "other", "read", "log")).toBe(false);
    expect(m.permits("guest", "/", "configure", "anything")).toBe(true);
  });

  it("need an existing vhost and user, and valid regular expressions", () => {
    const h = withGuest();
    const set = {
      type: "permission.set",
      vhost: "/",
      username: "guest",
      configure: ".*",
      write: ".*",
      read: ".*",
    } as const;
    expect(h.fail({ ...set, vhost: "nope" }).code).toBe("NOT_FOUND");
    expect(h.fail({ ...set, username: "nobody" }).code).toBe("NOT_FOUND");
    expect(h.fail({ ...set, write: "(" })).toEqual({
      code: "BAD_REQUEST",
      message: "invalid regular expression '(' for write",
    });
  });

  it("go with their vhost", () => {
    const h = withGuest();
    h.ok({ type: "vhost.create", name: "v" });
    h.ok({ type: "permission.set", vhost: "v", username: "guest", configure: ".*", write: ".*", read: ".*" });
    const r = h.ok({ type: "vhost.delete", name: "v" });
    expect(r.changes.at(-2)).toEqual({ type: "permission-deleted", vhost: "v", user: "guest" });
    expect(h.machine.permissions().map((p) => p.vhost)).toEqual(["/"]);
  });

  it("deleting missing permissions is 404", () => {
    expect(withGuest().fail({ type: "permission.delete", vhost: "/", username: "ann" }).code).toBe(
      "NOT_FOUND",
    );
  });
});
