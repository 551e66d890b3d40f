/**
 * The launcher's files and ports: the dev cluster secret (generated once, kept in the data root,
 * readable by the owner only; data/ is git-ignored) and the check that every planned port is free
 * before any node starts, so a taken port is one clear message instead of a node dying half-way.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import type { NodePlan } from "./cluster-plan.js";
import { describePorts } from "./cluster-plan.js";

export const SECRET_FILE_NAME = "cluster-secret";

/** Path of the cluster secret under `dataDir`, creating it (48 hex characters) the first time. */
export async function ensureSecret(dataDir: string): Promise<string> {
  await mkdir(dataDir, { recursive: true });
  const file = join(dataDir, SECRET_FILE_NAME);
  try {
    const existing = (await readFile(file, "utf8")).trim();
    if (existing.length >= 16) return file;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  await writeFile(file, `${randomBytes(24).toString("hex")}\n`, { mode: 0o600 });
  return file;
}

/** `--fresh`: remove each node's data directory (not the secret, not other files). */
export async function removeNodeData(plan: readonly NodePlan[]): Promise<void> {
  for (const n of plan) await rm(n.dataDir, { recursive: true, force: true });
}

function tryListen(host: string, port: number): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(undefined)));
  });
}

/** One line per planned port that cannot be bound, e.g. "port 15672 (HTTP of n1) is already in use". */
export async function portProblems(host: string, plan: readonly NodePlan[]): Promise<string[]> {
  const problems: string[] = [];
  for (const { port, what } of describePorts(plan)) {
    const err = await tryListen(host, port);
    if (err === undefined) continue;
    const why =
      err.code === "EADDRINUSE" ? "is already in use" : `cannot be bound (${err.code ?? err.message})`;
    problems.push(`port ${port} (${what}) on ${host} ${why}`);
  }
  return problems;
}
