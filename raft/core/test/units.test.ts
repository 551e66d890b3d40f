/**
 * The leaf helpers against brute-force models (fast-check): majority arithmetic (Raft §5.2,
 * §5.3), the pipelining window, and the unstable log.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Unstable } from "../log/unstable.js";
import { committedIndex, majority, VoteResult, voteResult } from "../quorum/majority.js";
import { Inflights } from "../tracker/inflights.js";
import { EntryType } from "../types.js";

describe("quorum arithmetic", () => {
  it("the committed index is the largest N with a majority of match >= N", () => {
    // Figure 2: "If there exists an N such that N > commitIndex, a majority of
    // matchIndex[i] >= N, and log[N].term == currentTerm: set commitIndex = N".
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 7 }), (matches) => {
        const ids = matches.map((_, i) => `n${i}`);
        const got = committedIndex(ids, (id) => matches[Number(id.slice(1))]!);
        let want = 0;
        for (let n = 0; n <= 50; n++)
          if (matches.filter((m) => m >= n).length >= majority(ids.length)) want = n;
        expect(got).toBe(want);
      }),
    );
  });

  it("an election is won with a majority of grants, lost once a majority is impossible", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom<boolean | undefined>(true, false, undefined), {
          minLength: 1,
          maxLength: 7,
        }),
        (answers) => {
          const ids = answers.map((_, i) => `n${i}`);
          const votes = new Map<string, boolean>();
          answers.forEach((a, i) => {
            if (a !== undefined) votes.set(`n${i}`, a);
          });
          const granted = answers.filter((a) => a === true).length;
          const open = answers.filter((a) => a === undefined).length;
          const q = majority(ids.length);
          const want =
            granted >= q ? VoteResult.Won : granted + open >= q ? VoteResult.Pending : VoteResult.Lost;
          expect(voteResult(ids, votes)).toBe(want);
        },
      ),
    );
  });
});

describe("the pipelining window", () => {
  it("behaves like a bounded FIFO of increasing indexes", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const) }),
      fc.record({ kind: fc.constant("free" as const), upTo: fc.nat(40) }),
      fc.record({ kind: fc.constant("first" as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (cap, ops) => {
        const w = new Inflights(cap);
        let model: number[] = [];
        let next = 1;
        for (const o of ops) {
          if (o.kind === "add") {
            if (model.length === cap) {
              expect(w.full()).toBe(true);
              continue;
            }
            w.add(next);
            model.push(next++);
          } else if (o.kind === "free") {
            w.freeLE(o.upTo);
            model = model.filter((i) => i > o.upTo);
          } else {
            w.freeFirstOne();
            model = model.slice(1);
          }
          expect(w.size()).toBe(model.length);
          expect(w.full()).toBe(model.length === cap);
        }
      }),
    );
  });
});

describe("the unstable log", () => {
  const e = (index: number, term: number) => ({
    index,
    term,
    type: EntryType.Normal,
    data: new Uint8Array(0),
  });

  it("truncateAndAppend keeps the prefix before the first new index and replaces the rest", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.nat(8),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 1, max: 4 }),
        (offset, len, at, n) => {
          const u = new Unstable(offset);
          if (len > 0) u.truncateAndAppend(Array.from({ length: len }, (_, i) => e(offset + i, 1)));
          const after = Math.min(offset + len, Math.max(1, at)); // appends never leave a gap
          u.truncateAndAppend(Array.from({ length: n }, (_, i) => e(after + i, 2)));
          const first = u.offset;
          expect(u.entries.map((x) => x.index)).toEqual(
            Array.from({ length: u.entries.length }, (_, i) => first + i),
          );
          expect(u.maybeLastIndex()).toBe(after + n - 1);
          for (let i = Math.max(offset, 0); i < after; i++) if (i >= first) expect(u.maybeTerm(i)).toBe(1);
          for (let i = after; i < after + n; i++) expect(u.maybeTerm(i)).toBe(2);
        },
      ),
    );
  });

  it("stableTo ignores an index whose entry was replaced meanwhile", () => {
    const u = new Unstable(5);
    u.truncateAndAppend([e(5, 1), e(6, 1), e(7, 1)]);
    u.truncateAndAppend([e(6, 2)]); // a new leader overwrote 6..7 before the write finished
    u.stableTo(7, 1);
    expect(u.offset).toBe(5);
    u.stableTo(6, 2);
    expect([u.offset, u.entries.length]).toEqual([7, 0]);
  });
});
