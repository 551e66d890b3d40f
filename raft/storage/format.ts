/**
 * The database's format version key: written into a new database, checked on every open, so a
 * future incompatible layout is refused instead of misread.
 */
import type { Level } from "level";
import { CorruptStorageError } from "../errors.js";
import { decodeFormat, encodeFormat } from "./codec.js";
import { FORMAT_KEY, FORMAT_VERSION } from "./keys.js";

/**
 * Checks (or, on an empty database, writes) the format version, so a future incompatible layout
 * is refused instead of misread, and a directory of unrelated LevelDB data is not adopted.
 */
export async function checkFormat(db: Level<string, Buffer>, dir: string): Promise<void> {
  const stored = await db.get(FORMAT_KEY);
  if (stored === undefined) {
    for await (const key of db.keys({ limit: 1 })) {
      throw new CorruptStorageError(
        `refusing to start: ${dir} holds data (key ${JSON.stringify(key)}) but no raft storage format version`,
      );
    }
    await db.put(FORMAT_KEY, encodeFormat(FORMAT_VERSION), { sync: true });
    return;
  }
  let version: number;
  try {
    version = decodeFormat(stored);
  } catch (err) {
    throw new CorruptStorageError(`refusing to start: ${dir} key ${FORMAT_KEY}: ${(err as Error).message}`);
  }
  if (version !== FORMAT_VERSION) {
    throw new CorruptStorageError(
      `refusing to start: ${dir} uses raft storage format ${version}; this build reads format ${FORMAT_VERSION}`,
    );
  }
}
