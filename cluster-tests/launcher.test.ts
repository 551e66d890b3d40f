/**
 * The local-cluster launcher (`npm start` = node/cli/start-cluster.ts) as a user runs it: on
 * non-default ports it prints one ready line once every node is ready, the ctl CLI reads the
 * cluster through it, and SIGINT stops every node (exit 0, no orphan process). A taken port and a
 * node that dies at startup end it with a clear message and a non-zero exit.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { childEnv, type ExitStatus, isPortFree, REPO_ROOT, waitFor } from "./harness/index.js";

interface Launched {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  out: string;
  err: string;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "warren-launcher-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Three blocks of four consecutive free ports (HTTP, Raft, AMQP of n1..n3, and of n4 for add-node). */
/** The launcher's port flags for the blocks `portBlocks` found. */
function portFlags(p: { http: number; raft: number; amqp: number }): string[] {
  return ["--http-port", String(p.http), "--raft-port", String(p.raft), "--amqp-port", String(p.amqp)];
}

async function portBlocks(): Promise<{ http: number; raft: number; amqp: number }> {
  const blocks: number[] = [];
  for (let attempt = 0; blocks.length < 3 && attempt < 200; attempt++) {
    // Below the usual ephemeral range (32768+), so outgoing connections do not take them meanwhile.
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    if (blocks.some((b) => Math.abs(b - base) < 4)) continue;
    const free = await Promise.all([0, 1, 2, 3].map((i) => isPortFree(base + i)));
    if (free.every(Boolean)) blocks.push(base);
  }
  const [http, raft, amqp] = blocks as [number, number, number];
  return { http, raft, amqp };
}

