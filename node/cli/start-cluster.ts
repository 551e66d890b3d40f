#!/usr/bin/env node
/**
 * `npm start`: a local Warren cluster in one terminal. Checks that every port is free, creates the
 * dev cluster secret once (./data/cluster-secret), starts N `warren-node` processes on loopback,
 * prefixes their logs, prints the URLs and one "cluster ready" line when every node answers 200
 * on /ready, and stops them all on Ctrl-C (exit 0 when every node stopped cleanly). `add-node`
 * starts one more node that joins the cluster running with that layout, and stops only it.
 *
 * Exit codes: 0 stopped on request; 1 a node failed (at startup or later) or did not stop
 * cleanly; 2 bad flags or a port is taken.
 */
import { resolve } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { amqpClientUrl, type NodePlan, planCluster, planJoiningNode } from "./cluster-plan.js";
import { LAUNCHER_USAGE, type LauncherArgs, parseLauncherArgs } from "./launcher-args.js";
import { ensureSecret, portProblems, removeNodeData } from "./local-files.js";
import { type ChildExit, NodeChild } from "./node-children.js";

/** A node that does not exit within this long after SIGTERM is killed. */
const STOP_TIMEOUT_MS = 30_000;
/** Signals closer than this to the first count as the same request. */
const DUPLICATE_SIGNAL_MS = 1000;

const say = (text: string) => process.stdout.write(`warren: ${text}\n`);
const fail = (text: string) => process.stderr.write(`warren: ${text}\n`);

function clientHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") ? `[${host}]` : host;
}

async function isReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status === 200;
  } catch {
    return false;
  }
}

function describeExit(e: ChildExit): string {
  return e.signal !== null ? `was killed by ${e.signal}` : `exited with code ${e.code}`;
}

