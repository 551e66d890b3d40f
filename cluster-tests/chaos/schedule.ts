/**
 * Randomised fault schedules for the long run (`npm run test:chaos`): a list of faults drawn from
 * a seed, each applied to a ProxiedCluster and held for a drawn duration, then undone. The same
 * seed gives the same schedule (the timing of the cluster under it still varies).
 */
import type { ToxicType } from "toxiproxy-node-client";
import { linkName, type ProxiedCluster } from "./proxied-cluster.js";
import { pick } from "./random.js";

const IDS = ["n1", "n2", "n3"] as const;

export type Fault =
  | { readonly kind: "isolate"; readonly node: string }
  | { readonly kind: "one-way"; readonly from: string; readonly to: string }
  | {
      readonly kind: "latency";
      readonly from: string;
      readonly to: string;
      readonly ms: number;
      readonly jitter: number;
    }
  | { readonly kind: "bandwidth"; readonly from: string; readonly to: string; readonly kbps: number }
  | { readonly kind: "reset-peer"; readonly from: string; readonly to: string }
  | { readonly kind: "kill"; readonly node: string }
  | { readonly kind: "kill-two"; readonly nodes: readonly [string, string] }
  | { readonly kind: "sigstop"; readonly node: string }
  /** A graceful stop (SIGTERM): the node must exit 0; it is started again when the step ends. */
  | { readonly kind: "sigterm"; readonly node: string };

export interface Step {
  readonly fault: Fault;
  readonly holdMs: number;
}

export function describeFault(f: Fault): string {
  switch (f.kind) {
    case "isolate":
    case "kill":
    case "sigstop":
    case "sigterm":
      return `${f.kind} ${f.node}`;
    case "kill-two":
      return `kill-two ${f.nodes.join("+")}`;
    case "latency":
      return `latency ${f.from}->${f.to} ${f.ms}±${f.jitter}ms`;
    case "bandwidth":
      return `bandwidth ${f.from}->${f.to} ${f.kbps}KB/s`;
    default:
      return `${f.kind} ${f.from}->${f.to}`;
  }
}

/** `steps` faults held between `minHoldMs` and `maxHoldMs` each. */
export function makeSchedule(
  random: () => number,
  steps: number,
  minHoldMs: number,
  maxHoldMs: number,
): Step[] {
  const out: Step[] = [];
  for (let i = 0; i < steps; i++) {
    const node = pick(random, IDS);
    const to = pick(
      random,
      IDS.filter((x) => x !== node),
    );
    const kinds = [
      "isolate",
      "one-way",
      "latency",
      "bandwidth",
      "reset-peer",
      "kill",
      "kill-two",
      "sigstop",
      "sigterm",
    ] as const;
    const kind = pick(random, kinds);
    let fault: Fault;
    switch (kind) {
      case "isolate":
      case "kill":
      case "sigstop":
      case "sigterm":
        fault = { kind, node };
        break;
      case "kill-two":
        fault = { kind, nodes: [node, to] };
        break;
      case "latency":
        fault = {
          kind,
          from: node,
          to,
          ms: 50 + Math.floor(random() * 250),
          jitter: Math.floor(random() * 50),
        };
        break;
      case "bandwidth":
        fault = { kind, from: node, to, kbps: 4 + Math.floor(random() * 60) };
        break;
      default:
        fault = { kind, from: node, to };
    }
    out.push({ fault, holdMs: minHoldMs + Math.floor(random() * (maxHoldMs - minHoldMs)) });
  }
  return out;
}

/** A toxic on what `from` sends to `to`. */
async function onLink(
  cluster: ProxiedCluster,
  link: { readonly from: string; readonly to: string },
  name: string,
  type: ToxicType,
  attributes: Record<string, number>,
): Promise<void> {
  await cluster
    .proxy(linkName(link.from, link.to))
    .addToxic({ name, type, stream: "upstream", toxicity: 1, attributes });
}

/** Inject the fault. */
export async function applyFault(cluster: ProxiedCluster, f: Fault): Promise<void> {
  switch (f.kind) {
    case "isolate":
      await cluster.partition(
        [f.node],
        IDS.filter((x) => x !== f.node),
      );
      return;
    case "one-way":
      await cluster.cut(f.from, f.to);
      return;
    case "latency":
      await onLink(cluster, f, "chaos-latency", "latency", { latency: f.ms, jitter: f.jitter });
      return;
    case "bandwidth":
      await onLink(cluster, f, "chaos-bandwidth", "bandwidth", { rate: f.kbps });
      return;
    case "reset-peer":
      await onLink(cluster, f, "chaos-reset", "reset_peer", { timeout: 100 });
      return;
    case "kill":
      await cluster.kill(f.node);
      return;
    case "kill-two":
      await Promise.all(f.nodes.map((n) => cluster.kill(n)));
      return;
    case "sigstop":
      cluster.pause(f.node);
      return;
    case "sigterm": {
      const { exit, ms } = await cluster.stop(f.node);
      if (exit.code !== 0)
        throw new Error(`${f.node} did not stop cleanly on SIGTERM (${JSON.stringify(exit)} after ${ms} ms)`);
      return;
    }
  }
}
