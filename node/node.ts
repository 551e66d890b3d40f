/**
 * One Warren node in-process: storage -> transport -> Raft host -> broker, from a NodeConfig.
 * `main.ts` runs it as a process; tests start several on loopback. The front doors (HTTP, AMQP)
 * are started by the caller on top of `handle.broker`.
 */
import { randomBytes } from "node:crypto";
import { RaftHost } from "../raft/host/index.js";
import type { Logger } from "../raft/logger.js";
import { NodeStorage } from "../raft/storage/index.js";
import { Transport } from "../raft/transport/index.js";
import { BrokerService } from "./broker/broker-service.js";
import type { BrokerSettings } from "./broker/context.js";
import { advertisedOf, type NodeConfig, raftPeerMap } from "./config/index.js";
import { formatAddress } from "./config/kinds.js";
import type { ShutdownStep } from "./shutdown.js";

/** Room in a frame beyond the largest message and append batch (headers, msgpack framing). */
const FRAME_SLACK_BYTES = 1024 * 1024;

export interface NodeHandle {
  readonly config: NodeConfig;
  readonly broker: BrokerService;
  readonly host: RaftHost;
  readonly transport: Transport;
  readonly storage: NodeStorage;
  /** The Raft listener's bound address (port 0 resolved). */
  readonly raftAddress: { host: string; port: number };
  /** Graceful: hand leadership to other nodes, flush, close. */
  stop(): Promise<void>;
  /** Abrupt, as a crash looks to the others: no leadership transfer (the data stays on disk). */
  kill(): Promise<void>;
  /** `stop()` as named steps, for a process that times and bounds each (node/shutdown.ts). */
  stopSteps(): readonly ShutdownStep[];
}

export interface StartNodeOptions {
  readonly logger?: Logger;
  /** Broker settings beyond what the config says (tests: a short node-down grace). */
  readonly settings?: Partial<BrokerSettings>;
}

export function brokerSettings(config: NodeConfig): Partial<BrokerSettings> {
  return {
    maxMessageSize: config.maxMessageSize,
    proposalTimeoutMs: config.raft.proposalTimeoutMs,
    nodeDownGraceMs: config.nodeDownGraceMs,
    join: config.join,
    initialGroupSize: config.quorum.initialGroupSize,
    queueLeaderLocator: config.quorum.queueLeaderLocator,
    maxUncommittedBytes: config.backpressure.maxUncommittedBytes,
    memoryHighWatermark: config.backpressure.memoryHighWatermark,
    loopbackUsers: config.auth.loopbackUsers,
    defaultUser: config.auth.defaultUser,
    defaultPass: config.auth.defaultPass,
    defaultVhost: config.auth.defaultVhost,
    peers: config.peers.map((p) => ({
      id: p.id,
      raft: formatAddress(p.raft),
      ...(p.amqp !== undefined ? { amqp: formatAddress(p.amqp) } : {}),
      ...(p.http !== undefined ? { http: formatAddress(p.http) } : {}),
    })),
  };
}

export async function startNode(config: NodeConfig, opts: StartNodeOptions = {}): Promise<NodeHandle> {
  const logger = opts.logger;
  const storage = await NodeStorage.open(config.dataDir, logger ? { logger } : {});
  const transport = new Transport({
    nodeId: config.nodeId,
    listen: { host: config.raft.host, port: config.raft.port },
    peers: raftPeerMap(config.peers),
    // A single node has no peers to prove anything to; any secret will do.
    secret: config.clusterSecret ?? randomBytes(24).toString("hex"),
    maxQueueBytes: config.raft.peerQueueBytes,
    maxFrameBytes: config.maxMessageSize + config.raft.maxSizePerMsg + FRAME_SLACK_BYTES,
    ...(logger ? { logger } : {}),
  });
  try {
    await transport.start();
  } catch (err) {
    await storage.close();
    throw err;
  }
  const host = new RaftHost({
    nodeId: config.nodeId,
    storage,
    transport,
    tickMs: config.raft.tickMs,
    electionTick: config.raft.electionTick,
    heartbeatTick: config.raft.heartbeatTick,
    snapshotEvery: config.raft.snapshotEvery,
    proposalTimeoutMs: config.raft.proposalTimeoutMs,
    maxSizePerMsg: config.raft.maxSizePerMsg,
    maxInflightMsgs: config.raft.maxInflightMsgs,
    ...(logger ? { logger } : {}),
  });
  await host.start();
  const raftAddress = transport.address();
  const cleanup = async () => {
    await host.stop();
    await transport.close();
    await storage.close();
  };
  const broker = await BrokerService.start({
    nodeId: config.nodeId,
    host,
    transport,
    peers: config.peers.map((p) => p.id),
    storage,
    settings: {
      ...brokerSettings(config),
      // What the others dial and /api/nodes reports: the advertised addresses, else the bound ones.
      self: {
        raft: formatAddress(advertisedOf(config.raft.advertise, raftAddress)),
        // Port 0 (tests) is only known once the door listens; listed when configured.
        ...(config.http.port !== 0
          ? { http: formatAddress(advertisedOf(config.http.advertise, config.http)) }
          : {}),
        ...(config.amqp.port !== 0
          ? { amqp: formatAddress(advertisedOf(config.amqp.advertise, config.amqp)) }
          : {}),
      },
      advertise: {
        ...(config.amqp.advertise !== undefined ? { amqp: config.amqp.advertise } : {}),
        ...(config.http.advertise !== undefined ? { http: config.http.advertise } : {}),
      },
      ...opts.settings,
    },
    ...(logger ? { logger } : {}),
  }).catch(async (err: unknown) => {
    await cleanup().catch(() => undefined);
    throw err;
  });

  const raftStep: ShutdownStep = {
    name: "raft: hand off leaderships, flush",
    run: () => host.stop({ transferLeadership: true }),
  };
  const brokerStep: ShutdownStep = { name: "broker", run: () => broker.stop() };
  const rest: ShutdownStep[] = [
    { name: "transport", run: () => transport.close() },
    { name: "storage", run: () => storage.close() },
  ];
  // A kill skips the hand-off: the broker stops first, as under a crash its groups just stop.
  const steps = (graceful: boolean): ShutdownStep[] =>
    graceful
      ? [raftStep, brokerStep, ...rest]
      : [brokerStep, { name: "raft: flush", run: () => host.stop() }, ...rest];
  let stopping: Promise<void> | undefined;
  const shutdown = (graceful: boolean) => {
    stopping ??= (async () => {
      for (const step of steps(graceful)) await step.run();
    })();
    return stopping;
  };
  return {
    config,
    broker,
    host,
    transport,
    storage,
    raftAddress,
    stop: () => shutdown(true),
    kill: () => shutdown(false),
    stopSteps: () => steps(true),
  };
}
