/**
 * A real in-process three-node cluster (node/broker/test/harness.ts) with an AMQP listener on
 * every node, for over-the-wire tests with real clients. `url(i)` points a client at node i.
 */

import type { BrokerSettings } from "../../broker/context.js";
import { BrokerCluster } from "../../broker/test/harness.js";
import type { Broker } from "../../broker/types.js";
import { type AmqpServer, startAmqpServer } from "../server.js";

export { eventually } from "../../broker/test/harness.js";

export interface AmqpTestOptions {
  readonly heartbeat?: number;
  readonly frameMax?: number;
  readonly channelMax?: number;
  readonly maxMessageSize?: number;
  /** A low publish bound on one node's listener (flow-control tests). */
  readonly throttle?: { readonly node: number; readonly maxInflightPublishes: number };
  readonly settings?: Partial<BrokerSettings>;
}

export class AmqpCluster {
  private constructor(
    readonly cluster: BrokerCluster,
    readonly servers: AmqpServer[],
  ) {}

  static async start(size = 3, opts: AmqpTestOptions = {}): Promise<AmqpCluster> {
    const maxMessageSize = opts.maxMessageSize ?? 1024 * 1024;
    const cluster = await BrokerCluster.start(size, { maxMessageSize, ...opts.settings });
    const servers: AmqpServer[] = [];
    for (const [i, n] of cluster.nodes.entries()) {
      servers.push(
        await startAmqpServer({
          broker: n.broker,
          transport: n.transport,
          config: {
            host: "127.0.0.1",
            port: 0,
            heartbeat: opts.heartbeat ?? 60,
            frameMax: opts.frameMax ?? 131_072,
            channelMax: opts.channelMax ?? 2047,
            maxMessageSize,
            ...(opts.throttle?.node === i
              ? { maxInflightPublishes: opts.throttle.maxInflightPublishes }
              : {}),
          },
        }),
      );
    }
    return new AmqpCluster(cluster, servers);
  }

  port(i: number): number {
    const s = this.servers[i];
    if (s === undefined) throw new Error(`no node ${i}`);
    return s.port;
  }

  url(i: number, vhost = "%2F", query = ""): string {
    return `amqp://guest:guest@127.0.0.1:${this.port(i)}/${vhost}${query}`;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
    await this.cluster.close();
  }
}

/** A unique name per test, so tests sharing a cluster never collide. */
let seq = 0;
export function unique(prefix: string): string {
  return `${prefix}-${process.pid}-${++seq}`;
}

/**
 * An AMQP listener of its own over a node's real broker with some of the broker's methods
 * replaced: test doubles of a signal (blocked) or of a race (a settle that finds its queue gone).
 */
export async function startServerOver(
  real: Broker,
  replaced: Partial<Record<keyof Broker, unknown>>,
): Promise<AmqpServer> {
  const broker = new Proxy(real, {
    get(target, prop) {
      if (Object.hasOwn(replaced, prop)) return replaced[prop as keyof Broker];
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? (v as (...args: unknown[]) => unknown).bind(target) : v;
    },
  }) as Broker;
  return startAmqpServer({
    broker,
    config: {
      host: "127.0.0.1",
      port: 0,
      heartbeat: 0,
      frameMax: 131_072,
      channelMax: 64,
      maxMessageSize: 1 << 20,
    },
  });
}
