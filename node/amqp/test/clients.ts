/**
 * Client-side helpers for the over-the-wire tests: amqplib connections that are closed after
 * each file, waiting for metadata to reach every node (a declare made through one node is
 * applied on the others within a Raft round trip), and collecting deliveries with a deadline.
 */
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from "amqplib";
import type { AmqpCluster } from "./harness.js";
import { eventually } from "./harness.js";

export class Clients {
  private readonly open: ChannelModel[] = [];

  constructor(private readonly c: Pick<AmqpCluster, "cluster" | "url">) {}

  async connect(node: number, query = ""): Promise<ChannelModel> {
    const conn = await amqp.connect(this.c.url(node, "%2F", query));
    conn.on("error", () => {});
    this.open.push(conn);
    return conn;
  }

  async channel(node: number): Promise<Channel> {
    const conn = await this.connect(node);
    const ch = await conn.createChannel();
    ch.on("error", () => {});
    return ch;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.open.splice(0).map((c) => c.close().catch(() => {})));
  }

  /** Every node knows the queue (so publishes through any node route to it). */
  async queueEverywhere(name: string, vhost = "/"): Promise<void> {
    await eventually(`queue ${name} on every node`, async () => {
      for (const n of this.c.cluster.nodes)
        if ((await n.broker.getQueue(vhost, name)) === undefined) return false;
      return true;
    });
  }

  /** Every node has `count` bindings to the destination. */
  async bindingsEverywhere(
    destination: string,
    count: number,
    kind: "queue" | "exchange" = "queue",
  ): Promise<void> {
    await eventually(`${count} bindings to ${destination} on every node`, () =>
      this.c.cluster.nodes.every(
        (n) => n.broker.listBindings({ vhost: "/", destination, destinationKind: kind }).length >= count,
      ),
    );
  }

  /** The index of the node leading the queue's Raft group, once every node agrees on one. */
  async leaderIndex(name: string, vhost = "/"): Promise<number> {
    await this.queueEverywhere(name, vhost);
    const nodes = this.c.cluster.nodes;
    return eventually(`a leader of ${name} known to every node`, async () => {
      const leaders = new Set<string | undefined>();
      for (const n of nodes) leaders.add((await n.broker.getQueue(vhost, name))?.leader);
      const [leader] = leaders;
      if (leaders.size !== 1 || leader === undefined) return undefined;
      const i = nodes.findIndex((n) => n.id === leader);
      return i < 0 ? undefined : i;
    });
  }

  async exchangeEverywhere(name: string, vhost = "/"): Promise<void> {
    await eventually(`exchange ${name} on every node`, () =>
      this.c.cluster.nodes.every((n) => n.broker.getExchange(vhost, name) !== undefined),
    );
  }
}

/** Collects a consumer's messages; `take(n)` waits (with a deadline) until n arrived. */
export class Inbox {
  readonly messages: ConsumeMessage[] = [];
  cancelled = false;

  readonly onMessage = (m: ConsumeMessage | null): void => {
    if (m === null) this.cancelled = true;
    else this.messages.push(m);
  };

  async take(n: number, timeoutMs = 10_000): Promise<ConsumeMessage[]> {
    await eventually(
      `${n} messages (have ${this.messages.length})`,
      () => this.messages.length >= n,
      timeoutMs,
    );
    return this.messages.splice(0, n);
  }

  bodies(): string[] {
    return this.messages.map((m) => m.content.toString());
  }
}

/** The error a rejected amqplib operation carries (code = AMQP reply code). */
export async function failure(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    const e = err as { code?: number; message: string };
    return { code: e.code ?? 0, message: e.message };
  }
  throw new Error("expected the operation to fail");
}
