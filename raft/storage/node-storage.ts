/**
 * NodeStorage: the write-ahead log of one node, shared by all its Raft groups (RabbitMQ Ra's
 * "one WAL per node"), on one LevelDB database.
 *
 * Group commit. `stage()` (from any number of groups) only queues operations in memory;
 * `flush()` writes everything staged as ONE LevelDB batch with `sync: true`, i.e. one fsync for
 * all groups. While a batch is being written, further stages accumulate and every `flush()`
 * called meanwhile coalesces into the next batch, which starts as soon as the current one is
 * durable. Under load the batch size grows by itself, so the fsync rate (not the disk's
 * bandwidth) bounds throughput and the disk never sees more than one outstanding sync.
 *
 * Durability rule (the host's job, see `Ready` in core/types.ts): a vote, a vote's hard state, or an
 * append acknowledgement may be sent only after the `flush()` covering it resolves. A leader
 * may send MsgApp to its followers while its own batch is in flight (thesis §10.2.1): the
 * core counts the leader's own match index only once `advance()` reports the entries durable.
 *
 * Reads: `load()` returns what is on disk (call it before staging writes for that group);
 * `readEntry()` also sees staged and in-flight writes.
 *
 * A failed batch write leaves the staged data's durability unknown (after a failed fsync the
 * kernel may have dropped the dirty pages): the storage refuses every later call and the node
 * must exit and recover from disk.
 */
import { Level } from "level";
import type { Entry, GroupId, HardState, Snapshot } from "../core/types.js";
import { CorruptStorageError, RaftError, RaftInvariantError } from "../errors.js";
import { type Logger, noopLogger } from "../logger.js";
import { decodeEntry, encodeHardState, RecordDecodeError } from "./codec.js";
import { DeferredDeletion } from "./deferred-deletion.js";
import { checkFormat } from "./format.js";
import {
  type GroupLog,
  newGroupLog,
  stageAppend,
  stageCompaction,
  stageDeleteLoaded,
  stageInstall,
  stageMarker,
} from "./group-log.js";
import {
  entryKey,
  groupLowerBound,
  groupUpperBound,
  hardStateKey,
  MARKER_PREFIX,
  markerKey,
  parseMarkerKey,
} from "./keys.js";
import { type LoadedGroup, recoverGroup } from "./recovery.js";
import { LatencyWindow, type StorageStats } from "./stats.js";
import { WriteBatch } from "./write-batch.js";

/** One group's writes for the next flush. Applied in this order: snapshot, entries, hard state. */
export interface StagedWrite {
  /** A snapshot received from the leader: replaces the whole stored log. */
  readonly snapshot?: Snapshot;
  /** The entries named by `snapshot.live`, shipped with it. Only together with `snapshot`. */
  readonly liveEntries?: readonly Entry[];
  /** Consecutive entries; those at or below the stored last index replace the stored suffix. */
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState;
}

export interface NodeStorageOptions {
  logger?: Logger;
  /**
   * LevelDB memtable size in bytes (default {@link DEFAULT_WRITE_BUFFER_BYTES}). A larger
   * memtable turns into fewer level-0 files, so sustained log traffic stalls less on compaction.
   */
  writeBufferBytes?: number;
  /**
   * Snappy compression of LevelDB tables (default false). Log entries are mostly message
   * bodies, often already compressed or random, and live only until the next compaction of
   * their group; compressing them costs CPU on the same two cores that run Raft.
   */
  compression?: boolean;
  /**
   * Size of LevelDB's table files written by compactions, in bytes (LevelDB's default, 2 MiB,
   * when absent). See docs/raft/storage.md, "Where the write stalls come from".
   */
  maxFileBytes?: number;
  /**
   * Delete LevelDB's obsolete files in small steps outside its lock (default true; see
   * deferred-deletion.ts). False leaves the deletion to LevelDB.
   */
  deferFileDeletion?: boolean;
}

/**
 * Default memtable size. LevelDB's own default (4 MiB) fills in ~50 ms at 70k entries of 1 KiB
 * per second and then throttles writers while level 0 compacts; most log entries are deleted
 * again by compaction soon after, so a larger memtable also lets more of them die in memory.
 */
export const DEFAULT_WRITE_BUFFER_BYTES = 64 * 1024 * 1024;

/** The database handle: UTF-8 keys (see keys.ts), Buffer values (see codec.ts). */
type Db = Level<string, Buffer>;

