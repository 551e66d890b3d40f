/**
 * `npm run sim -- --seed N` replays one seed; `npm run sim -- --from A --count K` runs K
 * seeds from A. Options: `--steps S` (chaos-phase steps per seed), `--nodes 3|5`,
 * `--verbose` (stream the whole trace of a single seed), `--liveness T` (recovery bound in ticks),
 * `--storm` (every seed runs the leadership-storm fault mix), `--bug sendBeforeFsync|grantEveryVote`
 * (run a deliberately broken host, to see the checkers catch it).
 *
 * Prints one line per seed (or a summary for many seeds); on a violation prints the seed, the
 * invariant, the run's parameters and the trace of the last events, and exits with status 1.
 */
import { parseArgs } from "node:util";
import { failureReport, summaryLine } from "./report.js";
import { DEFAULT_STEPS, runSeed } from "./run.js";

const USAGE =
  "usage: npm run sim -- (--seed N | --from A --count K) [--steps S] [--nodes 3|5] [--liveness T] [--storm] [--bug NAME] [--verbose]";

function intOption(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n)) {
    console.error(`--${name} must be an integer, got ${v}\n${USAGE}`);
    process.exit(2);
  }
  return n;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      seed: { type: "string" },
      from: { type: "string" },
      count: { type: "string" },
      steps: { type: "string" },
      nodes: { type: "string" },
      liveness: { type: "string" },
      verbose: { type: "boolean", default: false },
      storm: { type: "boolean" },
      bug: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help || (values.seed === undefined && values.from === undefined)) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const steps = intOption(values.steps, "steps", DEFAULT_STEPS);
  const nodes = intOption(values.nodes, "nodes", 3);
  if (nodes !== 3 && nodes !== 5) {
    console.error(`--nodes must be 3 or 5\n${USAGE}`);
    process.exit(2);
  }
  const livenessTicks = values.liveness === undefined ? undefined : intOption(values.liveness, "liveness", 0);
  const bug = values.bug;
  if (bug !== undefined && bug !== "sendBeforeFsync" && bug !== "grantEveryVote") {
    console.error(`--bug must be sendBeforeFsync or grantEveryVote\n${USAGE}`);
    process.exit(2);
  }
  const extra = [values.storm === true ? "--storm" : "", bug ? `--bug ${bug}` : ""].filter(Boolean).join(" ");
  const single = values.seed !== undefined;
  const from = single ? intOption(values.seed, "seed", 0) : intOption(values.from, "from", 0);
  const count = single ? 1 : intOption(values.count, "count", 100);
  const started = performance.now();
  let failures = 0;
  let maxRecovery = 0;
  for (let seed = from; seed < from + count; seed++) {
    const r = runSeed({
      seed,
      nodes,
      steps,
      ...(livenessTicks !== undefined ? { livenessTicks } : {}),
      ...(values.storm === true ? { storm: true } : {}),
      ...(bug !== undefined ? { bugs: { [bug]: true } } : {}),
      ...(values.verbose && single ? { verbose: (line: string) => console.log(line) } : {}),
    });
    if (single || !r.ok) console.log(summaryLine(r));
    if (r.recoveryTicks !== undefined) maxRecovery = Math.max(maxRecovery, r.recoveryTicks);
    if (!r.ok) {
      failures++;
      console.error(`\n${failureReport(r, { steps, nodes, extra })}`);
    }
  }
  const secs = ((performance.now() - started) / 1000).toFixed(1);
  if (!single) {
    console.log(
      `${count - failures}/${count} seeds ok (${from}..${from + count - 1}, ${steps} steps, ${nodes} nodes) ` +
        `in ${secs}s; slowest recovery ${maxRecovery} ticks`,
    );
  }
  // exitCode, not exit(): a piped stdout must drain first (a --verbose trace is long).
  process.exitCode = failures > 0 ? 1 : 0;
}

main();
