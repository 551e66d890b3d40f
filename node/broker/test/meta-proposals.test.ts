/**
 * MetaProposer: a metadata command whose leader stopped answering goes to the new leader only
 * once a read barrier there settled whether the first attempt can still commit, so it runs once.
 * The forwarder and the replica are doubles; the test plays the cluster's part.
 */
import { describe, expect, it } from "vitest";
import type { Forwarder, Proposed } from "../../cluster/forward.js";
import { WarrenError } from "../../errors.js";
import type { MetaCommand, MetaReply } from "../../meta/index.js";
import { MetaProposer } from "../meta-proposals.js";
import { eventually } from "./harness.js";

const DELETE: MetaCommand = { type: "exchange.delete", vhost: "/", name: "x", ifUnused: false };
const OK = { ok: true } as unknown as MetaReply;

interface Attempt {
  readonly target: string;
  readonly command: MetaCommand & { op: string };
  readonly resolve: (p: Proposed<MetaReply>) => void;
}

/** A proposer over doubles: attempts wait until the test answers them; `leader` is settable. */
function setup() {
  const attempts: Attempt[] = [];
  const barriers: string[] = [];
  let leader = "n1";
  let onBarrier: (at: string) => void = () => undefined;
  const forwarder = {
    attempt: (_group: string, target: string, command: MetaCommand & { op: string }) =>
      new Promise<Proposed<MetaReply>>((resolve) => {
        attempts.push({ target, command, resolve });
      }),
  } as unknown as Forwarder;
  const proposer = new MetaProposer({
    nodeId: "n3",
    group: "meta",
    forwarder,
    timeoutMs: 5000,
    leader: () => leader,
    candidates: () => ["n1", "n2", "n3"],
    catchUp: async (at) => {
      barriers.push(at);
      onBarrier(at);
    },
    waitApplied: async () => undefined,
  });
  return {
    proposer,
    attempts,
    barriers,
    /** This node learns that `to` leads now. */
    elect(to: string) {
      leader = to;
      proposer.leaderChanged(to);
    },
    /** What the barrier at the new leader finds this node's replica applying. */
    whenBarrier(fn: (at: string) => void) {
      onBarrier = fn;
    },
  };
}

const until = (what: string, probe: () => boolean) => eventually(what, probe, 2000);

describe("metadata proposals across a leader change", () => {
  it("answers a command the new leader committed from this node's replica, without sending it again", async () => {
    const t = setup();
    const reply = t.proposer.propose(DELETE);
    await until("the first attempt", () => t.attempts.length === 1);
    expect(t.attempts[0]!.target).toBe("n1");
    // n1 appended it and n2 has it: n2's first commit applies it here before its barrier answers.
    t.whenBarrier(() => t.proposer.applied(t.attempts[0]!.command, OK));
    t.elect("n2");
    expect(await reply).toBe(OK);
    expect(t.barriers).toEqual(["n2"]);
    expect(t.attempts).toHaveLength(1);
  });

  it("sends a command that never reached a log to the new leader once its barrier passed", async () => {
    const t = setup();
    const reply = t.proposer.propose(DELETE);
    await until("the first attempt", () => t.attempts.length === 1);
    t.elect("n2");
    await until("the resend", () => t.attempts.length === 2);
    expect(t.barriers).toEqual(["n2"]);
    expect(t.attempts[1]!.target).toBe("n2");
    // The same command, the same id: a replica can tell its runs apart.
    expect(t.attempts[1]!.command).toEqual(t.attempts[0]!.command);
    t.attempts[1]!.resolve({ reply: OK, index: 7 });
    expect(await reply).toBe(OK);
  });

  it("does not send again when a snapshot installed meanwhile may have covered the command: NO_QUORUM", async () => {
    const t = setup();
    const reply = t.proposer.propose(DELETE);
    await until("the first attempt", () => t.attempts.length === 1);
    t.proposer.restored();
    t.elect("n2");
    const err = await reply.catch((e: unknown) => e);
    expect(WarrenError.is(err, "NO_QUORUM")).toBe(true);
    expect(t.attempts).toHaveLength(1);
  });

  it("takes the reply of the first run applied here even if the leader's answer never comes", async () => {
    const t = setup();
    const reply = t.proposer.propose(DELETE);
    await until("the first attempt", () => t.attempts.length === 1);
    t.proposer.applied(t.attempts[0]!.command, OK);
    expect(await reply).toBe(OK);
    expect(t.barriers).toEqual([]);
  });
});
