import { Level } from "level";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RaftInvariantError } from "../../errors.js";
import { entries, entry, eventually, tempDirs } from "./helpers.js";

const t = tempDirs();
afterEach(async () => {
  vi.restoreAllMocks();
  await t.cleanup();
});

interface ChainLike {
  length: number;
  write(opts?: { sync?: boolean }): Promise<void>;
}

/**
 * Records every LevelDB batch the storage writes: how many operations it carried and whether
 * it asked for an fsync. `failNext` makes the next batch's write hang until the test fails it.
 */
function spyBatches() {
  const written: { ops: number; sync: boolean }[] = [];
  const original = Level.prototype.batch;
  let failNext: ((fail: (err: Error) => void) => void) | undefined;
  const spy = vi.spyOn(Level.prototype, "batch").mockImplementation(function (
    this: Level,
    ...args: unknown[]
  ) {
    const chain = (original as (...a: unknown[]) => ChainLike).apply(this, args);
    const write = chain.write.bind(chain);
    const hook = failNext;
    failNext = undefined;
    chain.write = (opts) => {
      written.push({ ops: chain.length, sync: opts?.sync === true });
      if (!hook) return write(opts);
      return new Promise<void>((_resolve, reject) => hook(reject));
    };
    return chain as unknown as ReturnType<Level["batch"]>;
  } as unknown as Level["batch"]);
  return {
    calls: () => spy.mock.calls.length,
    count: () => written.length,
    syncs: () => written.map((w) => w.sync),
    opsOf: (k: number) => written[k]?.ops ?? 0,
    failNext: (f: (fail: (err: Error) => void) => void) => {
      failNext = f;
    },
  };
}

describe("group commit", () => {
  it("writes the stages of many groups as one synced batch per flush", async () => {
    const s = await t.open(await t.dir());
    const groups = Array.from({ length: 64 }, (_, k) => `q${k}`);
    for (const g of groups) await s.load(g);
    const batches = spyBatches();

    for (const g of groups)
      s.stage(g, { entries: entries(1, 3, 1), hardState: { term: 1, vote: "n1", commit: 0 } });
    await s.flush();
    expect(batches.count()).toBe(1);
    expect(batches.syncs()).toEqual([true]);

    for (const g of groups) s.stage(g, { entries: entries(4, 4, 1) });
    await s.flush();
    expect(batches.count()).toBe(2);
    expect(s.stats()).toMatchObject({ flushes: 2, entriesWritten: 64 * 4 });
    expect(s.stats().fsyncMs.count).toBe(2);
    expect(s.stats().bytesWritten).toBeGreaterThan(64 * 4 * 16);
  });

  it("coalesces flushes called while a batch is in flight into the next batch", async () => {
    const s = await t.open(await t.dir());
    for (const g of ["a", "b", "c"]) await s.load(g);
    const batches = spyBatches();

    s.stage("a", { entries: entries(1, 1, 1) });
    const first = s.flush();
    // Let the flush start its write: the stages below cannot join it any more.
    await eventually(() => expect(batches.count()).toBe(1));
    s.stage("b", { entries: entries(1, 1, 1) });
    const second = s.flush();
    s.stage("c", { entries: entries(1, 2, 1) });
    const third = s.flush();
    // Nothing new staged: waits for the batch that holds "c" all the same.
    const fourth = s.flush();
    expect(third).toBe(second);
    expect(fourth).toBe(second);

    await Promise.all([first, second, third, fourth]);
    expect(batches.count()).toBe(2);
    expect(batches.opsOf(0)).toBe(3 + 1); // the markers load() staged for a, b, c, and a's entry
    expect(batches.opsOf(1)).toBe(3); // b's and c's entries
    expect(await s.readEntry("c", 2)).toEqual(entry(2, 1));
  });

  it("a flush with nothing staged waits for the batch in flight", async () => {
    const s = await t.open(await t.dir());
    await s.load("a");
    s.stage("a", { entries: entries(1, 100, 1) });
    const first = s.flush();
    let firstDone = false;
    void first.then(() => {
      firstDone = true;
    });
    await Promise.resolve();
    await s.flush();
    expect(firstDone).toBe(true);
  });

  it("serves staged and in-flight entries from readEntry before they reach the disk", async () => {
    const s = await t.open(await t.dir());
    await s.load("a");
    s.stage("a", { entries: entries(1, 3, 1) });
    expect(await s.readEntry("a", 2)).toEqual(entry(2, 1));
    const f = s.flush();
    expect(await s.readEntry("a", 3)).toEqual(entry(3, 1));
    await f;
    expect(await s.readEntry("a", 1)).toEqual(entry(1, 1));
    expect(await s.readEntry("a", 4)).toBeUndefined();
  });

  it("flush({ now: true }) hands the batch to LevelDB before returning, so the fsync overlaps the caller's work", async () => {
    const s = await t.open(await t.dir());
    await s.load("a");
    await s.load("b");
    const batches = spyBatches();
    s.stage("a", { entries: entries(1, 2, 1) });
    const first = s.flush({ now: true });
    expect(batches.count()).toBe(1); // written already, without waiting for a microtask
    // While it is in flight, `now` cannot start another write: the stage joins the next batch.
    s.stage("b", { entries: entries(1, 1, 1) });
    const second = s.flush({ now: true });
    expect(batches.count()).toBe(1);
    await Promise.all([first, second]);
    expect(batches.count()).toBe(2);
    expect(await s.readEntry("b", 1)).toEqual(entry(1, 1));
  });

  it("resolves a flush of nothing at once", async () => {
    const s = await t.open(await t.dir());
    const batches = spyBatches();
    await s.flush();
    expect(batches.count()).toBe(0);
  });
});

describe("a failed batch write", () => {
  it("rejects every waiter and refuses all later use: durability is unknown, the node must stop", async () => {
    const s = await t.open(await t.dir());
    await s.load("a");
    // The first batch write hangs until the test fails it, so the second stage surely overlaps it.
    let failWrite!: (err: Error) => void;
    const batches = spyBatches();
    batches.failNext((fail) => {
      failWrite = fail;
    });
    s.stage("a", { entries: entries(1, 2, 1) });
    const first = s.flush().catch((e: unknown) => e);
    await eventually(() => expect(batches.count()).toBe(1));
    s.stage("a", { entries: entries(3, 3, 1) });
    const second = s.flush().catch((e: unknown) => e);
    failWrite(new Error("EIO: fsync failed"));
    expect(String(await first)).toMatch(/durability of staged writes is unknown.*EIO/);
    expect(await second).toBeInstanceOf(RaftInvariantError);
    expect(() => s.stage("a", { entries: entries(4, 4, 1) })).toThrow(RaftInvariantError);
    await expect(s.flush()).rejects.toThrow(RaftInvariantError);
  });
});
