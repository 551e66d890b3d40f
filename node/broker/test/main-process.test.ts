/**
 * `node/main.ts` as a real process: starts from the environment, logs a ready line with its
 * addresses, serves HTTP, and exits 0 on SIGTERM after a graceful shutdown.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { eventually } from "./harness.js";

it("runs one node, logs ready, and exits 0 on SIGTERM", async () => {
  const dir = await mkdtemp(join(tmpdir(), "warren-main-"));
  const child = spawn(process.execPath, ["--import", "tsx", "node/main.ts"], {
    cwd: join(import.meta.dirname, "../../.."),
    env: {
      ...process.env,
      WARREN_NODE_ID: "solo",
      WARREN_DATA_DIR: dir,
      WARREN_RAFT_HOST: "127.0.0.1",
      WARREN_RAFT_PORT: "0",
      WARREN_HTTP_HOST: "127.0.0.1",
      WARREN_HTTP_PORT: "0",
      WARREN_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (b: Buffer) => {
    out += b.toString();
  });
  child.stderr.on("data", (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const ready = await eventually(
      "the ready line",
      () =>
        out
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
          .find((r) => r.msg === "ready"),
      30_000,
    );
    expect(ready.nodeId).toBe("solo");
    expect(String(ready.http)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await eventually("the node to be ready over HTTP", async () => {
      const r = await fetch(`${String(ready.http)}/api/overview`, {
        headers: { authorization: `Basic ${Buffer.from("guest:guest").toString("base64")}` },
      });
      return r.status === 200 ? r : undefined;
    });
    expect(res.status).toBe(200);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  } finally {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
