/**
 * The leader side of forwarding: sequenced enqueues (those with a `publisher`) reach the log in
 * the order they arrived even when backpressure holds them for different times. The sending
 * side: what happens to a forwarded command when the leader it went to stops leading.
 */
import { describe, expect, it } from "vitest";
import { decodeCommand, encodeCommand, encodePackedCommand } from "../../raft/host/entry-codec.js";
import type { RaftHost } from "../../raft/host/index.js";
import { Forwarder } from "./forward.js";
import { type Rpc, RpcTimeoutError } from "./rpc.js";

function forwarder(proposed: unknown[]): Forwarder {
  const applied: ((group: string, meta: { index: number }) => void)[] = [];
  const host = {
    propose: async (group: string, command: unknown) => {
      proposed.push(command);
      // As the host does: applied listeners run as the entry applies, before the answer.
      for (const l of applied) l(group, { index: proposed.length });
      return { reply: { type: "ok" } };
    },
    onApplied: (l: (group: string, meta: { index: number }) => void) => applied.push(l),
    onLeaderChange: () => {},
    groupIds: () => ["q"],
  } as unknown as RaftHost;
  const rpc = { handle: () => {} } as unknown as Rpc;
  return new Forwarder("n1", host, rpc, 1000);
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A sequenced enqueue whose admission (in these tests) waits as many ms as its body has bytes. */
const enqueue = (bodyBytes: number, seq: number) => ({
  type: "enqueue",
  body: new Uint8Array(bodyBytes),
  publisher: { id: "p", seq },
});

describe("forwarding at the leader", () => {
  it("admits sequenced commands in arrival order, whatever each one waits for", async () => {
    const proposed: unknown[] = [];
    const f = forwarder(proposed);
    // The first command waits longest for room in the backlog (here: as long as its body is big).
    f.setAdmission(async (_group, ticket) => {
      await delay(ticket.bodyBytes ?? 0);
      return undefined;
    });
    const cmds = [30, 1, 10, 0].map((wait, seq) => enqueue(wait, seq + 1));
    await Promise.all(cmds.map((c) => f.proposeHere("g", c)));
    expect(proposed).toEqual(cmds);
  });

  it("keeps arrival order when some admissions are immediate and others wait", async () => {
    const proposed: unknown[] = [];
    const f = forwarder(proposed);
    // Room at once (no promise) for most; the second one waits for the backlog.
    f.setAdmission((_group, ticket) => {
      const wait = ticket.bodyBytes ?? 0;
      return wait === 0 ? undefined : delay(wait).then(() => undefined);
    });
    const cmds = [0, 20, 0, 0].map((wait, seq) => enqueue(wait, seq + 1));
    await Promise.all(cmds.map((c) => f.proposeHere("g", c)));
    expect(proposed).toEqual(cmds);
  });

  it("does not hold other commands (acks, consumers) behind a waiting enqueue", async () => {
    const proposed: unknown[] = [];
    const f = forwarder(proposed);
    f.setAdmission(async (_group, ticket) => {
      await delay(ticket.bodyBytes ?? 0);
      return undefined;
    });
    const waiting = enqueue(30, 1);
    const ack = { type: "settle" };
    await Promise.all([f.proposeHere("g", waiting), f.proposeHere("g", ack)]);
    expect(proposed).toEqual([ack, waiting]);
  });

  it("answers with the index the leader had applied (read-your-writes waits for it)", async () => {
    const proposed: unknown[] = [];
    const f = forwarder(proposed);
    const answers = await Promise.all([f.proposeHere("g", { n: 1 }), f.proposeHere("h", { n: 2 })]);
    expect(answers.map((a) => a.index)).toEqual([1, 2]);
    expect((await f.proposeHere("g", { n: 3 })).index).toBe(3);
  });
});

/**
 * A forwarder on n1, which hosts no leader: n2 leads at first and answers nothing (frozen: each
 * call times out), n3 answers at once. `elect` makes n1 learn of a new leader.
 */
function sender() {
  const calls: { to: string; command: unknown }[] = [];
  let leader = "n2";
  const listeners: ((group: string, leader: string | undefined) => void)[] = [];
  const host = {
    onApplied: () => {},
    onLeaderChange: (l: (group: string, leader: string | undefined) => void) => listeners.push(l),
    leaderOf: () => leader,
    groupIds: () => [],
  } as unknown as RaftHost;
  const rpc = {
    handle: () => {},
    call: (to: string, _method: string, args: { command: unknown }, timeoutMs: number) => {
      calls.push({ to, command: args.command });
      if (to === "n3") return Promise.resolve({ reply: { type: "ok" }, index: 1 });
      return new Promise((_resolve, reject) => {
        setTimeout(() => reject(new RpcTimeoutError(to, "propose", timeoutMs)), timeoutMs);
      });
    },
  } as unknown as Rpc;
  const f = new Forwarder("n1", host, rpc, 400);
  const elect = (next: string) => {
    leader = next;
    for (const l of listeners) l("q", next);
  };
  return { f, calls, elect };
}

/** Resolves once `probe` holds (polled each turn), or fails after a deadline. */
async function until(probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await delay(1);
  }
}

