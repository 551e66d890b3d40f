/**
 * Waiting without sleeping as synchronisation: poll a condition until it holds or a deadline
 * passes, and say what was awaited (and the last value seen) when it does not.
 */
import { setTimeout as delay } from "node:timers/promises";

export interface PollOptions {
  /** Give up after this many milliseconds. */
  readonly timeoutMs: number;
  /** Pause between attempts (not a synchronisation: the condition is re-checked). */
  readonly intervalMs?: number;
  /** What we wait for, for the error message. */
  readonly what: string;
}

/**
 * Calls `check` until it returns a value other than undefined/false, or throws once the deadline
 * passed. A throwing `check` counts as "not yet" (the node may be down), and its last error is
 * reported.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: PollOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what} (last: ${detail})`);
    }
    await delay(opts.intervalMs ?? 100);
  }
}
