/**
 * A graceful stop as ordered steps under one hard deadline (`shutdownTimeoutMs`). Each step
 * logs how long it took; a step that fails is logged and the next ones still run (closing a
 * door badly must not keep the log from being flushed). When the deadline passes, the process
 * is not kept waiting for the step in progress: the result names it and the steps that never
 * ran, and node/main.ts exits anyway (with 1), so an orchestrator's SIGTERM always ends the
 * process within a known time. Nothing confirmed depends on finishing: every commit was fsynced
 * before it was confirmed, so an unfinished stop looks to the cluster like a crash.
 */
import type { Logger } from "../raft/logger.js";

export interface ShutdownStep {
  readonly name: string;
  run(): Promise<void>;
}

export interface ShutdownResult {
  /** Every step finished without error before the deadline. */
  readonly clean: boolean;
  /** Steps that threw (they were logged). */
  readonly failed: readonly string[];
  /** The step in progress when the deadline passed, then those never started. */
  readonly unfinished: readonly string[];
  readonly ms: number;
}

export interface ShutdownOptions {
  readonly deadlineMs: number;
  readonly logger: Logger;
  readonly now?: () => number;
}

export async function runShutdown(
  steps: readonly ShutdownStep[],
  opts: ShutdownOptions,
): Promise<ShutdownResult> {
  const now = opts.now ?? Date.now;
  const start = now();
  const failed: string[] = [];
  let current = 0;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"deadline">((resolve) => {
    timer = setTimeout(() => resolve("deadline"), opts.deadlineMs);
  });
  const sequence = (async () => {
    for (; current < steps.length; current++) {
      const step = steps[current] as ShutdownStep;
      const t0 = now();
      try {
        await step.run();
        opts.logger.info({ step: step.name, ms: now() - t0 }, "shutdown step done");
      } catch (err) {
        failed.push(step.name);
        opts.logger.error({ err, step: step.name, ms: now() - t0 }, "shutdown step failed");
      }
    }
    return "done" as const;
  })();
  const outcome = await Promise.race([sequence, deadline]);
  clearTimeout(timer);
  const ms = now() - start;
  if (outcome === "deadline") {
    const unfinished = steps.slice(current).map((s) => s.name);
    opts.logger.error(
      { deadlineMs: opts.deadlineMs, inProgress: unfinished[0], notStarted: unfinished.slice(1), failed },
      "shutdown deadline passed: exiting without finishing",
    );
    return { clean: false, failed, unfinished, ms };
  }
  return { clean: failed.length === 0, failed, unfinished: [], ms };
}
