import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

/** `npm run test:chaos`: the chaos scenarios with long phases, plus the randomised schedule. */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["cluster-tests/chaos/**/*.test.ts", "cluster-tests/chaos/**/*.chaos.ts"],
    pool: "forks",
    // One cluster at a time: the figures mean more on a quiet machine.
    fileParallelism: false,
    env: { CHAOS_LONG: "1" },
    testTimeout: 10 * 60_000,
    hookTimeout: 120_000,
  },
});
