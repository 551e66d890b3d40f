/**
 * Model-based test: random sequences of appends (with truncation), compactions with live
 * entries, snapshot installs, hard states, group deletions, flushes and restarts, on two groups,
 * checked against a plain in-memory model after every step that can be observed.
 */
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import type { Entry, HardState, Snapshot } from "../../core/types.js";
import type { NodeStorage } from "../node-storage.js";
import { entry, snapshot, tempDirs } from "./helpers.js";

const t = tempDirs();
afterEach(() => t.cleanup());

/** What a group should hold once everything staged is flushed. */
interface Model {
  snapshot: Snapshot | undefined;
  hardState: HardState | undefined;
  /** Entries after the snapshot. */
  log: Entry[];
  /** Live entries below the snapshot, by index. */
  live: Map<number, Entry>;
  /** Largest term used so far: new entries never go below it (Raft's log terms only grow). */
  maxTerm: number;
}

const emptyModel = (): Model => ({
  snapshot: undefined,
  hardState: undefined,
  log: [],
  live: new Map(),
  maxTerm: 1,
});
const snapIndex = (m: Model) => m.snapshot?.meta.index ?? 0;
const lastIndex = (m: Model) => snapIndex(m) + m.log.length;
const commit = (m: Model) => m.hardState?.commit ?? 0;

type Op =
  | { k: "append"; g: number; at: number; n: number; bump: boolean }
  | { k: "compact"; g: number; at: number; mask: number }
  | { k: "install"; g: number; ahead: number; mask: number }
  | { k: "hard"; g: number; at: number }
  | { k: "delete"; g: number }
  | { k: "flush" }
  | { k: "flushNoWait" }
  | { k: "reopen" }
  | { k: "reopenLazy" }
  | { k: "read"; g: number; at: number };

const group = fc.integer({ min: 0, max: 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      k: fc.constant("append" as const),
      g: group,
      at: fc.nat(),
      n: fc.integer({ min: 1, max: 5 }),
      bump: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant("compact" as const), g: group, at: fc.nat(), mask: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("install" as const),
      g: group,
      ahead: fc.nat({ max: 6 }),
      mask: fc.nat(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("hard" as const), g: group, at: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("delete" as const), g: group }) },
  { weight: 2, arbitrary: fc.constant({ k: "flush" as const }) },
  { weight: 2, arbitrary: fc.constant({ k: "flushNoWait" as const }) },
  { weight: 1, arbitrary: fc.constant({ k: "reopen" as const }) },
  { weight: 2, arbitrary: fc.constant({ k: "reopenLazy" as const }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("read" as const), g: group, at: fc.nat() }) },
);

/** Picks the indexes of `candidates` whose bit in `mask` is set. */
const pick = (candidates: number[], mask: number) =>
  candidates.filter((_, k) => ((mask >>> (k % 31)) & 1) === 1);

function expected(m: Model, index: number): Entry | undefined {
  if (index > snapIndex(m)) return m.log[index - snapIndex(m) - 1];
  return m.live.get(index);
}

async function run(ops: Op[]): Promise<void> {
  const dir = await t.dir();
  let s: NodeStorage = await t.open(dir);
  const names = ["q:a", "q:b"];
  const models = [emptyModel(), emptyModel()];
  for (const n of names) await s.load(n);
  /** After a lazy reopen a group is loaded only when an op needs it (a delete does not). */
  const loaded = [true, true];

  // Flushes started without waiting: later stages overlap their writes and coalesce.
  const started: Promise<void>[] = [];
  for (const op of ops) {
    if (op.k === "flushNoWait") {
      started.push(s.flush());
      continue;
    }
    if (op.k === "flush") {
      await s.flush();
      await Promise.all(started.splice(0));
      continue;
    }
    if (op.k === "reopenLazy") {
      await Promise.all(started.splice(0));
      await s.close();
      s = await t.open(dir);
      loaded.fill(false);
      continue;
    }
    if (op.k === "reopen") {
      loaded.fill(true);
      await Promise.all(started.splice(0));
      await s.close();
      s = await t.open(dir);
      for (const [g, n] of names.entries()) {
        const m = models[g]!;
        expect(await s.load(n)).toEqual({ hardState: m.hardState, snapshot: m.snapshot, entries: m.log });
      }
      continue;
    }
    const name = names[op.g]!;
    const m = models[op.g]!;
    if (op.k === "delete") {
      // Deleting works on a stored group this process never loaded, too.
      s.stageDeleteGroup(name);
      models[op.g] = emptyModel();
      loaded[op.g] = true;
      continue;
    }
    if (!loaded[op.g]) {
      expect(await s.load(name)).toEqual({ hardState: m.hardState, snapshot: m.snapshot, entries: m.log });
      loaded[op.g] = true;
    }
    switch (op.k) {
      case "append": {
        // Raft never truncates committed entries: the first new index is above the commit index.
        const lo = Math.max(snapIndex(m), commit(m)) + 1;
        const first = lo + (op.at % (lastIndex(m) - lo + 2));
        if (op.bump) m.maxTerm++;
        const es = Array.from({ length: op.n }, (_, k) => entry(first + k, m.maxTerm));
        s.stage(name, { entries: es });
        m.log = [...m.log.slice(0, first - snapIndex(m) - 1), ...es];
        break;
      }
      case "compact": {
        const index = snapIndex(m) + (op.at % (lastIndex(m) - snapIndex(m) + 1));
        const stored = [...m.live.keys(), ...m.log.map((e) => e.index)]
          .filter((i) => i <= index)
          .sort((a, b) => a - b);
        const live = pick(stored, op.mask);
        const term = index === 0 ? 0 : (expected(m, index)?.term ?? m.snapshot!.meta.term);
        const snap = snapshot(index, term, live, `compact@${index}`);
        s.stageCompact(name, snap);
        const live2 = new Map(live.map((i) => [i, expected(m, i)!]));
        m.log = m.log.filter((e) => e.index > index);
        m.live = live2;
        m.snapshot = snap;
        break;
      }
      case "install": {
        const index = lastIndex(m) + 1 + op.ahead;
        m.maxTerm++;
        const live = pick(
          Array.from({ length: index }, (_, k) => k + 1),
          op.mask,
        );
        const liveEntries = live.map((i) => entry(i, m.maxTerm));
        const snap = snapshot(index, m.maxTerm, live, `install@${index}`);
        const hardState = { term: m.maxTerm, vote: "", commit: index };
        s.stage(name, { snapshot: snap, liveEntries, hardState });
        m.snapshot = snap;
        m.log = [];
        m.live = new Map(liveEntries.map((e) => [e.index, e]));
        m.hardState = hardState;
        break;
      }
      case "hard": {
        const c = commit(m) + (op.at % (lastIndex(m) - commit(m) + 1));
        const hs = { term: m.maxTerm, vote: `n${op.at % 3}`, commit: c };
        s.stage(name, { hardState: hs });
        m.hardState = hs;
        break;
      }
      case "read": {
        const index = 1 + (op.at % (lastIndex(m) + 2));
        expect(await s.readEntry(name, index)).toEqual(expected(m, index));
        break;
      }
    }
  }
}

describe("NodeStorage against a model", () => {
  it("agrees with the model after every read and every restart", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60, size: "max" }), (ops) =>
        run([...ops, { k: "reopen" }]),
      ),
      { numRuns: 20, seed: 20261121 },
    );
  });
});
