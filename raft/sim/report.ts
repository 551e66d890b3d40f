/**
 * Text reports of simulation runs, shared by the CLI and the test suite so a failure reads
 * the same in both: the seed, the invariant, what was seen, the run's parameters, the command
 * that replays it, and the last events before the violation.
 */
import type { RunResult } from "./run.js";

/** One line summarising a run. */
export function summaryLine(r: RunResult): string {
  const s = r.stats;
  return (
    `seed ${r.seed} ${r.ok ? "ok" : "FAILED"} steps=${r.steps} ticks=${r.ticks} elections=${s.elections} ` +
    `proposals=${s.proposals} acked=${s.acked} crashes=${s.crashes} lostWrites=${s.lostWrites} ` +
    `partitions=${s.partitions} pauses=${s.pauses} snapshots=${s.snapshotsSent} confChanges=${s.confChanges} ` +
    `transfers=${s.transfers} reads=${s.readsAnswered}/${s.reads} dropped=${s.dropped}/${s.messages}` +
    (r.recoveryTicks !== undefined ? ` recovery=${r.recoveryTicks}t` : "")
  );
}

/** The full failure report of a run (empty for a passing run). */
export function failureReport(
  r: RunResult,
  replay: { steps: number; nodes: number; extra?: string },
): string {
  if (r.ok || !r.violation) return "";
  return [
    `VIOLATION seed=${r.seed}: ${r.violation.invariant}`,
    `  ${r.violation.detail}`,
    `  params: ${r.params}`,
    `  replay: npm run sim -- --seed ${r.seed} --steps ${replay.steps} --nodes ${replay.nodes}${replay.extra ? ` ${replay.extra}` : ""} --verbose`,
    `  last ${r.trace.length} events:`,
    ...r.trace.map((line) => `    ${line}`),
  ].join("\n");
}
