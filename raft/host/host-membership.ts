/**
 * The host's membership operations: configuration changes (one voter or learner at a time,
 * thesis §4.1), leadership transfer (TimeoutNow, thesis §3.10), and the hand-off of every
 * group a node leads before a graceful shutdown.
 */
import type { ConfChange, GroupId, NodeId } from "../core/types.js";
import { NotLeaderError, RaftError } from "../errors.js";
import type { Group } from "./group.js";
import { type HostContext, hint, mapProposeError } from "./host-context.js";
import { waitFor } from "./wait.js";

/** Proposes a membership change; settles like a proposal, when its entry is applied. */
export async function changeConf(host: HostContext, group: GroupId, cc: ConfChange): Promise<void> {
  const g = host.mustGroup(group);
  let at: { index: number; term: number };
  try {
    at = g.node.proposeConfChange(cc);
  } catch (err) {
    throw mapProposeError(g, err);
  }
  host.touch(g);
  await g.proposals.add(at.index, at.term, Date.now());
}

/** Asks the leader to hand leadership to `to`; resolves when this node sees `to` lead. */
export async function transferLeadership(host: HostContext, group: GroupId, to: NodeId): Promise<void> {
  const g = host.mustGroup(group);
  if (g.lead === to) return;
  if (!g.isLeader()) throw new NotLeaderError(group, hint(g.lead));
  g.node.transferLeader(to);
  host.touch(g);
  const deadline = host.opts.electionTick * host.opts.tickMs * 3;
  const ok = await waitFor(() => g.lead === to || g.removed || host.isStopped(), deadline);
  if (!ok || g.lead !== to) {
    throw new RaftError(`leadership of ${group} did not move to ${to} within ${deadline} ms`);
  }
}

/**
 * Asks each group this node leads to transfer to a voter whose log matches the leader's last
 * index (TimeoutNow needs a caught-up transferee, thesis §3.10), and waits for the moves.
 * Groups without such a voter are left to the election that follows the stop.
 */
export async function handOffLeadership(host: HostContext): Promise<void> {
  const self = host.opts.nodeId;
  const led: Group[] = [];
  for (const g of host.groups()) {
    if (!g.isLeader()) continue;
    const st = g.node.status();
    const last = g.log.lastIndex();
    let target: NodeId | undefined;
    for (const [peer, pr] of st.progress ?? []) {
      if (peer !== self && st.conf.voters.includes(peer) && pr.match >= last) target = peer;
    }
    if (target === undefined) continue;
    g.node.transferLeader(target);
    led.push(g);
    host.touch(g);
  }
  if (led.length === 0) return;
  await waitFor(() => led.every((g) => !g.isLeader()), host.opts.electionTick * host.opts.tickMs * 2);
}
