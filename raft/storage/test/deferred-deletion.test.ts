/**
 * Deferred deletion of LevelDB's obsolete files (deferred-deletion.ts): a file LevelDB deletes
 * is freed later through its second name in `trash/`, a live file is never touched, leftovers
 * of a previous process are cleaned up, and without a usable trash the storage still works.
 */
import { randomBytes } from "node:crypto";
import { link, mkdir, readdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Entry } from "../../core/types.js";
import { noopLogger } from "../../logger.js";
import { DeferredDeletion, STEP_BYTES, TRASH_DIR } from "../deferred-deletion.js";
import { NodeStorage } from "../node-storage.js";
import { eventually, snapshot, tempDirs } from "./helpers.js";

const t = tempDirs();
const running: DeferredDeletion[] = [];
afterEach(async () => {
  for (const d of running.splice(0)) await d.stop();
  await t.cleanup();
});

async function start(dir: string): Promise<DeferredDeletion> {
  const d = await DeferredDeletion.start(dir, noopLogger);
  if (!d) throw new Error("deferred deletion did not start");
  running.push(d);
  return d;
}

describe("deferred deletion", () => {
  it("frees a deleted file through the trash in steps and never touches a live one", async () => {
    const dir = await t.dir();
    const live = randomBytes(64 * 1024);
    await writeFile(join(dir, "000002.log"), live);
    await writeFile(join(dir, "000003.ldb"), randomBytes(3 * STEP_BYTES + 5));
    await writeFile(join(dir, "LOG"), "not a data file");
    const d = await start(dir);

    await eventually(async () =>
      expect((await readdir(join(dir, TRASH_DIR))).sort()).toEqual(["000002.log", "000003.ldb"]),
    );
    // LevelDB deletes its name: only a directory entry goes, the trash frees the data.
    await unlink(join(dir, "000003.ldb"));
    await eventually(async () => expect(await readdir(join(dir, TRASH_DIR))).toEqual(["000002.log"]));
    expect(d.freedBytes).toBe(3 * STEP_BYTES + 5);
    expect(await readFile(join(dir, "000002.log"))).toEqual(live);
    expect((await stat(join(dir, "000002.log"))).nlink).toBe(2);
  });

  it("cleans up what a previous process left: keeps live files, deletes garbage and reused names", async () => {
    const dir = await t.dir();
    const trash = join(dir, TRASH_DIR);
    await mkdir(trash);
    const live = randomBytes(1024);
    await writeFile(join(dir, "000007.ldb"), live);
    await link(join(dir, "000007.ldb"), join(trash, "000007.ldb")); // still live
    await writeFile(join(trash, "000005.log"), randomBytes(1024)); // deleted by LevelDB meanwhile
    // After a crash LevelDB may reuse a number: same name, another file.
    const reused = randomBytes(2048);
    await writeFile(join(dir, "000006.ldb"), reused);
    await writeFile(join(trash, "000006.ldb"), randomBytes(4096));
    await writeFile(join(trash, "000004.ldb.gc"), randomBytes(1024)); // garbage being deleted

    await start(dir);
    await eventually(async () => expect((await readdir(trash)).sort()).toEqual(["000006.ldb", "000007.ldb"]));
    expect(await readFile(join(dir, "000007.ldb"))).toEqual(live);
    expect(await readFile(join(dir, "000006.ldb"))).toEqual(reused);
    // The reused name now has the live file as its second name, not the old garbage.
    expect((await stat(join(trash, "000006.ldb"))).ino).toBe((await stat(join(dir, "000006.ldb"))).ino);
  });

  it("keeps a churning LevelDB readable and drains the trash while it compacts", async () => {
    const dir = await t.dir();
    // A tiny memtable makes LevelDB switch logs, flush and compact (and delete files) often.
    const s = await NodeStorage.open(dir, { writeBufferBytes: 64 * 1024 });
    const data = new Uint8Array(randomBytes(1024));
    const written: Entry[] = [];
    for (let from = 1; from <= 800; from += 50) {
      const batch: Entry[] = [];
      for (let i = from; i < from + 50; i++) batch.push({ index: i, term: 1, type: 0, data });
      written.push(...batch);
      s.stage("g", { entries: batch, hardState: { term: 1, vote: "n1", commit: from - 1 } });
      if (from > 400) s.stageCompact("g", snapshot(from - 200, 1));
      await s.flush();
    }
    // LevelDB did delete files (its own log says so)...
    expect(await readFile(join(dir, "LOG"), "utf8")).toMatch(/Delete type=0/);
    // ...and every trash entry left is the second name of a file LevelDB still has.
    await eventually(async () => {
      const names = new Set(await readdir(dir));
      for (const n of await readdir(join(dir, TRASH_DIR))) expect(names.has(n)).toBe(true);
    });
    await s.close();
    const r = await t.open(dir);
    const loaded = await r.load("g");
    expect(loaded.snapshot?.meta.index).toBe(551);
    expect(loaded.entries).toEqual(written.slice(551));
  });

  it("drops every second name when the loop fails, so deleted files do not keep their blocks", async () => {
    const dir = await t.dir();
    await writeFile(join(dir, "000001.ldb"), randomBytes(1024));
    const logger = { ...noopLogger, error: vi.fn() };
    const d = await DeferredDeletion.start(dir, logger);
    if (d) running.push(d);
    await eventually(async () => expect((await stat(join(dir, "000001.ldb"))).nlink).toBe(2));
    // Something in the way of the next link: the loop stops with an error.
    await mkdir(join(dir, TRASH_DIR, "000009.ldb"));
    await writeFile(join(dir, "000009.ldb"), randomBytes(1024));
    await eventually(async () => {
      expect(logger.error).toHaveBeenCalledOnce();
      expect((await stat(join(dir, "000001.ldb"))).nlink).toBe(1);
    });
  });

  it("falls back to LevelDB's own deletion when the trash cannot be made", async () => {
    const dir = await t.dir();
    await writeFile(join(dir, TRASH_DIR), "a file where the trash directory would go");
    const logger = { ...noopLogger, warn: vi.fn() };
    const s = await NodeStorage.open(dir, { logger });
    expect(logger.warn).toHaveBeenCalledOnce();
    s.stage("g", { entries: [{ index: 1, term: 1, type: 0, data: new Uint8Array([1]) }] });
    await s.flush();
    expect((await s.readEntry("g", 1))?.data).toEqual(new Uint8Array([1]));
    await s.close();
  });
});
