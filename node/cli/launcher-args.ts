/**
 * Command line of the local-cluster launcher (`npm start -- <flags>`). Port flags name node 1's
 * port; node i adds i - 1. `--base-port P` moves the whole layout: AMQP P, HTTP P + 10000,
 * Raft P + 20000 (P = 5672 is the default: RabbitMQ's 5672 / 15672 / 25672).
 */
import { parseArgs } from "node:util";
import { DEFAULT_PORTS } from "./cluster-plan.js";

export interface LauncherArgs {
  readonly nodes: number;
  readonly host: string;
  readonly ports: { amqp: number; http: number; raft: number };
  readonly dataDir: string;
  readonly fresh: boolean;
  readonly logLevel: string | undefined;
  readonly json: boolean;
  readonly readyTimeoutMs: number;
  readonly help: boolean;
  /**
   * `add-node`: start one more node, n<nodes + 1>, that joins the cluster already running with
   * this layout (RabbitMQ's join_cluster), instead of starting the cluster.
   */
  readonly addNode: boolean;
}

export const LAUNCHER_USAGE = `Usage: npm start -- [add-node] [options]   (or: node dist/node/cli/start-cluster.js ...)

Starts a local Warren cluster: N node processes on one host, logs prefixed by node,
one "cluster ready" line when every node is ready, Ctrl-C stops them all.

With add-node (in another terminal, while the cluster runs): starts one more node,
n<N+1> on the next ports of the same layout, which joins the running cluster of
n1..nN (give the same --nodes, ports, --host and --data as the running cluster).
It hosts no queue replicas until moved there: npm run ctl -- grow n<N+1> all.
Ctrl-C stops that node only. To add another, repeat with --nodes N+1.

Options:
  --nodes N           number of nodes (default 3)
  --base-port P       AMQP ports from P, HTTP from P+10000, Raft from P+20000 (default 5672)
  --http-port P       HTTP port of n1 (n2 uses P+1, ...); overrides --base-port for HTTP
  --raft-port P       Raft (inter-node) port of n1; overrides --base-port for Raft
  --amqp-port P       AMQP port of n1; overrides --base-port for AMQP
  --host H            listen address of every port (default 127.0.0.1)
  --data DIR          data root: DIR/n1, DIR/n2, ... and DIR/cluster-secret (default ./data)
  --fresh             delete the nodes' data under DIR first (the secret is kept)
  --log-level L       nodes' log level (trace, debug, info, warn, error; default info)
  --json              print the nodes' JSON log lines as they are (prefixed) instead of formatting
  --ready-timeout S   seconds to wait for every node to be ready (default 90)
  -h, --help          this text
`;

function int(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`--${name} expects a whole number, got "${raw}"`);
  return Number(raw);
}

export function parseLauncherArgs(argv: readonly string[]): LauncherArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      nodes: { type: "string" },
      "base-port": { type: "string" },
      "http-port": { type: "string" },
      "raft-port": { type: "string" },
      "amqp-port": { type: "string" },
      host: { type: "string" },
      data: { type: "string" },
      fresh: { type: "boolean" },
      "log-level": { type: "string" },
      json: { type: "boolean" },
      "ready-timeout": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, ...extra] = positionals;
  if ((command !== undefined && command !== "add-node") || extra.length > 0) {
    throw new Error(`unknown command "${[command, ...extra].join(" ")}": the only command is add-node`);
  }
  if (command === "add-node" && values.fresh === true) {
    // An empty data directory under an id the cluster still counts would forget its votes.
    throw new Error(
      "add-node does not take --fresh: a node must never rejoin with an empty data directory under its old id",
    );
  }
  const base = int("base-port", values["base-port"], DEFAULT_PORTS.amqp);
  return {
    nodes: int("nodes", values.nodes, 3),
    host: values.host ?? "127.0.0.1",
    ports: {
      amqp: int("amqp-port", values["amqp-port"], base),
      http: int("http-port", values["http-port"], base + (DEFAULT_PORTS.http - DEFAULT_PORTS.amqp)),
      raft: int("raft-port", values["raft-port"], base + (DEFAULT_PORTS.raft - DEFAULT_PORTS.amqp)),
    },
    dataDir: values.data ?? "./data",
    fresh: values.fresh ?? false,
    logLevel: values["log-level"],
    json: values.json ?? false,
    readyTimeoutMs: int("ready-timeout", values["ready-timeout"], 90) * 1000,
    help: values.help ?? false,
    addNode: command === "add-node",
  };
}
