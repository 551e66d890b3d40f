import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { CorruptStorageError } from "../../errors.js";
import { encodeEntry } from "../codec.js";
import { NodeStorage } from "../node-storage.js";
import { entries, entry, snapshot, tempDirs } from "./helpers.js";

const t = tempDirs();
afterEach(() => t.cleanup());

/** Writes a healthy group "q:1" (snapshot at 4 with live entry 2, log 5..8), then closes. */
async function healthyStore(): Promise<string> {
  const dir = await t.dir();
  const s = await NodeStorage.open(dir);
  await s.load("q:1");
  s.stage("q:1", { entries: entries(1, 8, 1), hardState: { term: 1, vote: "n1", commit: 8 } });
  s.stageCompact("q:1", snapshot(4, 1, [2]));
  await s.flush();
  await s.close();
  return dir;
}

/** Tampers with the database through a raw level handle, as a bad disk or a stray tool would. */
async function tamper(dir: string, f: (db: Level<string, Buffer>) => Promise<void>): Promise<void> {
  const db = new Level<string, Buffer>(dir, { keyEncoding: "utf8", valueEncoding: "buffer" });
  await db.open();
  await f(db);
  await db.close();
}

const E = (i: number) => `g:q%3A1:e:${i.toString(16).padStart(16, "0")}`;

describe("corruption is a fatal, clearly worded startup error, never a silent skip", () => {
  const cases: [string, (db: Level<string, Buffer>) => Promise<void>, string, RegExp][] = [
    ["garbage bytes in an entry", (db) => db.put(E(6), Buffer.from([0xc1, 0xff, 0x00])), E(6), /entry 6/],
    ["a truncated entry", (db) => db.put(E(7), Buffer.from([0x94, 0x07])), E(7), /undecodable msgpack/],
    ["a hole in the log", (db) => db.del(E(6)), E(7), /hole: expected entry 6, found 7/],
    [
      "an entry stored under another index",
      async (db) => db.put(E(6), (await db.get(E(7)))!),
      E(6),
      /says it is entry 7/,
    ],
    [
      "an undecodable hard state",
      (db) => db.put("g:q%3A1:h", Buffer.from("not msgpack")),
      "g:q%3A1:h",
      /hard state/,
    ],
    [
      "an undecodable snapshot",
      (db) => db.put("g:q%3A1:s", Buffer.from([0x93, 1, 2, 3])),
      "g:q%3A1:s",
      /snapshot/,
    ],
    ["a missing live entry", (db) => db.del(E(2)), "g:q%3A1:s", /live entry 2 .* missing/],
    [
      "a stray entry below the snapshot",
      (db) => db.put(E(3), encodeEntry(entry(3, 1))),
      E(3),
      /below snapshot 4 and not live/,
    ],
    [
      "an unknown key",
      (db) => db.put("g:q%3A1:x", Buffer.from([1])),
      "g:q%3A1:x",
      /not part of the storage layout/,
    ],
  ];

  it.each(cases)("%s", async (_name, damage, key, reason) => {
    const dir = await healthyStore();
    await tamper(dir, damage);
    const s = await t.open(dir);
    const err = await s.load("q:1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptStorageError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^refusing to start: /);
    expect(msg).toContain('group "q:1"');
    expect(msg).toContain(JSON.stringify(key));
    expect(msg).toMatch(reason);
  });

  it("reports a corrupt live entry read through readEntry", async () => {
    const dir = await healthyStore();
    const s = await t.open(dir);
    await s.load("q:1");
    await s.close();
    await tamper(dir, (db) => db.put(E(2), Buffer.from([0xc1])));
    const r = await t.open(dir);
    await expect(r.readEntry("q:1", 2)).rejects.toThrow(CorruptStorageError);
  });

  it("refuses a database of an unknown format", async () => {
    const dir = await healthyStore();
    await tamper(dir, (db) => db.put("w:format", Buffer.from([0x07])));
    await expect(NodeStorage.open(dir)).rejects.toThrow(/format 7; this build reads format 1/);
  });

  it("refuses a directory that holds data but no format marker", async () => {
    const dir = await t.dir();
    await tamper(dir, (db) => db.put("other", Buffer.from([1])));
    await expect(NodeStorage.open(dir)).rejects.toThrow(CorruptStorageError);
  });
});
