/**
 * Bench-only entry point for one Warren node WITH its AMQP listener, for as long as node/main.ts
 * (the real `warren-node`) does not start `startAmqpServer` itself. Same wiring as main.ts:
 * config -> logger -> startNode -> HTTP door, plus the AMQP door on `config.amqp`.
 * bench/amqp/warren-cluster.sh uses node/main.ts as soon as that one starts the AMQP listener.
 *
 * SIGTERM / SIGINT: close AMQP (320 to clients), then HTTP, then the node (hands its
 * leaderships over), exit 0; a clean exit is what writes `--cpu-prof` profiles.
 */
import { startAmqpServer } from "../../node/amqp/server.js";
import { ConfigError, loadConfig } from "../../node/config/index.js";
import { NodeMetrics } from "../../node/http/metrics.js";
import { startHttpServer } from "../../node/http/server.js";
import { createRootLogger } from "../../node/log.js";
import { startNode } from "../../node/node.js";

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>["config"];
  try {
    config = loadConfig(process.argv.slice(2)).config;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const logger = createRootLogger(config);
  const node = await startNode(config, { logger });
  const http = await startHttpServer({
    broker: node.broker,
    config: { host: config.http.host, port: config.http.port, bodyLimit: config.http.bodyLimit },
    logger,
    metrics: new NodeMetrics(),
  });
  const amqp = await startAmqpServer({
    broker: node.broker,
    config: {
      host: config.amqp.host,
      port: config.amqp.port,
      heartbeat: config.amqp.heartbeat,
      frameMax: config.amqp.frameMax,
      channelMax: config.amqp.channelMax,
      maxMessageSize: config.maxMessageSize,
    },
    logger,
    transport: node.transport,
  });
  let stopping = false;
  const shutdown = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    try {
      await amqp.close();
      await http.close();
      await node.stop();
      process.exit(0);
    } catch (err) {
      console.error(err);
      process.exit(1);
    }
  };
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
  logger.info({ nodeId: config.nodeId, http: http.address, amqp: amqp.address }, "ready");
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
