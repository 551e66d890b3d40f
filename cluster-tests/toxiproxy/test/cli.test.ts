/** `tsx cluster-tests/toxiproxy/cli.ts`: prints its API URL, serves it, exits 0 on SIGTERM. */
import { spawn } from "node:child_process";
import { Toxiproxy } from "toxiproxy-node-client";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../harness/node-process.js";
import { waitFor } from "../../harness/poll.js";

describe("toxiproxy cli", () => {
  it("serves the API on the port it prints and stops on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "cluster-tests/toxiproxy/cli.ts", "--port", "0"],
      {
        cwd: REPO_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      out += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], {
        timeoutMs: 30_000,
        intervalMs: 50,
        what: `the cli's URL (output: ${out})`,
      });
      const client = new Toxiproxy(url);
      expect(JSON.parse(await client.getVersion())).toHaveProperty("version");
      const p = await client.createProxy({ name: "cli", listen: "127.0.0.1:0", upstream: "127.0.0.1:9" });
      expect(p.enabled).toBe(true);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
