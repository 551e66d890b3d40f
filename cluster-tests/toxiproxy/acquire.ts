/**
 * Which Toxiproxy a test run uses (docs/chaos.md): the one at TOXIPROXY_URL, else a
 * `toxiproxy-server` found on PATH (started on a free loopback port), else ours in-process.
 * All three speak the same API, so callers only ever see a URL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { startToxiproxyServer } from "./server.js";

export type ToxiproxySource = "external" | "binary" | "in-process";

export interface AcquiredToxiproxy {
  readonly url: string;
  readonly source: ToxiproxySource;
  /** Stops what we started; an external server is left alone. */
  close(): Promise<void>;
}

export interface AcquireOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Randomness of the in-process server (see startToxiproxyServer). */
  readonly random?: () => number;
  /** How long a spawned toxiproxy-server may take to answer /version. */
  readonly startTimeoutMs?: number;
}

function findOnPath(name: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function freeLoopbackPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/version`)).ok;
  } catch {
    return false;
  }
}

async function spawnBinary(
  bin: string,
  env: AcquireOptions["env"],
  timeoutMs: number,
): Promise<AcquiredToxiproxy> {
  const port = await freeLoopbackPort();
  // Go's flag package accepts --flag as well as -flag; our cli.ts takes the same spelling.
  const child: ChildProcess = spawn(bin, ["--host", "127.0.0.1", "--port", String(port)], {
    env: { ...process.env, ...env },
    stdio: "ignore",
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${bin} did not answer on ${url} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    source: "binary",
    async close() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}

export async function acquireToxiproxy(opts: AcquireOptions = {}): Promise<AcquiredToxiproxy> {
  const env = opts.env ?? process.env;
  const external = env.TOXIPROXY_URL;
  if (external !== undefined && external !== "") {
    return { url: external.replace(/\/+$/, ""), source: "external", close: async () => undefined };
  }
  const bin = findOnPath("toxiproxy-server", env.PATH);
  if (bin !== undefined) return spawnBinary(bin, opts.env, opts.startTimeoutMs ?? 30_000);
  const server = await startToxiproxyServer({
    host: "127.0.0.1",
    port: 0,
    ...(opts.random ? { random: opts.random } : {}),
  });
  return { url: server.url, source: "in-process", close: () => server.close() };
}
