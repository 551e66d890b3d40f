import { describe, expect, it } from "vitest";
import { serverNamedQueue } from "../queues.js";
import { declareQueue, Harness } from "./harness.js";

describe("queue.declare (RabbitMQ semantics)", () => {
  it("a durable queue is a replicated (quorum) queue with its placement and its own Raft group", () => {
    const h = new Harness();
    const r = h.ok(declareQueue("orders", { durable: true }));
    expect(r.created).toBe(true);
    expect(r.queue).toMatchObject({
      name: "orders",
      durable: true,
      autoDelete: false,
      owner: undefined,
      type: "quorum",
      members: ["n1", "n2", "n3"],
      leader: "n1",
      arguments: { "x-queue-type": "quorum" },
      createdIndex: 1,
    });
    expect(r.queue.group).toBe("q:/:orders:1");
    expect(r.changes).toEqual([{ type: "queue-declared", queue: r.queue }]);
  });

  it("exclusive, auto-delete and non-durable queues are transient, homed on the declaring node", () => {
    const h = new Harness();
    for (const [name, opts] of [
      ["plain", {}],
      ["ad", { durable: true, autoDelete: true }],
      ["ex", { durable: true, exclusive: true, connection: "n1/7" }],
    ] as const) {
      const q = h.ok(declareQueue(name, { ...opts, node: "n2" })).queue;
      expect(q.type, name).toBe("transient");
      expect(q.group, name).toBeUndefined();
      expect(q.members, name).toEqual(["n2"]);
      expect(q.leader, name).toBe("n2");
    }
    // rabbit_channel: an exclusive queue is never durable.
    expect(h.machine.queue("/", "ex")).toMatchObject({ durable: false, owner: "n1/7" });
  });

  it("an equivalent redeclare is a no-op that returns the existing queue", () => {
    const h = new Harness();
    const first = h.ok(
      declareQueue("q", { durable: true, arguments: { "x-message-ttl": 1000, custom: "a" } }),
    );
    const again = h.ok(
      declareQueue("q", { durable: true, arguments: { "x-message-ttl": 1000, custom: "b" } }),
    );
    expect(again.created).toBe(false);
    expect(again.queue).toBe(first.queue);
    expect(again.changes).toEqual([]);
  });

  it("a redeclare with another durable is 406 with RabbitMQ's text", () => {
    const h = new Harness();
    h.ok(declareQueue("q", { durable: true }));
    expect(h.fail(declareQueue("q", { durable: false }))).toEqual({
      code: "PRECONDITION_FAILED",
      message:
        "inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'",
    });
  });

  it("a redeclare with another auto_delete is 406", () => {
    const h = new Harness();
    h.ok(declareQueue("q", { autoDelete: true }));
    expect(h.fail(declareQueue("q")).message).toBe(
      "inequivalent arg 'auto_delete' for queue 'q' in vhost '/': received 'false' but current is 'true'",
    );
  });

  it("a redeclare with other x-arguments is 406 naming the argument, values and types", () => {
    const h = new Harness();
    h.ok(declareQueue("q", { durable: true, arguments: { "x-message-ttl": 1000 } }));
    expect(h.fail(declareQueue("q", { durable: true, arguments: { "x-message-ttl": 2000 } })).message).toBe(
      "inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received the value '2000' of type 'long' but current is the value '1000' of type 'long'",
    );
    expect(h.fail(declareQueue("q", { durable: true })).message).toBe(
      "inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received none but current is the value '1000' of type 'long'",
    );
    expect(h.fail(declareQueue("q", { durable: true, arguments: { "x-message-ttl": "1000" } })).message).toBe(
      "inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received the value '1000' of type 'longstr' but current is the value '1000' of type 'long'",
    );
  });

  it("unknown arguments are kept and never compared", () => {
    const h = new Harness();
    const q = h.ok(declareQueue("q", { arguments: { "x-custom": [1, "a"] } })).queue;
    expect(q.arguments).toEqual({ "x-custom": [1, "a"] });
    h.ok(declareQueue("q", { arguments: { "x-custom": "other" } }));
  });

  it("a durable queue declared without x-queue-type, as classic or as quorum is the same queue", () => {
    const h = new Harness();
    h.ok(declareQueue("q", { durable: true }));
    h.ok(declareQueue("q", { durable: true, arguments: { "x-queue-type": "quorum" } }));
    h.ok(declareQueue("q", { durable: true, arguments: { "x-queue-type": "classic" } }));
    h.ok(declareQueue("q2", { durable: true, arguments: { "x-queue-type": "quorum" } }));
    h.ok(declareQueue("q2", { durable: true }));
  });

  it("a missing x-queue-type and 'classic' are equivalent on a transient queue", () => {
    const h = new Harness();
    h.ok(declareQueue("t", { arguments: { "x-queue-type": "classic" } }));
    h.ok(declareQueue("t"));
  });

  it("a passive declare of a missing queue is 404 NOT_FOUND", () => {
    const h = new Harness();
    expect(h.fail(declareQueue("q", { passive: true }))).toEqual({
      code: "NOT_FOUND",
      message: "no queue 'q' in vhost '/'",
    });
  });

  it("a passive declare does not compare properties", () => {
    const h = new Harness();
    h.ok(declareQueue("q", { durable: true }));
    expect(h.ok(declareQueue("q", { passive: true, durable: false })).created).toBe(false);
  });

  it("queue names starting with amq. are reserved: 403", () => {
    const h = new Harness();
    expect(h.fail(declareQueue("amq.q"))).toEqual({
      code: "ACCESS_REFUSED",
      message: "queue name 'amq.q' contains reserved prefix 'amq.*'",
    });
  });

  it("a server-named queue takes the amq.gen- name drawn by the proposing node", () => {
    const h = new Harness();
    const q = h.ok(
      declareQueue("", {
        exclusive: true,
        connection: "n1/1",
        generatedName: "amq.gen-JzTY20BRgKO-HjmUJj0wLg",
      }),
    ).queue;
    expect(q.name).toBe("amq.gen-JzTY20BRgKO-HjmUJj0wLg");
    // Redeclaring it by name is refused like any amq. name, as RabbitMQ does.
    expect(h.fail(declareQueue(q.name, { exclusive: true, connection: "n1/1" })).code).toBe("ACCESS_REFUSED");
    // But a passive declare finds it.
    expect(h.ok(declareQueue(q.name, { passive: true, connection: "n1/1" })).queue).toBe(q);
  });

  it("server names look like RabbitMQ's: amq.gen- and 22 base64url characters", () => {
    const name = serverNamedQueue(new Uint8Array(16).fill(255));
    expect(name).toBe("amq.gen-_____________________w");
    expect(name).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/);
  });

  it("a server-named declare without a usable generated name, or whose name is taken, is refused", () => {
    const h = new Harness();
    expect(h.fail(declareQueue("")).code).toBe("INTERNAL_ERROR");
    expect(h.fail(declareQueue("", { generatedName: "mine" })).code).toBe("INTERNAL_ERROR");
    h.ok(declareQueue("", { generatedName: "amq.gen-a" }));
    expect(h.fail(declareQueue("", { generatedName: "amq.gen-a" })).message).toBe(
      "generated queue name 'amq.gen-a' is already in use",
    );
  });

  it("a new replicated queue needs its placement", () => {
    const h = new Harness();
    const { placement: _, ...noPlacement } = declareQueue("q", { durable: true });
    expect(h.fail(noPlacement).code).toBe("INTERNAL_ERROR");
    expect(
      h.fail(declareQueue("q", { durable: true, placement: { members: ["n1"], leader: "n9" } })).code,
    ).toBe("INTERNAL_ERROR");
  });

  it("declaring in a missing vhost is 404", () => {
    const h = new Harness();
    expect(h.fail({ ...declareQueue("q"), vhost: "nope" })).toEqual({
      code: "NOT_FOUND",
      message: "vhost 'nope' not found",
    });
  });
});

