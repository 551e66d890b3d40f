/**
 * This node's replica of the metadata group and the way in: proposals go to the meta leader
 * (forwarded), and resolve only once THIS node has applied them, so a client's next request on
 * the same node sees its own writes (read-your-writes), even when this node is a lagging follower.
 * A leader that stops answering is left for the next one as soon as it is elected, without
 * running a command twice (meta-proposals.ts).
 *
 * Every node applies the change events of every committed entry to its derived state (routing
 * mirror, queue groups, consumers); after a snapshot is installed (or recovered at start) the
 * derived state is rebuilt from `replayChanges()` instead.
 */
import type { NodeId } from "../../raft/core/types.js";
import type { RaftHost } from "../../raft/host/index.js";
import type { ApplyMeta, MachineSnapshot, StateMachine } from "../../raft/host/state-machine.js";
import { type Logger, noopLogger } from "../../raft/logger.js";
import type { Forwarder } from "../cluster/forward.js";
import type { Rpc } from "../cluster/rpc.js";
import { WarrenError } from "../errors.js";
import {
  type MetaChange,
  type MetaCommand,
  MetaMachine,
  type MetaReplies,
  type MetaReply,
  type MetaResult,
  unwrapReply,
} from "../meta/index.js";
import { guarded } from "./context.js";
import { MetaProposer } from "./meta-proposals.js";

export const META_GROUP = "meta";

/** RPC to the meta leader: a read barrier there; answers the index applied after it. */
const READ_INDEX_METHOD = "meta-read-index";

/**
 * The machine the host runs: MetaMachine, plus hooks so a snapshot install rebuilds derived
 * state and this node's proposals see their commands apply.
 */
class ObservedMetaMachine implements StateMachine<MetaCommand, MetaResult> {
  constructor(
    readonly inner: MetaMachine,
    private readonly onRestore: (index: number) => void,
    private readonly onApply: (command: MetaCommand, result: MetaResult) => void,
  ) {}
  apply(meta: ApplyMeta, command: MetaCommand): MetaResult {
    const result = this.inner.apply(meta, command);
    this.onApply(command, result);
    return result;
  }
  snapshot(): MachineSnapshot {
    return this.inner.snapshot();
  }
  restore(snapshot: MachineSnapshot, meta: { readonly index: number; readonly term: number }): void {
    this.inner.restore(snapshot, meta);
    this.onRestore(meta.index);
  }
}

export type ChangeListener = (changes: readonly MetaChange[]) => void;
export type RebuildListener = (machine: MetaMachine) => void;

export class MetaClient {
  readonly machine = new MetaMachine();
  private applied = 0;
  private readonly waiters: { index: number; resolve: () => void }[] = [];
  private readonly changeListeners: ChangeListener[] = [];
  private readonly rebuildListeners: RebuildListener[] = [];
  private readonly observed: ObservedMetaMachine;
  /** Where to send proposals while no leader is known: every node of the cluster as this node sees it. */
  private candidates: () => readonly NodeId[] = () => this.voters;
  private readonly proposer: MetaProposer;

  constructor(
    private readonly host: RaftHost,
    forwarder: Forwarder,
    private readonly rpc: Rpc,
    readonly voters: readonly NodeId[],
    private readonly timeoutMs: number,
    private readonly logger: Logger = noopLogger,
  ) {
    this.proposer = new MetaProposer({
      nodeId: host.nodeId,
      group: META_GROUP,
      forwarder,
      timeoutMs,
      leader: () => this.leader(),
      candidates: () => this.candidates(),
      catchUp: (leader, ms) => this.catchUpAt(leader, ms),
      waitApplied: (index, ms) => this.waitApplied(index, ms),
    });
    this.observed = new ObservedMetaMachine(
      this.machine,
      (index) => {
        this.applied = Math.max(this.applied, index);
        this.proposer.restored();
        for (const l of this.rebuildListeners)
          guarded(this.logger, "metadata rebuild", () => l(this.machine));
        this.settleWaiters();
      },
      (command, result) => this.proposer.applied(command, result.reply),
    );
    host.onLeaderChange((group, leader) => {
      if (group === META_GROUP) this.proposer.leaderChanged(leader);
    });
    host.onApplied((group, meta, result) => {
      if (group !== META_GROUP) return;
      this.applied = meta.index;
      const changes = (result as MetaResult).changes;
      if (changes.length > 0) {
        for (const l of this.changeListeners) guarded(this.logger, "metadata changes", () => l(changes));
      }
      this.settleWaiters();
    });
    rpc.handle(READ_INDEX_METHOD, async () => {
      await this.host.readIndex(META_GROUP);
      return this.applied;
    });
  }