describe("forwarding when the leader changes", () => {
  it("resends a command declared safe to repeat to the new leader at once", async () => {
    const { f, calls, elect } = sender();
    f.setRetrySafe((_group, command) => (command as { safe: boolean }).safe);
    const answer = f.propose("q", ["n1", "n2", "n3"], { safe: true });
    await until(() => calls.length === 1);
    elect("n3");
    // Waiting for the frozen n2 would have ended in its timeout, then NO_QUORUM.
    await expect(answer).resolves.toEqual({ reply: { type: "ok" }, index: 1 });
    expect(calls.map((c) => c.to)).toEqual(["n2", "n3"]);
  });

  it("does not resend other commands: they wait for the answer of the node they went to", async () => {
    const { f, calls, elect } = sender();
    f.setRetrySafe(() => false);
    const answer = f.propose("q", ["n1", "n2", "n3"], { safe: false });
    await until(() => calls.length === 1);
    elect("n3");
    await expect(answer).rejects.toMatchObject({ code: "NO_QUORUM" });
    expect(calls.map((c) => c.to)).toEqual(["n2"]);
  });
});

/**
 * n1 forwards to n2, the leader, whose host stores what it is given as the real host does
 * (entry-codec) and applies the decoded entry.
 */
function pair() {
  const applied: unknown[] = [];
  const stored: Uint8Array[] = [];
  const time = Date.now();
  const store = (data: Uint8Array) => {
    stored.push(data);
    // msgpack decodes a byte string as a Buffer: compare it as the Uint8Array it was sent as.
    const c = decodeCommand(data, "test").command as { body?: Uint8Array };
    applied.push(c.body === undefined ? c : { ...c, body: new Uint8Array(c.body) });
    return { reply: { type: "ok" } };
  };
  const leaderHost = {
    propose: async (_group: string, command: unknown) => store(encodeCommand(time, command)),
    proposePacked: async (_group: string, packed: Uint8Array) => store(encodePackedCommand(time, packed)),
    onApplied: () => {},
    onLeaderChange: () => {},
    groupIds: () => ["q"],
  } as unknown as RaftHost;
  let serve: ((from: string, args: unknown) => unknown) | undefined;
  const leaderRpc = {
    handle: (_method: string, h: (from: string, args: unknown) => unknown) => {
      serve = h;
    },
  } as unknown as Rpc;
  const leader = new Forwarder("n2", leaderHost, leaderRpc, 1000);
  const wire: unknown[] = [];
  const senderHost = {
    onApplied: () => {},
    onLeaderChange: () => {},
    leaderOf: () => "n2",
    groupIds: () => [],
  } as unknown as RaftHost;
  const senderRpc = {
    handle: () => {},
    call: async (_to: string, _method: string, args: unknown) => {
      wire.push(args);
      return serve?.("n1", args);
    },
  } as unknown as Rpc;
  const sender = new Forwarder("n1", senderHost, senderRpc, 1000);
  return { leader, sender, applied, stored, wire, time, serve: (args: unknown) => serve?.("n1", args) };
}

describe("forwarded proposals", () => {
  const command = {
    type: "enqueue",
    exchange: "x",
    routingKeys: ["k", "cc"],
    properties: { headers: { a: 1, nested: { b: [1, "two", null] } }, priority: 3, timestamp: 1_700_000_000 },
    body: new Uint8Array([0, 1, 2, 255]),
    publisher: { id: "n1/c|1", seq: 7 },
  };

  it("travel packed and store the very entry a local proposal stores", async () => {
    const { leader, sender, applied, stored, wire, time } = pair();
    const tickets: unknown[] = [];
    leader.setAdmission((_group, ticket) => {
      tickets.push(ticket);
      return undefined;
    });
    await sender.propose("q", ["n2"], command);
    expect(wire).toHaveLength(1);
    expect((wire[0] as { packed?: unknown }).packed).toBeInstanceOf(Uint8Array);
    expect(wire[0]).not.toHaveProperty("command");
    expect(applied).toEqual([command]);
    // Byte for byte (the same bytes whatever the array type).
    expect(new Uint8Array(stored[0] ?? [])).toEqual(new Uint8Array(encodeCommand(time, command)));
    // Admission at the leader saw what it would have read of the command itself.
    expect(tickets).toEqual([{ type: "enqueue", bodyBytes: 4, sequenced: true }]);
    await leader.proposeHere("q", command);
    expect(tickets[1]).toEqual(tickets[0]);
  });

  it("are still served in the older shape { group, command }", async () => {
    const { applied, serve } = pair();
    await expect(serve({ group: "q", command })).resolves.toMatchObject({ reply: { type: "ok" } });
    expect(applied).toEqual([command]);
  });
});
