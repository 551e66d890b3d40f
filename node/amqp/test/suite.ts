/**
 * The shared setup of an over-the-wire test file: one in-process cluster with AMQP listeners
 * for the whole file, started before its tests, and closed after them together with every
 * amqplib connection opened through `clients`.
 *
 * `c` is usable as soon as the file is collected (tests run after `beforeAll`), so test files
 * keep writing `c.url(1)` and `c.cluster.nodes` as with the cluster itself.
 */
import { afterAll, beforeAll } from "vitest";
import { Clients } from "./clients.js";
import { AmqpCluster, type AmqpTestOptions } from "./harness.js";

/** What tests use of the cluster; each access reaches the started one. */
export type ClusterHandle = Pick<AmqpCluster, "cluster" | "servers" | "url" | "port">;

export function useAmqpCluster(
  size = 3,
  opts: AmqpTestOptions = {},
): { readonly c: ClusterHandle; readonly clients: Clients } {
  let started: AmqpCluster | undefined;
  const current = (): AmqpCluster => {
    if (started === undefined) throw new Error("the AMQP test cluster is not started yet");
    return started;
  };
  const c: ClusterHandle = {
    get cluster() {
      return current().cluster;
    },
    get servers() {
      return current().servers;
    },
    url: (i, vhost, query) => current().url(i, vhost, query),
    port: (i) => current().port(i),
  };
  const clients = new Clients(c);
  beforeAll(async () => {
    started = await AmqpCluster.start(size, opts);
  });
  // Registered first, so it runs after the file's own afterAll hooks (vitest runs them as a stack).
  afterAll(async () => {
    await clients.closeAll();
    await started?.close();
  });
  return { c, clients };
}
