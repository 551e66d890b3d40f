/**
 * AMQP benchmark (issue 5): `npm run bench:amqp -- --url amqp://guest:guest@127.0.0.1:5672 [...]`.
 * Runs scenarios (a)-(e) against any AMQP 0-9-1 broker with amqplib and prints one JSON line per
 * scenario with the medians over `--runs` runs (plus each run's figures). Flags: see args.ts and
 * docs/performance.md.
 */
import { type BenchOptions, parseArgs, type Scenario, UsageError } from "./args.js";
import { scenarioE } from "./failover.js";
import { scenarioA, scenarioB, scenarioC, scenarioD } from "./scenarios.js";
import { medianFields, round } from "./stats.js";

type Runner = (o: BenchOptions, run: number) => Promise<Record<string, number>>;

const RUNNERS: Record<Scenario, Runner> = {
  a: scenarioA,
  b: scenarioB,
  c: scenarioC,
  d: scenarioD,
  e: scenarioE,
};

export interface ScenarioLine {
  label: string;
  scenario: Scenario;
  runs: number;
  figures: Record<string, number>;
  perRun: Record<string, number>[];
  error?: string;
}

function rounded(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]));
}

export async function runSuite(o: BenchOptions, emit: (line: ScenarioLine) => void): Promise<void> {
  const stamp = Date.now().toString(36);
  for (const s of o.scenarios) {
    const perRun: Record<string, number>[] = [];
    let error: string | undefined;
    for (let run = 0; run < o.runs; run++) {
      try {
        perRun.push(rounded(await RUNNERS[s]({ ...o, queuePrefix: `${o.queuePrefix}-${stamp}` }, run)));
      } catch (err) {
        // One failed run is reported, and the scenario stops: its other runs would likely fail too.
        error = `run ${run + 1}: ${err instanceof Error ? err.message : String(err)}`;
        break;
      }
    }
    emit({
      label: o.label,
      scenario: s,
      runs: perRun.length,
      figures: medianFields(perRun),
      perRun,
      ...(error !== undefined ? { error } : {}),
    });
  }
}

async function main(): Promise<void> {
  let o: BenchOptions;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`bench:amqp: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  await runSuite(o, (line) => console.log(JSON.stringify(line)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
