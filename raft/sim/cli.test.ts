import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const cli = fileURLToPath(new URL("./cli.ts", import.meta.url));

function sim(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", cli, ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("npm run sim", () => {
  test("--seed N prints one line for the seed and exits 0 when every invariant holds", () => {
    const r = sim("--seed", "1", "--steps", "500");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^seed 1 ok steps=\d+ ticks=\d+/);
  });

  test("--from A --count K prints a summary line", () => {
    const r = sim("--from", "10", "--count", "3", "--steps", "300");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/3\/3 seeds ok \(10\.\.12, 300 steps, 3 nodes\)/);
  });

  test("a violation prints the seed, the invariant, the replay command and the trace, and exits 1", () => {
    const r = sim("--from", "1", "--count", "2", "--steps", "2000", "--bug", "sendBeforeFsync");
    expect(r.code).toBe(1);
    expect(r.err).toContain("VIOLATION seed=1: a vote or append acknowledgement is sent only after");
    expect(r.err).toContain(
      "replay: npm run sim -- --seed 1 --steps 2000 --nodes 3 --bug sendBeforeFsync --verbose",
    );
    expect(r.err).toMatch(/\n {4}t= +\d+\.\d{3} n\d/);
    expect(r.out).toContain("0/2 seeds ok");
  });

  test("bad arguments are refused with the usage and exit 2", () => {
    const r = sim("--seed", "1", "--nodes", "4");
    expect(r.code).toBe(2);
    expect(r.err).toContain("--nodes must be 3 or 5");
  });
});