/** Node processes started by `pid` (not tsx's esbuild service, which a cold cache also starts). */
function pidsOfChildren(pid: number): number[] {
  try {
    return execFileSync("ps", ["-o", "pid=,args=", "--ppid", String(pid)], { encoding: "utf8" })
      .split("\n")
      .filter((line) => /node[/\\]main\.(ts|js)/.test(line))
      .map((line) => Number(line.trim().split(/\s+/)[0]))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there is none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function launch(args: readonly string[]): Launched {
  const child = spawn(process.execPath, ["--import", "tsx", "node/cli/start-cluster.ts", ...args], {
    cwd: REPO_ROOT,
    env: childEnv({}),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const l: Launched = {
    child,
    out: "",
    err: "",
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
  };
  child.stdout?.on("data", (b: Buffer) => {
    l.out += b.toString("utf8");
  });
  child.stderr?.on("data", (b: Buffer) => {
    l.err += b.toString("utf8");
  });
  let nodePids: number[] = [];
  const poll = setInterval(() => {
    if (child.pid !== undefined && child.exitCode === null) {
      const now = pidsOfChildren(child.pid);
      if (now.length > 0) nodePids = now;
    }
  }, 200);
  cleanups.push(async () => {
    clearInterval(poll);
    for (const pid of [...nodePids, ...(child.pid ? pidsOfChildren(child.pid) : [])]) {
      if (alive(pid)) process.kill(pid, "SIGKILL");
    }
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await l.exited;
  });
  return l;
}

/** Wait for the launcher's one "cluster ready" line; fail with its output if it exits first. */
async function readyLine(l: Launched): Promise<void> {
  await waitFor(
    () => {
      if (l.child.exitCode !== null) {
        throw new Error(`launcher exited ${l.child.exitCode}:\n${l.err}\n${l.out.slice(-3000)}`);
      }
      return /^warren: cluster ready/m.test(l.out);
    },
    { timeoutMs: 90_000, what: "the launcher's ready line", intervalMs: 200 },
  );
}

/** SIGINT, as Ctrl-C: the launcher must stop every node and exit 0. */
async function interrupt(l: Launched): Promise<void> {
  l.child.kill("SIGINT");
  expect(await l.exited, `launcher stderr:\n${l.err}\nstdout tail:\n${l.out.slice(-3000)}`).toEqual({
    code: 0,
    signal: null,
  });
}

function ctl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", "node/cli/ctl.ts", ...args],
      { cwd: REPO_ROOT, env: childEnv({}), timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("the local cluster launcher", () => {
  it("prints one ready line, serves the ctl CLI, and stops every node on SIGINT", async () => {
    const dir = await tempDir();
    const p = await portBlocks();
    const l = launch([...portFlags(p), "--data", join(dir, "data")]);
    await readyLine(l);
    const diag = () => `launcher stderr:\n${l.err}\nstdout tail:\n${l.out.slice(-3000)}`;
    expect(l.out.match(/^warren: cluster ready/gm), diag()).toHaveLength(1);
    for (let i = 0; i < 3; i++) expect(l.out).toContain(`http://127.0.0.1:${p.http + i}`);
    // Each node's log lines are prefixed with its id.
    expect(l.out).toMatch(/^n2 \| .* ready /m);
    const nodePids = pidsOfChildren(l.child.pid as number);
    expect(nodePids, diag()).toHaveLength(3);

    const url = `--url=http://127.0.0.1:${p.http + 1}`;
    const status = await ctl(["status", url]);
    expect(status.code, `${status.stderr}\n${diag()}`).toBe(0);
    expect(status.stdout, diag()).toContain("3/3 nodes ready");
    expect(status.stdout).toMatch(/^meta\s+n\d\s+\d+\s+\d+\/\d+/m);
    expect((await ctl(["declare", "smoke", url])).code).toBe(0);
    const pub = await ctl(["publish", "smoke", "hello launcher", url]);
    expect(pub.stdout).toContain("routed");
    const got = await ctl(["get", "smoke", "--take", url]);
    expect(got.stdout).toContain("hello launcher");
    const queues = await ctl(["queues", url, "--json"]);
    expect(JSON.parse(queues.stdout)).toContainEqual(
      expect.objectContaining({ name: "smoke", messages_ready: 0 }),
    );

    // add-node: a fourth node joins the running cluster, from a second launcher; Ctrl-C there
    // stops that node only.
    const layout = portFlags(p);
    const added = launch(["add-node", ...layout, "--data", join(dir, "data")]);
    await waitFor(
      () => {
        if (added.child.exitCode !== null)
          throw new Error(`add-node exited ${added.child.exitCode}:\n${added.err}`);
        return /^warren: n4 joined the cluster/m.test(added.out);
      },
      { timeoutMs: 90_000, what: "add-node's joined line", intervalMs: 200 },
    );
    const four = await ctl(["status", url]);
    expect(four.stdout, `${four.stderr}\n${added.out.slice(-3000)}`).toContain("4/4 nodes ready");
    await interrupt(added);
    expect(pidsOfChildren(l.child.pid as number), diag()).toHaveLength(3);

    l.child.kill("SIGINT");
    expect(await l.exited, diag()).toEqual({ code: 0, signal: null });
    expect(l.out).toContain("warren: all nodes stopped");
    await waitFor(() => nodePids.every((pid) => !alive(pid)), {
      timeoutMs: 5000,
      what: "no orphan node process",
    });
  });

  it("keeps the data and the secret from one run to the next; --fresh starts over", async () => {
    const dir = await tempDir();
    const data = join(dir, "data");
    const p = await portBlocks();
    const flags = [...portFlags(p), "--data", data];
    const url = `--url=http://127.0.0.1:${p.http}`;

    const first = launch(flags);
    await readyLine(first);
    const secret = await readFile(join(data, "cluster-secret"), "utf8");
    expect(secret.trim()).toMatch(/^[0-9a-f]{48}$/);
    expect((await stat(join(data, "cluster-secret"))).mode & 0o777).toBe(0o600);
    expect((await ctl(["declare", "kept", url])).code).toBe(0);
    expect((await ctl(["publish", "kept", "from the first run", url])).stdout).toContain("routed");
    await interrupt(first);

    const second = launch(flags);
    await readyLine(second);
    expect(await readFile(join(data, "cluster-secret"), "utf8")).toBe(secret);
    const got = await ctl(["get", "kept", url]);
    expect(got.stdout, got.stderr).toContain("from the first run");
    await interrupt(second);

    const fresh = launch([...flags, "--fresh"]);
    await readyLine(fresh);
    expect(await readFile(join(data, "cluster-secret"), "utf8")).toBe(secret);
    const queues = await ctl(["queues", url, "--json"]);
    expect(JSON.parse(queues.stdout)).toEqual([]);
    await interrupt(fresh);
  });

  it("refuses to start when a port is taken", async () => {
    const dir = await tempDir();
    const p = await portBlocks();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(p.http + 1, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const l = launch([...portFlags(p), "--data", join(dir, "data")]);
    expect(await l.exited).toEqual({ code: 2, signal: null });
    expect(l.err).toContain(`port ${p.http + 1} (HTTP of n2) on 127.0.0.1 is already in use`);
    expect(l.out).not.toContain("starting");
  });

  it("stops the others and exits non-zero when a node dies at startup", async () => {
    const dir = await tempDir();
    const p = await portBlocks();
    // n2's data directory is a file: its storage cannot open, so the process exits at once.
    await mkdir(join(dir, "data"), { recursive: true });
    await writeFile(join(dir, "data", "n2"), "not a directory");
    const l = launch([...portFlags(p), "--data", join(dir, "data")]);
    expect(await l.exited).toEqual({ code: 1, signal: null });
    expect(l.err).toMatch(/warren: n2 exited with code \d+ during startup/);
    expect(l.out).not.toContain("cluster ready");
  });
});
