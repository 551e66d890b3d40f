/**
 * Command-line options of the AMQP benchmark (`npm run bench:amqp -- ...`). Pure: parsing only, so
 * it is unit-tested without a broker.
 */

export const SCENARIOS = ["a", "b", "c", "d", "e"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  /** AMQP URLs of the cluster's nodes, in node order (the first one is used unless a scenario spreads). */
  urls: string[];
  /** Broker label written in every JSON line (`warren`, `rabbitmq`, ...). */
  label: string;
  /** Runs per scenario; the figures printed are medians over them. */
  runs: number;
  scenarios: Scenario[];
  /** Measuring window of scenarios (a), (b) and (c), in milliseconds. */
  durationMs: number;
  /** Messages preloaded and consumed in scenario (d). */
  preload: number;
  /** Node names aligned with `urls` (what the leader lookup prints), for scenario (e). */
  nodes: string[];
  /** Shell command printing the leader node of queue `{queue}` (scenario e). */
  leaderCmd: string | undefined;
  /** HTTP API base URLs (Warren, RabbitMQ management) asked `GET /api/queues/%2F/{queue}` -> leader. */
  leaderHttp: string[];
  /** Shell command that kill -9s node `{node}` (scenario e). */
  killCmd: string | undefined;
  /** Shell command that starts node `{node}` again after (e), so the next run has three nodes. */
  restartCmd: string | undefined;
  /** Prefix of every queue the benchmark declares (and deletes). */
  queuePrefix: string;
}

export const DEFAULTS = {
  runs: 3,
  durationMs: 8_000,
  preload: 100_000,
  queuePrefix: "bench",
} as const;

export class UsageError extends Error {
  override name = "UsageError";
}

function splitList(v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new UsageError(`${flag}: expected a positive integer, got "${v}"`);
  return n;
}

/** Parses `--flag value` and `--flag=value` forms; unknown flags and missing values are usage errors. */
export function parseArgs(argv: readonly string[]): BenchOptions {
  const o: BenchOptions = {
    urls: [],
    label: "broker",
    runs: DEFAULTS.runs,
    scenarios: [...SCENARIOS],
    durationMs: DEFAULTS.durationMs,
    preload: DEFAULTS.preload,
    nodes: [],
    leaderCmd: undefined,
    leaderHttp: [],
    killCmd: undefined,
    restartCmd: undefined,
    queuePrefix: DEFAULTS.queuePrefix,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const flag = eq >= 0 ? arg.slice(0, eq) : arg;
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`${flag}: missing value`);
      value = next;
      i++;
    }
    switch (flag) {
      case "--url":
        o.urls.push(...splitList(value));
        break;
      case "--urls":
        o.urls.push(...splitList(value));
        break;
      case "--label":
        o.label = value;
        break;
      case "--runs":
        o.runs = positiveInt(flag, value);
        break;
      case "--scenarios": {
        const list = splitList(value);
        for (const s of list) {
          if (!(SCENARIOS as readonly string[]).includes(s))
            throw new UsageError(`--scenarios: unknown scenario "${s}"`);
        }
        o.scenarios = list as Scenario[];
        break;
      }
      case "--duration-ms":
        o.durationMs = positiveInt(flag, value);
        break;
      case "--preload":
        o.preload = positiveInt(flag, value);
        break;
      case "--nodes":
        o.nodes = splitList(value);
        break;
      case "--leader-cmd":
        o.leaderCmd = value;
        break;
      case "--leader-http":
        o.leaderHttp = splitList(value);
        break;
      case "--kill-cmd":
        o.killCmd = value;
        break;
      case "--restart-cmd":
        o.restartCmd = value;
        break;
      case "--queue-prefix":
        o.queuePrefix = value;
        break;
      default:
        throw new UsageError(`unknown flag ${flag}`);
    }
  }
  if (o.urls.length === 0) throw new UsageError("--url (or --urls a,b,c) is required");
  if (o.scenarios.includes("e")) {
    if (o.killCmd === undefined)
      throw new UsageError("scenario e needs --kill-cmd (or leave it out: --scenarios a,b,c,d)");
    if (o.leaderCmd === undefined && o.leaderHttp.length === 0)
      throw new UsageError("scenario e needs --leader-cmd or --leader-http");
    if (o.nodes.length !== o.urls.length)
      throw new UsageError("scenario e needs --nodes aligned with the URLs (one name per URL)");
  }
  return o;
}

/** Replaces `{name}` placeholders in a shell command template. */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m);
}

/** Index of `leader` among `nodes`: exact name, or the same short name before `@`. -1 if none. */
export function nodeIndex(nodes: readonly string[], leader: string): number {
  const exact = nodes.indexOf(leader);
  if (exact >= 0) return exact;
  const short = (s: string) => s.split("@")[0];
  return nodes.findIndex((n) => short(n) === short(leader));
}