  /**
   * A read barrier for this node's replica: resolves once it applied everything the metadata
   * group had committed when called (a readIndex at the leader, then this node applying up to
   * the index the leader answers). For decisions a lagging replica would get wrong, e.g. routing
   * a dead-letter to a queue declared through another node a moment ago. NO_QUORUM (or the
   * RPC's error) when there is no leader to ask.
   */
  async catchUp(): Promise<void> {
    const leader = this.leader();
    if (leader === undefined) throw new WarrenError("NO_QUORUM", "no metadata leader known");
    await this.catchUpAt(leader, this.timeoutMs);
  }

  /** `catchUp` through the barrier of `leader` (NotLeaderError if it no longer leads). */
  private async catchUpAt(leader: NodeId, timeoutMs: number): Promise<void> {
    if (leader === this.host.nodeId) {
      await this.host.readIndex(META_GROUP);
      return;
    }
    const index = await this.rpc.call<number>(leader, READ_INDEX_METHOD, {}, timeoutMs);
    await this.waitApplied(index, timeoutMs);
  }

  /** The nodes to try when no leader is known (the cluster changes as nodes join and leave). */
  setCandidates(candidates: () => readonly NodeId[]): void {
    this.candidates = candidates;
  }

  /**
   * Creates (or recovers) the metadata group. Listeners must be registered before. `voters`
   * is the group's configuration at index 0: the static cluster's nodes. A node that joined
   * the running cluster later starts with none, and is not a member until the leader's log (or
   * a snapshot) says so, as etcd's joining nodes do.
   */
  async start(): Promise<void> {
    await this.host.createGroup(META_GROUP, { voters: this.voters, machine: this.observed });
    // A recovered snapshot was restored inside createGroup; entries after it re-apply as changes.
  }

  onChanges(l: ChangeListener): void {
    this.changeListeners.push(l);
  }

  onRebuild(l: RebuildListener): void {
    this.rebuildListeners.push(l);
  }

  appliedIndex(): number {
    return this.applied;
  }

  leader(): NodeId | undefined {
    try {
      return this.host.leaderOf(META_GROUP);
    } catch {
      return undefined;
    }
  }

  /**
   * Proposes a command through the meta leader; resolves with its reply payload once this node
   * applied it (throws the reply's WarrenError, or NO_QUORUM).
   */
  async propose<T extends MetaCommand["type"]>(
    command: Extract<MetaCommand, { type: T }>,
  ): Promise<MetaReplies[T]> {
    const reply = (await this.proposer.propose(command)) as MetaReply<T> | undefined;
    if (reply === undefined) throw new WarrenError("INTERNAL_ERROR", "metadata reply missing");
    return unwrapReply(reply);
  }

  /**
   * Resolves once this node applied `index` (or a snapshot covering it). The entry is committed
   * already; if this replica cannot catch up within `timeoutMs` (cut off from the leader), the
   * caller is told NO_QUORUM rather than left waiting.
   */
  waitApplied(index: number, timeoutMs = this.timeoutMs): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { index, resolve: () => {} };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(
          new WarrenError(
            "NO_QUORUM",
            `the metadata change committed but this node did not apply it within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      w.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(w);
    });
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0) return;
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.index <= this.applied) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
