/**
 * Targets of the AMQP benchmark (issue 5) as ratios Warren / RabbitMQ in the same run, and their
 * evaluation. Pure.
 */

/** One scenario's figures as printed by run.ts (medians over runs). */
export type Figures = Readonly<Record<string, number>>;

export interface Target {
  scenario: string;
  figure: string;
  /** `higher`: Warren/RabbitMQ must be >= bound; `lower`: <= bound; `zero`: Warren's value must be 0. */
  direction: "higher" | "lower" | "zero";
  bound: number;
  describe: string;
}

export const TARGETS: readonly Target[] = [
  { scenario: "a", figure: "msgPerSec", direction: "higher", bound: 2, describe: "(a) confirmed msg/s" },
  {
    scenario: "a",
    figure: "confirmP99Ms",
    direction: "lower",
    bound: 0.5,
    describe: "(a) p99 confirm latency",
  },
  {
    scenario: "b",
    figure: "msgPerSec",
    direction: "higher",
    bound: 2.5,
    describe: "(b) aggregate msg/s, 4 queues",
  },
  {
    scenario: "c",
    figure: "p99Ms",
    direction: "lower",
    bound: 0.5,
    describe: "(c) p99 publish-to-deliver at 2,000 msg/s",
  },
  { scenario: "d", figure: "msgPerSec", direction: "higher", bound: 1.5, describe: "(d) consume+ack msg/s" },
  {
    scenario: "e",
    figure: "maxGapMs",
    direction: "lower",
    bound: 0.5,
    describe: "(e) longest gap without confirms",
  },
  { scenario: "e", figure: "lost", direction: "zero", bound: 0, describe: "(e) confirmed messages lost" },
] as const;

export interface RatioRow {
  describe: string;
  scenario: string;
  figure: string;
  warren: number | undefined;
  rabbitmq: number | undefined;
  /** warren / rabbitmq; undefined when either side is missing or RabbitMQ's figure is 0. */
  ratio: number | undefined;
  target: string;
  /** undefined when the figures needed are missing. */
  met: boolean | undefined;
}

export function describeTarget(t: Target): string {
  if (t.direction === "higher") return `>= ${t.bound}x`;
  if (t.direction === "lower") return `<= ${t.bound}x`;
  return "0";
}

/** Compares Warren's figures with RabbitMQ's, scenario by scenario, against the targets. */
export function computeRatios(
  warren: Readonly<Record<string, Figures>>,
  rabbitmq: Readonly<Record<string, Figures>>,
): RatioRow[] {
  return TARGETS.map((t) => {
    const w = warren[t.scenario]?.[t.figure];
    const r = rabbitmq[t.scenario]?.[t.figure];
    const usable = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
    const ratio = usable(w) && usable(r) && r !== 0 ? Math.round((w / r) * 1000) / 1000 : undefined;
    let met: boolean | undefined;
    if (t.direction === "zero") met = usable(w) ? w === 0 : undefined;
    else if (ratio !== undefined) met = t.direction === "higher" ? ratio >= t.bound : ratio <= t.bound;
    return {
      describe: t.describe,
      scenario: t.scenario,
      figure: t.figure,
      warren: usable(w) ? w : undefined,
      rabbitmq: usable(r) ? r : undefined,
      ratio,
      target: describeTarget(t),
      met,
    };
  });
}
