/**
 * Warren vs RabbitMQ in one run: `npx tsx bench/amqp/compare.ts [--runs 3] [--skip-warren]`.
 * Starts the three-node RabbitMQ cluster (bench/rabbitmq/cluster.sh), runs the suite, stops it;
 * then the same for Warren (bench/amqp/warren-cluster.sh). The brokers run one after the other so
 * neither steals CPU from the other on a small machine. With `--rabbitmq-urls` / `--warren-urls`
 * it uses running clusters instead (scenario e then needs the scripts' pid files or is skipped).
 * Prints every scenario line and the ratios as JSON, and rewrites the generated section of
 * docs/performance.md (`--no-docs` leaves it alone).
 */
import { execSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BenchOptions, parseArgs } from "./args.js";
import { computeRatios, type Figures } from "./ratios.js";
import { type MachineInfo, renderSection, replaceSection } from "./report.js";
import { runSuite, type ScenarioLine } from "./run.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const RABBIT = join(ROOT, "bench/rabbitmq/cluster.sh");
const WARREN = join(ROOT, "bench/amqp/warren-cluster.sh");

const urls = (base: number) => [0, 1, 2].map((i) => `amqp://guest:guest@127.0.0.1:${base + i}`).join(",");

interface BrokerPlan {
  label: "rabbitmq" | "warren";
  script: string;
  urls: string;
  nodes: string;
}

const PLANS: BrokerPlan[] = [
  {
    label: "rabbitmq",
    script: RABBIT,
    urls: urls(5682),
    nodes: "rabbit1@localhost,rabbit2@localhost,rabbit3@localhost",
  },
  { label: "warren", script: WARREN, urls: urls(5672), nodes: "n1,n2,n3" },
];

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
}

function sh(cmd: string): void {
  execSync(cmd, { stdio: ["ignore", "inherit", "inherit"], cwd: ROOT });
}

async function measure(
  plan: BrokerPlan,
  common: string[],
  lines: ScenarioLine[],
  errors: string[],
): Promise<void> {
  const o: BenchOptions = parseArgs([
    "--urls",
    plan.urls,
    "--label",
    plan.label,
    "--nodes",
    plan.nodes,
    "--leader-cmd",
    `${plan.script} leader {queue}`,
    "--kill-cmd",
    `${plan.script} kill {node}`,
    "--restart-cmd",
    `${plan.script} restart {node}`,
    ...common,
  ]);
  try {
    sh(`${plan.script} start`);
  } catch (err) {
    errors.push(
      `${plan.label}: cluster did not start (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`,
    );
    return;
  }
  try {
    await runSuite(o, (line) => {
      console.log(JSON.stringify(line));
      lines.push(line);
      if (line.error !== undefined) errors.push(`${line.label} (${line.scenario}): ${line.error}`);
    });
  } finally {
    sh(`${plan.script} stop`);
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const noDocs = argv.includes("--no-docs");
  const skipWarren = argv.includes("--skip-warren");
  const skipRabbit = argv.includes("--skip-rabbitmq");
  const common = argv.filter((a) => !["--no-docs", "--skip-warren", "--skip-rabbitmq"].includes(a));
  const runs = Number(flag([...common], "--runs") ?? 3);
  const durationMs = Number(flag([...common], "--duration-ms") ?? 8000);
  const preload = Number(flag([...common], "--preload") ?? 100_000);
  const loadBefore = loadavg();
  const lines: ScenarioLine[] = [];
  const errors: string[] = [];
  for (const plan of PLANS) {
    if ((plan.label === "warren" && skipWarren) || (plan.label === "rabbitmq" && skipRabbit)) continue;
    await measure(plan, common, lines, errors);
  }
  const loadAfter = loadavg();
  const by = (label: string): Record<string, Figures> =>
    Object.fromEntries(
      lines.filter((l) => l.label === label && l.runs > 0).map((l) => [l.scenario, l.figures]),
    );
  const rows = computeRatios(by("warren"), by("rabbitmq"));
  console.log(JSON.stringify({ ratios: rows, errors }));
  if (noDocs) return;
  let rabbitmqVersion = "3.10";
  try {
    rabbitmqVersion =
      execSync("dpkg-query -W rabbitmq-server", { encoding: "utf8" }).trim().split("\t")[1] ?? "3.10";
  } catch {}
  const m: MachineInfo = {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    cpus: cpus().length,
    node: process.version,
    loadBefore,
    loadAfter,
    rabbitmqVersion,
    runs,
    durationMs,
    preload,
  };
  const path = join(ROOT, "docs/performance.md");
  let doc = "# Performance\n";
  try {
    doc = readFileSync(path, "utf8");
  } catch {}
  const extra = lines
    .filter((l) => l.runs > 0)
    .map((l) => ({ label: l.label, scenario: l.scenario, figures: l.figures }));
  writeFileSync(path, replaceSection(doc, renderSection(rows, m, errors, extra)));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
