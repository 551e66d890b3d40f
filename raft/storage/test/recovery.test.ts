import { afterEach, describe, expect, it } from "vitest";
import { RaftInvariantError } from "../../errors.js";
import { NodeStorage } from "../node-storage.js";
import { entries, entry, snapshot, tempDirs } from "./helpers.js";

const t = tempDirs();
afterEach(() => t.cleanup());

describe("restart recovery", () => {
  it("restores hard state, snapshot and log exactly after close and reopen", async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    expect(await s.load("q1")).toEqual({ hardState: undefined, snapshot: undefined, entries: [] });
    s.stage("q1", { entries: entries(1, 5, 1), hardState: { term: 1, vote: "n1", commit: 3 } });
    await s.flush();
    s.stage("q1", { entries: entries(6, 7, 2), hardState: { term: 2, vote: "n2", commit: 6 } });
    await s.flush();
    await s.close();

    const r = await t.open(dir);
    expect(await r.groups()).toEqual(["q1"]);
    expect(await r.load("q1")).toEqual({
      hardState: { term: 2, vote: "n2", commit: 6 },
      snapshot: undefined,
      entries: [...entries(1, 5, 1), ...entries(6, 7, 2)],
    });
  });

  it("keeps groups apart, including ids that share a prefix or contain separators", async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    const ids = ["a", "ab", "a:b", "a;b", "q:/:orders", "ünï cødé"];
    for (const [k, g] of ids.entries()) {
      await s.load(g);
      s.stage(g, { entries: entries(1, k + 1, k + 1), hardState: { term: k + 1, vote: "", commit: 0 } });
    }
    await s.flush();
    await s.close();
    const r = await t.open(dir);
    expect(await r.groups()).toEqual([...ids].sort());
    for (const [k, g] of ids.entries()) {
      const loaded = await r.load(g);
      expect(loaded.entries).toEqual(entries(1, k + 1, k + 1));
      expect(loaded.hardState?.term).toBe(k + 1);
    }
  });

  it("creates a group on its first load: listed at once, and after a restart", async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    await s.load("fresh");
    expect(await s.groups()).toEqual(["fresh"]);
    await s.flush();
    await s.close();
    const r = await t.open(dir);
    expect(await r.groups()).toEqual(["fresh"]);
    expect(await r.load("fresh")).toEqual({ hardState: undefined, snapshot: undefined, entries: [] });
  });

  it("refuses a directory another NodeStorage holds open", async () => {
    const dir = await t.dir();
    await t.open(dir);
    await expect(NodeStorage.open(dir)).rejects.toThrow(/refusing to start: .* is locked by another process/);
  });

  it("refuses to stage writes for a stored group that was not loaded", async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    s.stage("q1", { entries: entries(1, 1, 1) });
    await s.close();
    const r = await t.open(dir);
    expect(() => r.stage("q1", { entries: entries(2, 2, 1) })).toThrow(/load\(\) it before staging/);
  });
});

describe("log truncation (Raft §5.3: a conflicting entry and all that follow it are replaced)", () => {
  it("deletes the stored suffix beyond an append at or below the last index", async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    await s.load("q1");
    s.stage("q1", { entries: entries(1, 10, 1) });
    await s.flush();
    s.stage("q1", { entries: entries(4, 6, 2) });
    await s.flush();
    expect(await s.readEntry("q1", 7)).toBeUndefined();
    expect(await s.readEntry("q1", 5)).toEqual(entry(5, 2));
    await s.close();

    const r = await t.open(dir);
    expect((await r.load("q1")).entries).toEqual([...entries(1, 3, 1), ...entries(4, 6, 2)]);
  });

  it("truncates within one staged batch too", async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    await s.load("q1");
    s.stage("q1", { entries: entries(1, 5, 1) });
    s.stage("q1", { entries: entries(3, 3, 2) });
    expect(await s.readEntry("q1", 4)).toBeUndefined();
    await s.close();
    const r = await t.open(dir);
    expect((await r.load("q1")).entries).toEqual([...entries(1, 2, 1), entry(3, 2)]);
  });

  it("rejects an append that would leave a hole", async () => {
    const s = await t.open(await t.dir());
    await s.load("q1");
    s.stage("q1", { entries: entries(1, 3, 1) });
    expect(() => s.stage("q1", { entries: entries(5, 6, 1) })).toThrow(RaftInvariantError);
  });
});

