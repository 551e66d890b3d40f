/**
 * Pending proposals of one group, keyed by the log position `RawNode.propose` returned.
 *
 * A proposal's outcome is decided by what is applied at its index, never by who leads:
 * - an entry with the same `{index, term}` applied  => it committed: resolve with apply()'s result;
 * - an entry with another term applied at the index, or the local log overwritten at or below
 *   it by a new leader                                => it can never commit: ProposalDroppedError;
 * - neither within `proposalTimeoutMs`              => ProposalTimeoutError (it may still commit).
 * A deposed leader therefore keeps its proposals pending: most of them are still committed by
 * the next leader (its log holds them), and the rest are dropped as soon as the overwrite
 * reaches this node. No proposal is ever resolved unless its own entry was applied.
 */
import type { Entry, GroupId } from "../core/types.js";
import { ProposalDroppedError, ProposalTimeoutError } from "../errors.js";

interface Pending {
  readonly term: number;
  /** Date.now() value after which the proposal is rejected with ProposalTimeoutError. */
  readonly deadline: number;
  readonly resolve: (result: unknown) => void;
  readonly reject: (err: Error) => void;
}

export class ProposalTracker {
  /**
   * Insertion order = proposal order, and every proposal gets the same timeout, so the map is
   * also ordered by deadline: expiry scans from the front and stops at the first live one.
   */
  private readonly byIndex = new Map<number, Pending>();

  constructor(
    private readonly group: GroupId,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.byIndex.size;
  }

  /** Registers the proposal that landed at `{index, term}`; the promise settles as described above. */
  add<R>(index: number, term: number, now: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const previous = this.byIndex.get(index);
      if (previous !== undefined) {
        // The log was truncated below `index` and reused before we saw the overwrite.
        this.byIndex.delete(index);
        previous.reject(new ProposalDroppedError(this.group, `index ${index} was overwritten`));
      }
      this.byIndex.set(index, {
        term,
        deadline: now + this.timeoutMs,
        resolve: resolve as (r: unknown) => void,
        reject,
      });
    });
  }

  /**
   * The entry `{index, term}` was applied with `result`. Resolves the proposal made at that
   * position, or rejects it if a different entry (another term) took its place.
   */
  settleApplied(index: number, term: number, result: unknown): void {
    const p = this.byIndex.get(index);
    if (p === undefined) return;
    this.byIndex.delete(index);
    if (p.term === term) p.resolve(result);
    else p.reject(new ProposalDroppedError(this.group, `index ${index} committed an entry of term ${term}`));
  }

  /**
   * The local log now ends with `entries` (a Ready's entries replace any suffix from their
   * first index on): a pending proposal at or above that index whose entry is gone or has
   * another term can never commit.
   */
  dropOverwritten(entries: readonly Entry[]): void {
    if (this.byIndex.size === 0 || entries.length === 0) return;
    const first = entries[0]!.index;
    const last = entries[entries.length - 1]!.index;
    for (const [index, p] of this.byIndex) {
      if (index < first) continue;
      const replacement = index <= last ? entries[index - first] : undefined;
      if (replacement !== undefined && replacement.term === p.term) continue;
      this.byIndex.delete(index);
      p.reject(new ProposalDroppedError(this.group, `index ${index} was overwritten by a new leader`));
    }
  }

  /** Rejects every proposal whose deadline passed. */
  expire(now: number): void {
    for (const [index, p] of this.byIndex) {
      if (p.deadline > now) break;
      this.byIndex.delete(index);
      p.reject(new ProposalTimeoutError(this.group, this.timeoutMs));
    }
  }

  /** Rejects everything (group removed, host stopped). */
  rejectAll(reason: string): void {
    const all = [...this.byIndex.values()];
    this.byIndex.clear();
    for (const p of all) p.reject(new ProposalDroppedError(this.group, reason));
  }
}

interface PendingRead {
  /** Set once the leader confirmed its commit index for this read (a ReadState arrived). */
  index: number | undefined;
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/**
 * Pending ReadIndex barriers (thesis §6.4). A read resolves once the node has applied the
 * commit index the leader confirmed with a quorum after the read was requested.
 */
export class ReadTracker {
  private readonly byContext = new Map<string, PendingRead>();
  private nextId = 0;

  constructor(
    private readonly group: GroupId,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.byContext.size;
  }

  /** Returns a fresh request context and the promise that settles with it. */
  add(now: number): { context: Uint8Array; done: Promise<void> } {
    const id = `${now.toString(36)}.${(this.nextId++).toString(36)}`;
    const context = new TextEncoder().encode(id);
    const done = new Promise<void>((resolve, reject) => {
      this.byContext.set(id, { index: undefined, deadline: now + this.timeoutMs, resolve, reject });
    });
    return { context, done };
  }

  /** A ReadState arrived: the read may complete once `index` is applied. */
  confirm(context: Uint8Array, index: number): void {
    const p = this.byContext.get(new TextDecoder().decode(context));
    if (p !== undefined) p.index = index;
  }

  /** Resolves every confirmed read whose index is applied. */
  settle(applied: number): void {
    for (const [id, p] of this.byContext) {
      if (p.index !== undefined && p.index <= applied) {
        this.byContext.delete(id);
        p.resolve();
      }
    }
  }

  /** Rejects unconfirmed reads (this node stopped leading) with `err`. */
  rejectUnconfirmed(err: () => Error): void {
    for (const [id, p] of this.byContext) {
      if (p.index === undefined) {
        this.byContext.delete(id);
        p.reject(err());
      }
    }
  }

  expire(now: number): void {
    for (const [id, p] of this.byContext) {
      if (p.deadline > now) break;
      this.byContext.delete(id);
      p.reject(new ProposalTimeoutError(this.group, this.timeoutMs));
    }
  }

  rejectAll(err: () => Error): void {
    const all = [...this.byContext.values()];
    this.byContext.clear();
    for (const p of all) p.reject(err());
  }
}