describe("quorum queues (RabbitMQ semantics)", () => {
  it("must not be auto-delete", () => {
    const h = new Harness();
    expect(
      h.fail(declareQueue("q", { durable: true, autoDelete: true, arguments: { "x-queue-type": "quorum" } })),
    ).toEqual({
      code: "PRECONDITION_FAILED",
      message: "invalid property 'auto-delete' for queue 'q' in vhost '/'",
    });
  });

  it("must not be exclusive", () => {
    const h = new Harness();
    expect(
      h.fail(
        declareQueue("q", {
          durable: true,
          exclusive: true,
          connection: "c",
          arguments: { "x-queue-type": "quorum" },
        }),
      ).message,
    ).toBe("invalid property 'exclusive-owner' for queue 'q' in vhost '/'");
  });

  it("must be durable", () => {
    const h = new Harness();
    expect(h.fail(declareQueue("q", { arguments: { "x-queue-type": "quorum" } })).message).toBe(
      "invalid property 'non-durable' for queue 'q' in vhost '/'",
    );
  });

  it("refuse classic-only arguments", () => {
    const h = new Harness();
    expect(
      h.fail(
        declareQueue("q", { durable: true, arguments: { "x-queue-type": "quorum", "x-max-priority": 5 } }),
      ).message,
    ).toBe("invalid arg 'x-max-priority' for queue 'q' in vhost '/' of queue type rabbit_quorum_queue");
  });

  it("a durable queue declared as classic keeps its classic arguments (Warren replicates it)", () => {
    const h = new Harness();
    const q = h.ok(declareQueue("prio", { durable: true, arguments: { "x-max-priority": 10 } })).queue;
    expect(q.type).toBe("quorum");
    expect(q.arguments).toEqual({ "x-max-priority": 10, "x-queue-type": "quorum" });
  });
});

