/**
 * Deferred deletion of LevelDB's obsolete files, in small steps, outside LevelDB's lock.
 *
 * Why: LevelDB (1.20, inside classic-level) deletes a file it no longer needs (the write-ahead
 * log after a memtable flush, the level-0 tables after a compaction, 64 MiB each with our
 * memtable size) by `unlink` while holding its database mutex, so every write waits for the
 * unlink. On a file system mounted with online `discard` (our VMs'), unlinking a written file
 * discards its blocks synchronously: ~80 ms for 64 MiB on the bench machine, several files in a
 * row after a compaction, and the block device serves nothing else meanwhile, so the fsyncs of
 * every process on the disk wait too. These were the 100-400 ms batch-write maxima
 * (docs/raft/storage.md, "Where the write stalls come from").
 *
 * How: every `.ldb` and `.log` file of the database gets a second name (a hard link) in
 * `<dir>/trash/` while it is live. When LevelDB deletes its own name, its unlink only removes a
 * directory entry (the data still has our name): no blocks are freed under its mutex. A
 * background loop then finds trash entries whose database name is gone and shrinks each with
 * `truncate` in {@link STEP_BYTES} steps before unlinking it, so the disk sees many short
 * discards, between which other writes get through, instead of one long one.
 *
 * Safety: a trash file is shrunk only once its name is gone from the database directory.
 * LevelDB never renames, links or reopens a table or log file it has deleted (file numbers only
 * grow), and deletes only files no live version or reader uses, so the data truncated here is
 * data LevelDB has already discarded. Names are the only link between the two directories;
 * after a restart a trash entry whose database file is gone or is another file (same number
 * reused after a crash) is renamed to `*.gc` first, so a reused name is never mistaken.
 */
import { link, mkdir, readdir, rename, stat, truncate, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../logger.js";

/** The subdirectory holding the second names; LevelDB ignores names it does not produce. */
export const TRASH_DIR = "trash";

/** Bytes freed per truncate step: a few milliseconds of discard on the bench machine. */
export const STEP_BYTES = 4 * 1024 * 1024;

/**
 * How often the database directory is scanned for new and deleted files. LevelDB's files live
 * for seconds (a log as long as its memtable fills, a table until a compaction picks it), so
 * few are missed, and a missed one is only deleted by LevelDB itself, as without this.
 */
export const SCAN_MS = 50;

/** The files LevelDB creates and later deletes in bulk: tables and write-ahead logs. */
const DATA_FILE = /^\d+\.(ldb|log)$/;
const GARBAGE_SUFFIX = ".gc";

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

export class DeferredDeletion {
  /** Names linked into the trash (and still there). */
  private readonly linked = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Bytes shrunk away so far (for tests and diagnostics). */
  freedBytes = 0;

  private constructor(
    private readonly dir: string,
    private readonly trash: string,
    private readonly logger: Logger,
    /** Garbage from a previous process (`*.gc`), deleted before anything else. */
    private readonly orphans: string[],
  ) {}

  /**
   * Starts deferred deletion for the database LevelDB has just opened (and locked) in `dir`.
   * Prepares `<dir>/trash` first: the second names of files that are still live are dropped
   * (the first scan links them again), every other entry is garbage left by a previous
   * process and is renamed `*.gc` for the loop to delete. Returns undefined, after logging,
   * where hard links or the trash directory are not possible: LevelDB then deletes its files
   * itself, as without this.
   */
  static async start(dir: string, logger: Logger): Promise<DeferredDeletion | undefined> {
    const trash = join(dir, TRASH_DIR);
    try {
      await mkdir(trash, { recursive: true });
      const orphans: string[] = [];
      for (const name of await readdir(trash)) {
        if (name.endsWith(GARBAGE_SUFFIX)) {
          orphans.push(name);
          continue;
        }
        const [mine, theirs] = await Promise.all([
          stat(join(trash, name)),
          stat(join(dir, name)).catch(() => undefined),
        ]);
        if (theirs && theirs.ino === mine.ino && theirs.dev === mine.dev) {
          await unlink(join(trash, name));
        } else {
          await rename(join(trash, name), join(trash, name + GARBAGE_SUFFIX));
          orphans.push(name + GARBAGE_SUFFIX);
        }
      }
      const d = new DeferredDeletion(dir, trash, logger, orphans);
      d.schedule(0);
      return d;
    } catch (err) {
      logger.warn(
        { err, dir },
        "raft storage: deferred file deletion unavailable, LevelDB deletes its files",
      );
      return undefined;
    }
  }

  /** Stops the loop; garbage left in the trash is deleted by the next process that opens `dir`. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass().then(
        (busy) => this.schedule(busy ? 0 : SCAN_MS),
        async (err: unknown) => {
          // Deleting obsolete files is housekeeping: on an unexpected error fall back to
          // LevelDB's own deletion. The second names must go too, or every file LevelDB
          // deletes from now on would keep its blocks until the next open.
          this.logger.error({ err, dir: this.dir }, "raft storage: deferred file deletion stopped");
          this.stopped = true;
          await this.dropLinks();
        },
      );
    }, ms);
    this.timer.unref();
  }

  /** One scan: link new files, shrink one step of garbage. Returns whether garbage remains. */
  private async pass(): Promise<boolean> {
    const names = new Set(await readdir(this.dir));
    for (const name of names) {
      if (this.stopped) return false;
      if (!DATA_FILE.test(name) || this.linked.has(name)) continue;
      try {
        await link(join(this.dir, name), join(this.trash, name));
        this.linked.add(name);
      } catch (err) {
        // Deleted by LevelDB between readdir and link: it did the unlink itself this once.
        if (errCode(err) !== "ENOENT") throw err;
      }
    }
    let garbage = this.orphans[0];
    if (garbage === undefined) {
      for (const name of this.linked) {
        if (!names.has(name)) {
          garbage = name;
          break;
        }
      }
    }
    if (garbage === undefined) return false;
    await this.shrink(garbage);
    return true;
  }

  /** Frees one step of a garbage file, or unlinks it once empty. */
  private async shrink(name: string): Promise<void> {
    const path = join(this.trash, name);
    try {
      const { size } = await stat(path);
      if (size > 0) {
        const next = Math.max(0, size - STEP_BYTES);
        await truncate(path, next);
        this.freedBytes += size - next;
        return;
      }
      await unlink(path);
    } catch (err) {
      // Removed by someone else (an operator cleaning up): nothing left to free.
      if (errCode(err) !== "ENOENT") throw err;
    }
    this.forget(name);
  }

  /** Best effort: removes every second name, freeing what LevelDB already deleted. */
  private async dropLinks(): Promise<void> {
    for (const name of [...this.linked, ...this.orphans]) {
      await unlink(join(this.trash, name)).catch(() => undefined);
    }
    this.linked.clear();
    this.orphans.length = 0;
  }

  private forget(name: string): void {
    this.linked.delete(name);
    if (this.orphans[0] === name) this.orphans.shift();
  }
}