async function run(args: LauncherArgs): Promise<number> {
  const dataDir = resolve(args.dataDir);
  const secretFile = resolve(dataDir, "cluster-secret");
  let plan: NodePlan[];
  try {
    const opts = {
      nodes: args.nodes,
      host: args.host,
      ports: args.ports,
      dataDir,
      secretFile,
      ...(args.logLevel ? { logLevel: args.logLevel } : {}),
    };
    // add-node starts only the joining node; the cluster it joins runs already.
    plan = args.addNode ? [planJoiningNode(opts)] : planCluster(opts);
  } catch (err) {
    fail((err as Error).message);
    return 2;
  }
  const taken = await portProblems(args.host, plan);
  if (taken.length > 0) {
    for (const p of taken) fail(p);
    fail(
      "is another Warren (or RabbitMQ) running? Stop it, or pick other ports with --base-port (e.g. --base-port 6672).",
    );
    return 2;
  }
  if (args.fresh) await removeNodeData(plan);
  await ensureSecret(dataDir);

  const host = clientHost(args.host);
  const urls = new Map(plan.map((n) => [n.id, `http://${host}:${n.httpPort}`]));
  const readyLines = new Map<string, Record<string, unknown>>();
  let phase: "starting" | "running" | "stopping" = "starting";
  let startupFailure: ChildExit | undefined;
  const children: NodeChild[] = [];

  process.on("exit", () => {
    for (const c of children) c.signal("SIGKILL");
  });

  const stopAll = async (): Promise<boolean> => {
    phase = "stopping";
    for (const c of children) c.signal("SIGTERM");
    const timer = setTimeout(() => {
      for (const c of children) {
        if (c.running) fail(`${c.plan.id} did not stop within ${STOP_TIMEOUT_MS / 1000} s: killing it`);
        c.signal("SIGKILL");
      }
    }, STOP_TIMEOUT_MS);
    const exits = await Promise.all(children.map((c) => c.exited));
    clearTimeout(timer);
    const bad = exits.filter((e) => e.code !== 0);
    for (const e of bad) fail(`${e.id} ${describeExit(e)} while stopping`);
    return bad.length === 0;
  };

  let signalled: (() => void) | undefined;
  const stopRequested = new Promise<void>((r) => {
    signalled = r;
  });
  let signals = 0;
  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // Under `npm start` one Ctrl-C can arrive twice (from the terminal and forwarded by npm):
    // only a second signal a moment later means "kill them now".
    if (signals > 0 && Date.now() - firstSignalAt < DUPLICATE_SIGNAL_MS) return;
    signals += 1;
    if (signals === 1) firstSignalAt = Date.now();
    if (signals > 1) {
      fail(`second ${sig}: killing every node now`);
      for (const c of children) c.signal("SIGKILL");
      process.exit(1);
    }
    say(`${sig}: stopping ${children.length} node(s) (press Ctrl-C again to kill them)`);
    signalled?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  say(
    args.addNode
      ? `starting ${plan[0]!.id}, joining the running cluster of n1..n${args.nodes}; data in ${dataDir}`
      : `starting ${plan.length} node(s), data in ${dataDir}`,
  );
  for (const [i, n] of plan.entries()) {
    children.push(
      new NodeChild(n, i, {
        json: args.json,
        color: process.stdout.isTTY === true,
        write: (t) => process.stdout.write(t),
        onReadyLine: (id, rec) => readyLines.set(id, rec),
        onExit: (e) => {
          if (phase === "starting") startupFailure ??= e;
          else if (phase === "running") fail(`${e.id} ${describeExit(e)}; the other nodes keep running`);
        },
      }),
    );
  }

  // Ready = every node logged its ready line and answers 200 on /ready (in a quorum, metadata caught up).
  const deadline = Date.now() + args.readyTimeoutMs;
  const ready = new Set<string>();
  while (ready.size < plan.length) {
    if (startupFailure !== undefined) {
      fail(
        `${startupFailure.id} ${describeExit(startupFailure)} during startup (its output is above); stopping the others`,
      );
      await stopAll();
      return 1;
    }
    if (signals > 0) return (await stopAll()) ? 0 : 1;
    if (Date.now() > deadline) {
      const waiting = plan.filter((n) => !ready.has(n.id)).map((n) => n.id);
      fail(`not ready after ${args.readyTimeoutMs / 1000} s: ${waiting.join(", ")}; stopping`);
      await stopAll();
      return 1;
    }
    for (const n of plan) {
      if (!ready.has(n.id) && readyLines.has(n.id) && (await isReady(urls.get(n.id) as string)))
        ready.add(n.id);
    }
    await Promise.race([delay(200), stopRequested]);
  }
  phase = "running";

  for (const n of plan) {
    const rec = readyLines.get(n.id) ?? {};
    const amqp = amqpClientUrl(host, rec.amqp, n.amqpPort);
    say(`${n.id}  ${urls.get(n.id)}  ${amqp}  raft ${host}:${n.raftPort}  data ${n.dataDir}`);
  }
  if (args.addNode) {
    const id = plan[0]!.id;
    say(
      `${id} joined the cluster (\`npm run ctl -- grow ${id} all\` moves queue replicas onto it; Ctrl-C stops ${id})`,
    );
  } else {
    say(
      `cluster ready: ${plan.length}/${plan.length} nodes (user guest/guest; \`npm run ctl -- status\`; Ctrl-C stops)`,
    );
  }

  const allExited = Promise.all(children.map((c) => c.exited));
  const outcome = await Promise.race([
    stopRequested.then(() => "signal" as const),
    allExited.then(() => "died" as const),
  ]);
  if (outcome === "died") {
    fail("every node has exited");
    return 1;
  }
  const clean = await stopAll();
  say(clean ? "all nodes stopped" : "stopped, with errors");
  return clean ? 0 : 1;
}

let args: LauncherArgs;
try {
  args = parseLauncherArgs(process.argv.slice(2));
} catch (err) {
  fail((err as Error).message);
  process.stderr.write(LAUNCHER_USAGE);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(LAUNCHER_USAGE);
  process.exit(0);
}
run(args).then(
  (code) => process.exit(code),
  (err: unknown) => {
    fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
