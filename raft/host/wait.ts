/**
 * Polling with a deadline, for the few host operations that wait on a condition the loop
 * changes (a leadership transfer landing, every led group handed off before stop).
 */

/** Polls `done` every `everyMs` until it holds (true) or `timeoutMs` passes (false). */
export async function waitFor(done: () => boolean, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return true;
}