describe("exclusive queues (RabbitMQ semantics)", () => {
  const exclusive = (conn: string) => declareQueue("ex", { exclusive: true, connection: conn });

  it("another connection cannot redeclare, passively declare or use it: 405 RESOURCE_LOCKED", () => {
    const h = new Harness();
    h.ok(exclusive("c1"));
    const locked = {
      code: "RESOURCE_LOCKED",
      message:
        "cannot obtain exclusive access to locked queue 'ex' in vhost '/'. It could be originally declared on another " +
        "connection or the exclusive property value does not match that of the original declaration.",
    };
    expect(h.fail(exclusive("c2"))).toEqual(locked);
    expect(h.fail(declareQueue("ex", { passive: true, connection: "c2" }))).toEqual(locked);
    expect(() => h.machine.accessQueue("/", "ex", "c2")).toThrow(/cannot obtain exclusive access/);
    expect(h.machine.accessQueue("/", "ex", "c1").owner).toBe("c1");
  });

  it("the owner redeclaring it without exclusive is refused too (strict check)", () => {
    const h = new Harness();
    h.ok(exclusive("c1"));
    expect(h.fail(declareQueue("ex", { connection: "c1" })).code).toBe("RESOURCE_LOCKED");
    expect(h.ok(exclusive("c1")).created).toBe(false);
  });

  it("a non-exclusive queue cannot be redeclared exclusive", () => {
    const h = new Harness();
    h.ok(declareQueue("q"));
    expect(h.fail(declareQueue("q", { exclusive: true, connection: "c1" })).code).toBe("RESOURCE_LOCKED");
  });

  it("an exclusive declare without a connection is refused", () => {
    const h = new Harness();
    expect(h.fail(declareQueue("q", { exclusive: true })).code).toBe("PRECONDITION_FAILED");
  });
});

describe("arguments are data", () => {
  it("keeps a __proto__ argument as an ordinary key", () => {
    const h = new Harness();
    const args = JSON.parse('{"__proto__": {"polluted": true}, "x-message-ttl": 5}') as Record<
      string,
      unknown
    >;
    const q = h.ok(declareQueue("q", { arguments: args })).queue;
    expect(Object.keys(q.arguments)).toEqual(["__proto__", "x-message-ttl"]);
    expect((q.arguments as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
