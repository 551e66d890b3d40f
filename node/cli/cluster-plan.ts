/**
 * The local cluster the launcher starts, as data: for each node its id, ports, data directory and
 * the WARREN_* environment that configures it (docs/configuration.md). Pure, so the port layout
 * and the peer lists are unit-tested without starting anything.
 */
import { join } from "node:path";

/** RabbitMQ's ports for node 1; node i uses base + i - 1. */
export const DEFAULT_PORTS = { amqp: 5672, http: 15672, raft: 25672 } as const;

export interface PlanOptions {
  readonly nodes: number;
  readonly host: string;
  readonly ports: { readonly amqp: number; readonly http: number; readonly raft: number };
  /** Root data directory: node i keeps its log in `<dataDir>/n<i>`. */
  readonly dataDir: string;
  /** File holding the cluster secret (shared by all nodes). */
  readonly secretFile: string;
  readonly logLevel?: string;
}

export interface NodePlan {
  readonly id: string;
  readonly amqpPort: number;
  readonly httpPort: number;
  readonly raftPort: number;
  readonly dataDir: string;
  readonly env: Readonly<Record<string, string>>;
}

export const MAX_NODES = 9;

export function planCluster(opts: PlanOptions): NodePlan[] {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > MAX_NODES) {
    throw new RangeError(`--nodes must be an integer from 1 to ${MAX_NODES}, got ${opts.nodes}`);
  }
  const base = opts.ports;
  for (const [name, p] of Object.entries(base)) {
    if (!Number.isInteger(p) || p < 1 || p + opts.nodes - 1 > 65535) {
      throw new RangeError(`${name} base port ${p} leaves no room for ${opts.nodes} nodes (1-65535)`);
    }
  }
  const nodes = Array.from({ length: opts.nodes }, (_, i) => ({
    id: `n${i + 1}`,
    amqpPort: base.amqp + i,
    httpPort: base.http + i,
    raftPort: base.raft + i,
    dataDir: join(opts.dataDir, `n${i + 1}`),
  }));
  const ports = nodes.flatMap((n) => [n.amqpPort, n.httpPort, n.raftPort]);
  const dup = ports.find((p, i) => ports.indexOf(p) !== i);
  if (dup !== undefined)
    throw new RangeError(`port ${dup} would be used twice: spread the base ports further apart`);
  const h = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  return nodes.map((n) => {
    const peers = nodes
      .filter((p) => p.id !== n.id)
      .map((p) => `${p.id}=${h}:${p.raftPort};amqp=${h}:${p.amqpPort};http=${h}:${p.httpPort}`)
      .join(",");
    const env: Record<string, string> = {
      WARREN_NODE_ID: n.id,
      WARREN_DATA_DIR: n.dataDir,
      WARREN_AMQP_HOST: opts.host,
      WARREN_AMQP_PORT: String(n.amqpPort),
      WARREN_HTTP_HOST: opts.host,
      WARREN_HTTP_PORT: String(n.httpPort),
      WARREN_RAFT_HOST: opts.host,
      WARREN_RAFT_PORT: String(n.raftPort),
      WARREN_CLUSTER_SECRET_FILE: opts.secretFile,
      // Children log JSON; the launcher formats it (and reads the ready line from it).
      WARREN_LOG_PRETTY: "false",
      ...(opts.logLevel !== undefined ? { WARREN_LOG_LEVEL: opts.logLevel } : {}),
      ...(peers !== "" ? { WARREN_PEERS: peers } : {}),
    };
    return { ...n, env };
  });
}

/**
 * The node `add-node` starts next to a running cluster of `opts.nodes` nodes: n<nodes + 1> on the
 * next ports of the same layout, with `join` (it asks the running nodes to add it) and every
 * running node as its peer.
 */
export function planJoiningNode(opts: PlanOptions): NodePlan {
  if (opts.nodes + 1 > MAX_NODES) {
    throw new RangeError(
      `add-node: a local cluster has at most ${MAX_NODES} nodes (--nodes is ${opts.nodes})`,
    );
  }
  const n = planCluster({ ...opts, nodes: opts.nodes + 1 }).at(-1)!;
  // The others dial the address it records: on a bind-all host, its loopback address.
  const loopback = opts.host === "0.0.0.0" ? "127.0.0.1" : opts.host === "::" ? "::1" : undefined;
  return {
    ...n,
    env: { ...n.env, WARREN_JOIN: "true", ...(loopback ? { WARREN_RAFT_ADVERTISE: loopback } : {}) },
  };
}

/** Every port of the plan with what it is for (for "port taken" messages). */
export function describePorts(plan: readonly NodePlan[]): { port: number; what: string }[] {
  return plan.flatMap((n) => [
    { port: n.httpPort, what: `HTTP of ${n.id}` },
    { port: n.raftPort, what: `Raft of ${n.id}` },
    { port: n.amqpPort, what: `AMQP of ${n.id}` },
  ]);
}

/**
 * What an AMQP client connects to for one node, with the dev cluster's default user: the port
 * its ready record reports (`amqp: "host:port"`, the listener actually bound), else the planned
 * port. The host is the one clients use (the launcher's listen host, 0.0.0.0 made loopback).
 */
export function amqpClientUrl(clientHost: string, readyAmqp: unknown, plannedPort: number): string {
  const bound =
    typeof readyAmqp === "string" ? Number(readyAmqp.slice(readyAmqp.lastIndexOf(":") + 1)) : Number.NaN;
  const port = Number.isInteger(bound) && bound > 0 ? bound : plannedPort;
  return `amqp://guest:guest@${clientHost}:${port}`;
}