describe("compaction with live entries (RabbitMQ Ra v3 live indexes)", () => {
  it("deletes every entry at or below the snapshot except the live ones, which stay readable", async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    await s.load("q1");
    s.stage("q1", { entries: entries(1, 20, 1), hardState: { term: 1, vote: "n1", commit: 20 } });
    await s.flush();
    s.stageCompact("q1", snapshot(10, 1, [2, 7]));
    await s.flush();
    expect(await s.readEntry("q1", 2)).toEqual(entry(2, 1));
    expect(await s.readEntry("q1", 3)).toBeUndefined();
    expect(await s.readEntry("q1", 10)).toBeUndefined();
    expect(await s.readEntry("q1", 11)).toEqual(entry(11, 1));

    // A later compaction drops the entry that stopped being live and keeps the other.
    s.stageCompact("q1", snapshot(15, 1, [7, 12]));
    await s.flush();
    await s.close();

    const r = await t.open(dir);
    const loaded = await r.load("q1");
    expect(loaded.snapshot).toEqual(snapshot(15, 1, [7, 12]));
    expect(loaded.entries).toEqual(entries(16, 20, 1));
    expect(await r.readEntry("q1", 2)).toBeUndefined();
    expect(await r.readEntry("q1", 7)).toEqual(entry(7, 1));
    expect(await r.readEntry("q1", 12)).toEqual(entry(12, 1));
    expect(await r.readEntry("q1", 13)).toBeUndefined();
    // In bulk (as when shipping a snapshot's live entries), staged writes included.
    r.stage("q1", { entries: entries(21, 21, 2) });
    expect(await r.readEntries("q1", [12, 13, 7, 21, 16])).toEqual([
      entry(12, 1),
      undefined,
      entry(7, 1),
      entry(21, 2),
      entry(16, 1),
    ]);
  });

  it("rejects a live index that was already compacted away", async () => {
    const s = await t.open(await t.dir());
    await s.load("q1");
    s.stage("q1", { entries: entries(1, 10, 1) });
    s.stageCompact("q1", snapshot(5, 1, [3]));
    expect(() => s.stageCompact("q1", snapshot(8, 1, [4]))).toThrow(/already compacted/);
  });
});

describe("snapshot install (Raft Figure 13)", () => {
  it("replaces the whole log with the snapshot and its live entries, atomically with the entries after it", async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    await s.load("q1");
    s.stage("q1", { entries: entries(1, 8, 1) });
    s.stageCompact("q1", snapshot(4, 1, [2]));
    await s.flush();
    s.stage("q1", {
      snapshot: snapshot(30, 3, [25, 28], "leader-state"),
      liveEntries: [entry(25, 3), entry(28, 3)],
      entries: entries(31, 32, 3),
      hardState: { term: 3, vote: "", commit: 31 },
    });
    await s.flush();
    await s.close();

    const r = await t.open(dir);
    const loaded = await r.load("q1");
    expect(loaded.snapshot).toEqual(snapshot(30, 3, [25, 28], "leader-state"));
    expect(loaded.entries).toEqual(entries(31, 32, 3));
    expect(loaded.hardState).toEqual({ term: 3, vote: "", commit: 31 });
    expect(await r.readEntry("q1", 2)).toBeUndefined();
    expect(await r.readEntry("q1", 6)).toBeUndefined();
    expect(await r.readEntry("q1", 25)).toEqual(entry(25, 3));
  });

  it("requires the live entries the snapshot names", async () => {
    const s = await t.open(await t.dir());
    await s.load("q1");
    expect(() => s.stage("q1", { snapshot: snapshot(10, 1, [5]), liveEntries: [] })).toThrow(
      RaftInvariantError,
    );
  });
});

describe("deleteGroup", () => {
  it("removes everything of a loaded group and leaves the others", async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    for (const g of ["q1", "q2"]) {
      await s.load(g);
      s.stage(g, { entries: entries(1, 6, 1), hardState: { term: 1, vote: "n1", commit: 2 } });
      s.stageCompact(g, snapshot(3, 1, [1]));
    }
    await s.flush();
    s.stageDeleteGroup("q1");
    expect(await s.readEntry("q1", 5)).toBeUndefined();
    await s.flush();
    await s.close();
    const r = await t.open(dir);
    expect(await r.groups()).toEqual(["q2"]);
    expect(await r.load("q1")).toEqual({ hardState: undefined, snapshot: undefined, entries: [] });
    expect((await r.load("q2")).entries).toEqual(entries(4, 6, 1));
  });

  it("removes a stored group that this process never loaded", async () => {
    const dir = await t.dir();
    const s = await t.open(dir);
    s.stage("old", { entries: entries(1, 4, 2), hardState: { term: 2, vote: "", commit: 0 } });
    await s.close();
    const r = await t.open(dir);
    r.stageDeleteGroup("old");
    // Recreating it in the same batch starts from an empty log.
    r.stage("old", { entries: entries(1, 1, 5) });
    await r.flush();
    await r.close();
    const again = await t.open(dir);
    expect(await again.groups()).toEqual(["old"]);
    expect(await again.load("old")).toEqual({
      hardState: undefined,
      snapshot: undefined,
      entries: [entry(1, 5)],
    });
  });
});
