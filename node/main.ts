/**
 * `warren-node`: runs one node from its configuration (file, environment, flags; see
 * docs/configuration.md). Wiring only: config -> root logger -> storage, transport, Raft host,
 * broker (node/node.ts) -> HTTP door and AMQP door. Logs a ready line `{"msg":"ready", ...}` with
 * its addresses.
 *
 * SIGTERM / SIGINT: stop accepting clients on both doors (AMQP clients get 320
 * CONNECTION_FORCED; HTTP long polls answer, streams end, keep-alive sockets close, leased
 * messages return), hand this node's leaderships to other nodes, flush, close, exit 0. All of
 * it within `shutdownTimeoutMs`; past that the node logs what did not finish and exits 1
 * (node/shutdown.ts). A second signal exits at once.
 */

import { startAmqpServer } from "./amqp/server.js";
import {
  ConfigError,
  describeConfig,
  loadConfig,
  type NodeConfig,
  usage,
  wantsHelp,
} from "./config/index.js";
import { formatAddress } from "./config/kinds.js";
import { NodeMetrics } from "./http/metrics.js";
import { startHttpServer } from "./http/server.js";
import { createRootLogger, type RootLogger } from "./log.js";
import { type NodeHandle, startNode } from "./node.js";
import { runShutdown } from "./shutdown.js";

/**
 * How long requests in flight when the HTTP door closes may take to finish (a publish waiting
 * for its commit is bounded by the proposal timeout) before their connections are cut; within
 * a third of the whole shutdown budget, which the Raft hand-off and the flush still need.
 */
function httpGraceMs(config: NodeConfig): number {
  return Math.min(config.raft.proposalTimeoutMs + 500, Math.floor(config.shutdownTimeoutMs / 3));
}

/**
 * Feeds the WAL fsync histogram from the storage's counters. The storage keeps a latency window,
 * not a per-flush callback, so this samples: every 100 ms in which flushes happened adds the
 * latest flush's latency once (a sampled histogram, not one observation per flush).
 */
function feedFsyncLatency(node: NodeHandle, metrics: NodeMetrics): () => void {
  let flushes = node.storage.stats().flushes;
  const timer = setInterval(() => {
    const st = node.storage.stats();
    if (st.flushes === flushes) return;
    flushes = st.flushes;
    metrics.observeFsync(st.fsyncMs.last);
  }, 100);
  timer.unref();
  return () => clearInterval(timer);
}

/** HTTP then AMQP; if AMQP cannot listen, the HTTP door is closed again. */
async function startDoors(node: NodeHandle, metrics: NodeMetrics, config: NodeConfig, logger: RootLogger) {
  const http = await startHttpServer({
    broker: node.broker,
    config: { host: config.http.host, port: config.http.port, bodyLimit: config.http.bodyLimit },
    logger,
    metrics,
  }).catch((err: unknown) => {
    throw new Error(`cannot listen for HTTP on ${formatAddress(config.http)} (${describeListenError(err)})`);
  });
  try {
    const amqp = await startAmqpServer({
      broker: node.broker,
      // Direct reply-to answers published through another node travel on the node transport.
      transport: node.transport,
      config: { ...config.amqp, maxMessageSize: config.maxMessageSize },
      logger,
    });
    return { http, amqp };
  } catch (err) {
    await http.close().catch(() => undefined);
    throw new Error(`cannot listen for AMQP on ${formatAddress(config.amqp)} (${describeListenError(err)})`);
  }
}

function describeListenError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "EADDRINUSE" ? "EADDRINUSE: the port is in use" : (code ?? (err as Error).message);
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (wantsHelp(argv)) {
    console.log(usage());
    return 0;
  }
  let resolved: ReturnType<typeof loadConfig>;
  try {
    resolved = loadConfig(argv);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const { config } = resolved;
  const logger = createRootLogger(config);
  logger.info({ config: describeConfig(config) }, "starting");

  // A signal during startup (an orchestrator restarting nodes quickly) is held until the node is
  // up and then stops it like any other: the default action would kill it mid-start. The
  // deadline runs from the signal, so a start that never ends still exits in time.
  let signalled: { signal: string; at: number } | undefined;
  let startupDeadline: NodeJS.Timeout | undefined;
  let onSignal = (signal: string) => {
    if (signalled !== undefined) exitNow(signal);
    signalled = { signal, at: Date.now() };
    logger.info(
      { signal, deadlineMs: config.shutdownTimeoutMs },
      "signal during startup: stopping once started",
    );
    startupDeadline = setTimeout(() => {
      logger.error(
        { signal, deadlineMs: config.shutdownTimeoutMs },
        "shutdown deadline passed during startup",
      );
      logger.flush?.();
      process.exit(1);
    }, config.shutdownTimeoutMs);
  };
  const exitNow = (signal: string): never => {
    logger.warn({ signal }, "second signal: exiting now");
    logger.flush?.();
    process.exit(1);
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));

  const node = await startNode(config, { logger });
  const metrics = new NodeMetrics();
  const stopFsyncFeed = feedFsyncLatency(node, metrics);
  // A door that cannot listen (its port taken) stops the node cleanly rather than half-serving.
  const doors = await startDoors(node, metrics, config, logger).catch(async (err: unknown) => {
    logger.error({ err }, `refusing to start: ${(err as Error).message}`);
    stopFsyncFeed();
    await node.stop().catch(() => undefined);
    logger.flush?.();
    return undefined;
  });
  if (doors === undefined) {
    clearTimeout(startupDeadline);
    return 1;
  }
  const { http, amqp } = doors;
  // /api/nodes (here and on the other nodes) lists the listeners as bound, port 0 resolved.
  node.broker.setListeners({ http: http.address.replace(/^http:\/\//, ""), amqp: amqp.address });

  let stopping = false;
  const shutdown = async (signal: string, signalledAt: number) => {
    if (stopping) exitNow(signal);
    stopping = true;
    clearTimeout(startupDeadline);
    const deadlineMs = Math.max(1, signalledAt + config.shutdownTimeoutMs - Date.now());
    logger.info({ signal, deadlineMs }, "shutting down");
    const result = await runShutdown(
      [
        // Clients first, both doors at once so that neither accepts anyone while the other
        // drains (AMQP: 320 CONNECTION_FORCED; HTTP: long polls and streams end, leased messages
        // return), and nothing new reaches the groups while they are handed over.
        {
          name: "client doors (amqp, http)",
          run: async () => {
            await Promise.all([amqp.close(), http.close({ graceMs: httpGraceMs(config) })]);
          },
        },
        {
          name: "metrics",
          run: async () => {
            stopFsyncFeed();
          },
        },
        ...node.stopSteps(),
      ],
      { deadlineMs, logger },
    );
    if (result.clean) logger.info({ ms: result.ms }, "stopped");
    else
      logger.error(
        { ms: result.ms, failed: result.failed, unfinished: result.unfinished },
        "stopped uncleanly",
      );
    logger.flush?.();
    process.exit(result.clean ? 0 : 1);
  };
  onSignal = (signal) => void shutdown(signal, Date.now());

  logger.info(
    {
      nodeId: config.nodeId,
      raft: formatAddress(node.raftAddress),
      http: http.address,
      amqp: amqp.address,
      peers: config.peers.map((p) => p.id),
      dataDir: config.dataDir,
    },
    "ready",
  );
  if (signalled !== undefined) void shutdown(signalled.signal, signalled.at);
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
