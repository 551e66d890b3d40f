/**
 * The AMQP 0-9-1 listener of a node: accepts client connections and gives each an
 * AmqpConnection over the node's Broker. `startAmqpServer` is what node/main.ts wires in.
 *
 * connection.blocked / unblocked follow `broker.onBlockedChange` on every open connection;
 * `broker.onConnectionsRevoked` (a deleted user or vhost) closes the affected connections.
 * `close()` stops accepting, tells open clients 320 CONNECTION_FORCED (RabbitMQ's text for a
 * node shutting down) and waits a bounded time for their sockets to end.
 */
import { createServer, type Server, type Socket } from "node:net";
import { type Logger, noopLogger } from "../../raft/logger.js";
import type { Broker } from "../broker/types.js";
import { AmqpConnection, type AmqpLimits } from "./connection.js";
import { ReplyTo, type ReplyTransport } from "./reply-to.js";

export interface AmqpServerConfig extends AmqpLimits {
  readonly host: string;
  /** 0 = any free port (see `address`). */
  readonly port: number;
}

export interface AmqpServer {
  /** `host:port` actually bound. */
  readonly address: string;
  readonly port: number;
  /** Open client connections right now. */
  connections(): number;
  /** How often connections stopped reading because their publishes outran commits. */
  throttled(): number;
  close(): Promise<void>;
}

const SHUTDOWN_WAIT_MS = 2_000;

export async function startAmqpServer(opts: {
  broker: Broker;
  config: AmqpServerConfig;
  logger?: Logger;
  /**
   * The node's transport (node.transport): direct reply-to replies published through another
   * node reach the requester through it. Without it, replies must go through the requester's node.
   */
  transport?: ReplyTransport;
}): Promise<AmqpServer> {
  const { broker, config } = opts;
  const logger = opts.logger ?? noopLogger;
  const replyTo = new ReplyTo(broker.nodeId, opts.transport);
  const open = new Set<AmqpConnection>();
  const sockets = new Set<Socket>();
  let counter = 0;
  let throttledClosed = 0;
  let blocked = { on: broker.isBlocked(), reason: "" };
  const newConnectionId = () =>
    broker.newConnectionId?.() ?? `${broker.nodeId}/amqp.${process.pid}.${++counter}`;
  broker.onBlockedChange((on, reason) => {
    blocked = { on, reason };
    for (const c of open) c.setBlocked(on, reason);
  });
  // A deleted user or vhost takes its connections with it (RabbitMQ: 320 CONNECTION_FORCED).
  broker.onConnectionsRevoked?.((which, reason) => {
    for (const c of [...open]) {
      const ctx = c.clientContext;
      if (ctx === undefined) continue;
      if (
        (which.user !== undefined && ctx.user === which.user) ||
        (which.vhost !== undefined && ctx.vhost === which.vhost)
      ) {
        c.forceClose(reason);
      }
    }
  });

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const conn = new AmqpConnection(socket, {
      broker,
      limits: {
        heartbeat: config.heartbeat,
        frameMax: config.frameMax,
        channelMax: config.channelMax,
        maxMessageSize: config.maxMessageSize,
        ...(config.maxInflightPublishes !== undefined
          ? { maxInflightPublishes: config.maxInflightPublishes }
          : {}),
      },
      logger,
      replyTo,
      newConnectionId,
    });
    open.add(conn);
    conn.onClosed(() => {
      open.delete(conn);
      throttledClosed += conn.throttledCount;
    });
    if (blocked.on) conn.setBlocked(true, blocked.reason);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => logger.error({ err }, "amqp listener error"));
  const addr = server.address();
  const port = typeof addr === "object" && addr !== null ? addr.port : config.port;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  logger.info({ address: `${host}:${port}` }, "amqp listening");

  let closing: Promise<void> | undefined;
  return {
    address: `${host}:${port}`,
    port,
    connections: () => open.size,
    throttled: () => throttledClosed + [...open].reduce((n, c) => n + c.throttledCount, 0),
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((r) => server.close(() => r()));
        for (const c of [...open]) c.forceClose("broker forced connection closure with reason 'shutdown'");
        // Clients answer close-ok and hang up; whoever has not within the bound is cut off.
        const closed = [...sockets].map((sock) => new Promise<void>((r) => sock.once("close", () => r())));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.all(closed),
          new Promise<void>((r) => {
            timer = setTimeout(r, SHUTDOWN_WAIT_MS);
          }),
        ]);
        clearTimeout(timer);
        for (const sock of sockets) sock.destroy();
        await stopped;
      })();
      return closing;
    },
  };
}
