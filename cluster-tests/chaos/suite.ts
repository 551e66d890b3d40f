/**
 * The shared setup of a chaos test file: one proxied three-node cluster for the whole file,
 * seeded from CHAOS_SEED (printed, so a failure can be replayed), its output tail printed when a
 * test fails, and destroyed at the end.
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import { ProxiedCluster } from "./proxied-cluster.js";
import { chaosSeed, seededRandom } from "./random.js";

export const ALL_NODES = ["n1", "n2", "n3"] as const;

/** The other two nodes of the three. */
export const others = (id: string): string[] => ALL_NODES.filter((x) => x !== id);

/** Registers the file's hooks; call `cluster()` inside tests. */
export function useChaosCluster(label: string): {
  cluster: () => ProxiedCluster;
  seed: number;
  random: () => number;
} {
  const seed = chaosSeed();
  const random = seededRandom(seed);
  let cluster: ProxiedCluster | undefined;
  beforeAll(async () => {
    console.log(`chaos ${label}: CHAOS_SEED=${seed}`);
    cluster = await ProxiedCluster.acquire({ random });
  }, 120_000);
  afterEach(({ task }) => {
    if (task.result?.state === "fail") console.error(`CHAOS_SEED=${seed}\n${cluster?.tail(60)}`);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });
  return {
    seed,
    random,
    cluster: () => {
      if (cluster === undefined) throw new Error("the chaos cluster is not started yet");
      return cluster;
    },
  };
}
