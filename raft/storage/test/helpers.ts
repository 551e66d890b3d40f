/** Test helpers for the storage tests: temporary directories and entry builders. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vi } from "vitest";
import type { Entry, Snapshot } from "../../core/types.js";
import { NodeStorage } from "../node-storage.js";

/** Creates a temp dir per test and removes it (closing storages first) afterwards. */
export function tempDirs() {
  const dirs: string[] = [];
  const open: NodeStorage[] = [];
  return {
    async dir(): Promise<string> {
      const d = await mkdtemp(join(tmpdir(), "warren-storage-"));
      dirs.push(d);
      return d;
    },
    async open(dir: string): Promise<NodeStorage> {
      const s = await NodeStorage.open(dir);
      open.push(s);
      return s;
    },
    async cleanup(): Promise<void> {
      for (const s of open.splice(0)) await s.close().catch(() => undefined);
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}

/** Entries `from..to` in `term`, each carrying a payload derived from its index and term. */
export function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

export function entry(index: number, term: number): Entry {
  return { index, term, type: 0, data: new TextEncoder().encode(`e${index}t${term}`) };
}

export function snapshot(index: number, term: number, live: number[] = [], data = "state"): Snapshot {
  return {
    meta: { index, term, conf: { voters: ["n1", "n2", "n3"], learners: [] } },
    data: new TextEncoder().encode(data),
    live,
  };
}

/**
 * Polls `check` (an assertion) every 10 ms until it passes, failing with its last error after
 * `timeoutMs`. The generous deadline keeps the tests deterministic on a loaded machine; a
 * passing check returns at once.
 */
export function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  return vi.waitFor(check, { timeout: timeoutMs, interval: 10 });
}