/** A promise with its settle functions, for the waiters of a batch not started yet. */
interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(err: Error): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export class NodeStorage {
  /** Groups loaded or created in this process, with their bookkeeping. */
  private readonly logs = new Map<GroupId, GroupLog>();
  /** Every group stored on disk or staged (loaded or not). */
  private readonly known: Set<GroupId>;
  /** Writes not yet handed to LevelDB. */
  private staging = new WriteBatch();
  /** The batch being written, if any; `done` settles when it is durable. */
  private inflight: { readonly batch: WriteBatch; readonly done: Promise<void> } | undefined;
  /** Waiters of the staged batch: set once someone called flush() with something staged. */
  private pending: Deferred | undefined;
  /** Set once a batch write failed: every later call throws it (see the class comment). */
  private failure: Error | undefined;
  private closed = false;
  /** Counters behind `stats()`. */
  private flushes = 0;
  private entriesWritten = 0;
  private bytesWritten = 0;
  private opsWritten = 0;
  private readonly latency = new LatencyWindow();

  private constructor(
    private readonly db: Db,
    private readonly logger: Logger,
    known: Set<GroupId>,
    /** Deletes LevelDB's obsolete files outside its lock (see deferred-deletion.ts). */
    private readonly deletion: DeferredDeletion | undefined,
  ) {
    this.known = known;
  }

  /**
   * Opens (creating if missing) the node's database in `dir`. Throws CorruptStorageError when the
   * directory holds data of another format or unreadable group markers.
   */
  static async open(dir: string, opts: NodeStorageOptions = {}): Promise<NodeStorage> {
    const logger = opts.logger ?? noopLogger;
    const db: Db = new Level<string, Buffer>(dir, {
      keyEncoding: "utf8",
      valueEncoding: "buffer",
      writeBufferSize: opts.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES,
      compression: opts.compression ?? false,
      ...(opts.maxFileBytes !== undefined ? { maxFileSize: opts.maxFileBytes } : {}),
    });
    try {
      await db.open();
    } catch (err) {
      // Two nodes on one directory would interleave two logs: say so plainly.
      const cause = (err as { cause?: { code?: string } }).cause;
      if (cause?.code === "LEVEL_LOCKED") {
        throw new RaftError(`refusing to start: raft storage in ${dir} is locked by another process`, {
          cause: err,
        });
      }
      throw err;
    }
    try {
      await checkFormat(db, dir);
      const known = new Set<GroupId>();
      for await (const key of db.keys({ gte: MARKER_PREFIX, lt: "m;" })) {
        try {
          known.add(parseMarkerKey(key));
        } catch {
          throw new CorruptStorageError(
            `refusing to start: raft storage in ${dir} has a malformed group marker key ${JSON.stringify(key)}`,
          );
        }
      }
      logger.info({ dir, groups: known.size }, "raft storage opened");
      const deletion =
        (opts.deferFileDeletion ?? true) ? await DeferredDeletion.start(dir, logger) : undefined;
      return new NodeStorage(db, logger, known, deletion);
    } catch (err) {
      await db.close();
      throw err;
    }
  }

  /** Ids of the groups stored (or staged) on this node, sorted. */
  async groups(): Promise<GroupId[]> {
    return [...this.known].sort();
  }

  /**
   * Reads a group back exactly as it was flushed: hard state, snapshot, and the log after the
   * snapshot. A group never written loads as empty and is created (listed by `groups()`, its
   * marker staged for the next flush). Throws CorruptStorageError (naming the group
   * and key) on any undecodable record or inconsistent log. Must be called before staging writes
   * for a group that exists on disk. If writes for this group are staged or in flight, they are
   * flushed first, so the answer reflects them (loading a group again is allowed, but not while
   * writes for it are being staged).
   */
  async load(group: GroupId): Promise<LoadedGroup> {
    this.checkUsable();
    // Only this group's own pending writes matter; other groups' batches need not be awaited.
    if (this.staging.touches(group) || this.inflight?.batch.touches(group)) await this.flush();
    const { loaded, log } = await recoverGroup(this.db, group);
    this.logs.set(group, log);
    if (!this.known.has(group)) {
      // Loading a group that was never written creates it: `groups()` lists it from now on,
      // and its marker goes to disk with the next flush.
      log.markerStaged = false;
      this.known.add(group);
      this.staging.touch(group);
      stageMarker(this.staging, log);
    }
    return loaded;
  }

  /**
   * Queues one group's writes for the next flush: snapshot (replacing the log), then entries
   * (truncating a conflicting stored suffix, Raft §5.3), then hard state. Throws
   * RaftInvariantError on a write that would break the log (a hole, an append below the snapshot).
   */
  stage(group: GroupId, w: StagedWrite): void {
    this.checkUsable();
    const g = this.groupLog(group);
    if (w.liveEntries && !w.snapshot) {
      throw new RaftInvariantError(`raft storage, group ${group}: liveEntries staged without a snapshot`);
    }
    const b = this.staging;
    b.touch(group);
    stageMarker(b, g);
    if (w.snapshot) stageInstall(b, g, w.snapshot, w.liveEntries ?? []);
    if (w.entries) stageAppend(b, g, w.entries);
    if (w.hardState) b.put(hardStateKey(group), encodeHardState(w.hardState));
  }

  /**
   * Queues compaction after a local snapshot: stores `snapshot` and deletes every entry at or
   * below its index except `snapshot.live`, whose entries stay readable through `readEntry`.
   */
  stageCompact(group: GroupId, snapshot: Snapshot): void {
    this.checkUsable();
    const g = this.groupLog(group);
    this.staging.touch(group);
    stageMarker(this.staging, g);
    stageCompaction(this.staging, g, snapshot);
  }

  /** Queues the removal of everything stored for `group`. A later stage starts it afresh. */
  stageDeleteGroup(group: GroupId): void {
    this.checkUsable();
    this.staging.touch(group);
    const g = this.logs.get(group);
    if (g) {
      stageDeleteLoaded(this.staging, g);
      this.logs.delete(group);
    } else if (this.known.has(group)) {
      // Stored but never loaded: the keys are found by a scan when the batch is written.
      this.staging.clearGroup(group, { type: "clear", group });
      this.staging.del(markerKey(group));
    }
    this.known.delete(group);
  }

  /**
   * Makes everything staged so far durable: one LevelDB batch with `sync: true` for all groups.
   * Resolves when the batch covering every write staged before this call is on disk. Calls made
   * while a batch is in flight coalesce into the next one.
   *
   * By default the batch is handed to LevelDB on a microtask, so the stages and flushes of one
   * synchronous run share it. `now: true` hands it over before returning (when no batch is in
   * flight), for a caller that has staged everything it will stage in this run and goes on
   * with other synchronous work: the fsync then overlaps that work instead of following it.
   */
  flush(opts?: { readonly now?: boolean }): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new RaftInvariantError("raft storage is closed"));
    if (!this.staging.isEmpty()) {
      if (!this.pending) {
        this.pending = deferred();
        if (!this.inflight) {
          const promise = this.pending.promise;
          if (opts?.now === true) this.startNext();
          else queueMicrotask(() => this.startNext());
          return promise;
        }
      }
      return this.pending.promise;
    }
    return this.pending?.promise ?? this.inflight?.done ?? Promise.resolve();
  }

  /** An entry of the log or a live entry, including staged and in-flight writes; undefined if absent. */
  async readEntry(group: GroupId, index: number): Promise<Entry | undefined> {
    return (await this.readEntries(group, [index]))[0];
  }

  /**
   * Several entries at once (e.g. the live entries shipped with a snapshot): one LevelDB
   * `getMany` for those not in a staged or in-flight batch. Result `k` is entry `indexes[k]`,
   * or undefined if absent.
   */
  async readEntries(group: GroupId, indexes: readonly number[]): Promise<(Entry | undefined)[]> {
    this.checkUsable();
    const out: (Entry | undefined)[] = new Array(indexes.length);
    const misses: number[] = [];
    for (let k = 0; k < indexes.length; k++) {
      const hit = this.lookupPending(group, indexes[k]!);
      if (hit === undefined) misses.push(k);
      else out[k] = hit ?? undefined;
    }
    if (misses.length === 0) return out;
    const keys = misses.map((k) => entryKey(group, indexes[k]!));
    const values = await this.db.getMany(keys);
    for (let m = 0; m < misses.length; m++) {
      const value = values[m];
      if (value !== undefined)
        out[misses[m]!] = decodeStoredEntry(group, keys[m]!, indexes[misses[m]!]!, value);
    }
    return out;
  }

  /** What the staged, then the in-flight batch say about an entry (see WriteBatch.lookup). */
  private lookupPending(group: GroupId, index: number): Entry | null | undefined {
    const staged = this.staging.lookup(group, index);
    if (staged !== undefined) return staged;
    return this.inflight?.batch.lookup(group, index);
  }

  /** Counters for metrics and the benchmark. */
  stats(): StorageStats {
    return {
      flushes: this.flushes,
      entriesWritten: this.entriesWritten,
      bytesWritten: this.bytesWritten,
      opsWritten: this.opsWritten,
      fsyncMs: this.latency.summary(),
    };
  }

  /** Flushes what is staged, waits for the write in flight, and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.failure) await this.flush().catch(() => undefined);
    await this.inflight?.done.catch(() => undefined);
    this.closed = true;
    await this.deletion?.stop();
    await this.db.close();
  }

  /** Throws the recorded failure, or if closed; every public operation starts with it. */
  private checkUsable(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new RaftInvariantError("raft storage is closed");
  }

  /** The bookkeeping of `group`, creating it for a new group. */
  private groupLog(group: GroupId): GroupLog {
    let g = this.logs.get(group);
    if (g) {
      this.known.add(group);
      return g;
    }
    if (this.known.has(group)) {
      throw new RaftInvariantError(
        `raft storage, group ${group}: it is stored on disk; load() it before staging writes`,
      );
    }
    g = newGroupLog(group, false);
    this.logs.set(group, g);
    this.known.add(group);
    return g;
  }

  /** Hands the staged batch to LevelDB (only when nothing is in flight and someone waits for it). */
  private startNext(): void {
    const waiter = this.pending;
    if (this.inflight || !waiter) return;
    this.pending = undefined;
    const batch = this.staging;
    this.staging = new WriteBatch();
    this.inflight = { batch, done: waiter.promise };
    this.write(batch).then(
      () => {
        this.inflight = undefined;
        waiter.resolve();
        if (this.pending) this.startNext();
      },
      (err: unknown) => {
        this.failure = new RaftInvariantError(
          `raft storage: a batch write failed, durability of staged writes is unknown; the node must stop (${String(err)})`,
          { cause: err },
        );
        this.logger.error({ err }, "raft storage write failed");
        this.inflight = undefined;
        waiter.reject(this.failure);
        this.pending?.reject(this.failure);
        this.pending = undefined;
      },
    );
  }

  /**
   * Writes one staged batch as one LevelDB write with `sync: true`. A chained batch rather than
   * `db.batch(array)`: abstract-level's array path clones and re-validates every operation in
   * JavaScript (~10 us per op, measured), the chained one hands each op straight to the native
   * WriteBatch (~1 us), and this runs on the event loop that also drives Raft.
   */
  private async write(batch: WriteBatch): Promise<void> {
    const chain = this.db.batch();
    try {
      for (const op of batch.ops) {
        if (op.type === "put") chain.put(op.key, op.value);
        else if (op.type === "del") chain.del(op.key);
        else await this.expandClear(chain, op.group);
      }
    } catch (err) {
      await chain.close();
      throw err;
    }
    const ops = chain.length;
    const start = performance.now();
    await chain.write({ sync: true });
    this.latency.record(performance.now() - start);
    this.flushes++;
    this.entriesWritten += batch.entries;
    this.bytesWritten += batch.bytes;
    this.opsWritten += ops;
  }

  /** Adds deletes of every key `group` has on disk (a `clear` op of a group never loaded). */
  private async expandClear(chain: ReturnType<Db["batch"]>, group: GroupId): Promise<void> {
    for await (const key of this.db.keys({ gte: groupLowerBound(group), lt: groupUpperBound(group) })) {
      chain.del(key);
    }
  }
}

/** Decodes an entry read at runtime; a bad record is a CorruptStorageError naming group and key. */
function decodeStoredEntry(group: GroupId, key: string, index: number, value: Buffer): Entry {
  let entry: Entry;
  try {
    entry = decodeEntry(value);
  } catch (err) {
    if (!(err instanceof RecordDecodeError)) throw err;
    throw new CorruptStorageError(
      `raft storage for group ${JSON.stringify(group)} is corrupt at key ${key}: ${err.message}`,
    );
  }
  if (entry.index !== index) {
    throw new CorruptStorageError(
      `raft storage for group ${JSON.stringify(group)}: key ${key} holds entry ${entry.index}`,
    );
  }
  return entry;
}
