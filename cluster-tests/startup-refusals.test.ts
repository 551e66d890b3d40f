/**
 * A node refuses to start on data it cannot trust, with a message naming the problem and a
 * non-zero exit, instead of serving from a damaged or shared log (docs/running.md,
 * troubleshooting).
 */
import { Level } from "level";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeProcess, TestCluster } from "./harness/index.js";

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start({ size: 1 });
});

afterAll(async () => {
  await cluster?.destroy();
});

describe("startup refusals", () => {
  it("a second process on the same data directory is refused while the first runs", async () => {
    const n1 = cluster.node("n1");
    const intruder = new NodeProcess("intruder", {
      WARREN_NODE_ID: "n1",
      WARREN_DATA_DIR: n1.dataDir,
      WARREN_HTTP_HOST: "127.0.0.1",
      WARREN_HTTP_PORT: "0",
      WARREN_RAFT_HOST: "127.0.0.1",
      WARREN_RAFT_PORT: "0",
      WARREN_AMQP_HOST: "127.0.0.1",
      WARREN_AMQP_PORT: "0",
    });
    intruder.start();
    const exit = await intruder.waitForExit();
    expect(exit.code).not.toBe(0);
    expect(intruder.tail()).toContain("is locked by another process");
    // The rightful owner never noticed.
    expect((await n1.http.get("/ready")).status).toBe(200);
  });

  it("corrupt data is refused at startup, naming what is wrong", async () => {
    const n1 = cluster.node("n1");
    expect(await n1.proc.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    // A group marker whose name cannot be decoded, as a torn or foreign write would leave.
    const db = new Level<string, string>(n1.dataDir);
    await db.put("m:%E0%A4%A", "x");
    await db.close();
    n1.proc.start();
    const exit = await n1.proc.waitForExit();
    expect(exit.code).not.toBe(0);
    expect(n1.proc.tail()).toMatch(/refusing to start: raft storage in .* has a malformed group marker key/);
  });
});
