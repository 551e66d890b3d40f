/**
 * The rules that settle a proposal: only what is applied at its index decides it.
 */
import { describe, expect, it } from "vitest";
import type { Entry } from "../../core/types.js";
import { ProposalDroppedError, ProposalTimeoutError } from "../../errors.js";
import { ProposalTracker, ReadTracker } from "../proposals.js";

const entry = (index: number, term: number): Entry => ({ index, term, type: 0, data: new Uint8Array([1]) });
const outcome = (p: Promise<unknown>): Promise<{ ok?: unknown; err?: unknown }> =>
  p.then(
    (v) => ({ ok: v }),
    (e: unknown) => ({ err: e }),
  );

describe("ProposalTracker", () => {
  it("resolves a proposal with the result of its own entry", async () => {
    const t = new ProposalTracker("g", 1000);
    const p = outcome(t.add(5, 2, 0));
    t.settleApplied(5, 2, "result");
    expect(await p).toEqual({ ok: "result" });
    expect(t.size).toBe(0);
  });

  it("drops a proposal whose index committed an entry of another term", async () => {
    const t = new ProposalTracker("g", 1000);
    const p = outcome(t.add(5, 2, 0));
    t.settleApplied(5, 3, "someone else's");
    expect((await p).err).toBeInstanceOf(ProposalDroppedError);
  });

  it("keeps a deposed leader's proposals the new leader's log still holds, drops the overwritten ones", async () => {
    const t = new ProposalTracker("g", 1000);
    const kept = outcome(t.add(10, 2, 0));
    const replaced = outcome(t.add(11, 2, 0));
    const truncated = outcome(t.add(12, 2, 0));
    // The new leader (term 3) sends entries from 11 on: 10 survives, 11 is replaced, 12 is cut off.
    t.dropOverwritten([entry(11, 3)]);
    expect((await replaced).err).toBeInstanceOf(ProposalDroppedError);
    expect((await truncated).err).toBeInstanceOf(ProposalDroppedError);
    expect(t.size).toBe(1);
    t.settleApplied(10, 2, "committed anyway");
    expect(await kept).toEqual({ ok: "committed anyway" });
  });

  it("ignores a leader's own appends of the same term", () => {
    const t = new ProposalTracker("g", 1000);
    void t.add(7, 4, 0);
    t.dropOverwritten([entry(7, 4), entry(8, 4)]);
    expect(t.size).toBe(1);
  });

  it("times out proposals in deadline order and leaves later ones pending", async () => {
    const t = new ProposalTracker("g", 100);
    const early = outcome(t.add(1, 1, 0));
    const late = t.add(2, 1, 50);
    t.expire(120);
    expect((await early).err).toBeInstanceOf(ProposalTimeoutError);
    expect(t.size).toBe(1);
    t.settleApplied(2, 1, "ok");
    await expect(late).resolves.toBe("ok");
  });

  it("rejects everything on removal", async () => {
    const t = new ProposalTracker("g", 1000);
    const p = outcome(t.add(1, 1, 0));
    t.rejectAll("group removed");
    expect((await p).err).toBeInstanceOf(ProposalDroppedError);
  });
});

describe("ReadTracker", () => {
  it("resolves a read once its confirmed index is applied", async () => {
    const r = new ReadTracker("g", 1000);
    const { context, done } = r.add(0);
    let resolved = false;
    void done.then(() => {
      resolved = true;
    });
    r.settle(100);
    await Promise.resolve();
    expect(resolved).toBe(false); // not confirmed by a quorum yet
    r.confirm(context, 7);
    r.settle(6);
    await Promise.resolve();
    expect(resolved).toBe(false);
    r.settle(7);
    await done;
    expect(resolved).toBe(true);
  });
});
