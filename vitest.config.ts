import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["raft/**/*.test.ts", "node/**/*.test.ts", "cluster-tests/**/*.test.ts", "bench/**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**", "data/**"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
