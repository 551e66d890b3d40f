/**
 * An in-process cluster of RaftHosts for the host tests: real Transport on loopback TCP and
 * real NodeStorage (LevelDB) in temp dirs. Nodes can be stopped and restarted on the same
 * port and data directory, as a process restart would.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GroupId, NodeId } from "../../core/types.js";
import { NotLeaderError } from "../../errors.js";
import { NodeStorage } from "../../storage/index.js";
import { Transport } from "../../transport/index.js";
import type { RaftHostOptions } from "../options.js";
import { RaftHost } from "../raft-host.js";
import { ListMachine } from "./list-machine.js";

export const SECRET = "host-test-secret";

/** Polls `cond` every 10 ms until it holds; throws with `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface TestNode {
  readonly id: NodeId;
  readonly dir: string;
  port: number;
  storage: NodeStorage;
  transport: Transport;
  host: RaftHost;
  /** The machine of each group on this node (a fresh one after each restart). */
  machines: Map<GroupId, ListMachine>;
}

type HostTuning = Omit<RaftHostOptions, "nodeId" | "storage" | "transport">;

export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Groups and their bootstrap voters, re-created on a restarted node. */
  private readonly groups = new Map<GroupId, NodeId[]>();

  private constructor(
    private readonly root: string,
    private readonly tuning: HostTuning,
  ) {}

  static async start(ids: readonly NodeId[], tuning: HostTuning = {}): Promise<TestCluster> {
    const root = await mkdtemp(join(tmpdir(), "warren-host-"));
    // Shorter election timeouts than production: loopback and tiny batches never stall long.
    const c = new TestCluster(root, { electionTick: 10, ...tuning });
    for (const id of ids) await c.boot(id, join(root, id), 0);
    for (const a of c.nodes.values()) {
      for (const b of c.nodes.values()) {
        if (a !== b) a.transport.setPeer(b.id, { host: "127.0.0.1", port: b.port });
      }
    }
    return c;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`node ${id} is not running`);
    return n;
  }

  /** Creates `group` on every running node (and remembers it for restarts). */
  async createGroup(group: GroupId, voters: NodeId[] = [...this.nodes.keys()]): Promise<void> {
    this.groups.set(group, voters);
    for (const n of this.nodes.values()) await this.createOn(n, group, voters);
  }

  /** A leader every running node (or every node of `among`) agrees on. */
  async leaderOf(group: GroupId, timeoutMs = 10_000, among?: readonly NodeId[]): Promise<NodeId> {
    let leader: NodeId | undefined;
    await waitUntil(
      () => {
        const nodes = [...this.nodes.values()].filter((n) => among === undefined || among.includes(n.id));
        const seen = nodes.map((n) => n.host.leaderOf(group));
        leader = seen[0];
        return leader !== undefined && seen.every((l) => l === leader) && this.nodes.has(leader);
      },
      `a leader of ${group}`,
      timeoutMs,
    );
    return leader!;
  }

  /** Proposes through whichever node leads, following NotLeaderError hints. */
  async propose<R>(group: GroupId, command: unknown, timeoutMs = 10_000): Promise<R> {
    const deadline = Date.now() + timeoutMs;
    let target = await this.leaderOf(group, timeoutMs);
    for (;;) {
      try {
        return await this.node(target).host.propose<R>(group, command);
      } catch (err) {
        if (!(err instanceof NotLeaderError) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 10));
        target =
          err.leaderHint !== undefined && this.nodes.has(err.leaderHint)
            ? err.leaderHint
            : await this.leaderOf(group);
      }
    }
  }

  /** Stops a node as a clean shutdown would (host, transport, storage). */
  async stopNode(id: NodeId, opts: { transferLeadership?: boolean } = {}): Promise<void> {
    const n = this.node(id);
    this.nodes.delete(id);
    await n.host.stop(opts);
    await n.transport.close();
    await n.storage.close();
  }

  /** Restarts a stopped node on its port and data directory; its groups recover from storage. */
  async restartNode(id: NodeId, port: number): Promise<TestNode> {
    const n = await this.boot(id, join(this.root, id), port);
    for (const other of this.nodes.values()) {
      if (other !== n) n.transport.setPeer(other.id, { host: "127.0.0.1", port: other.port });
    }
    for (const [group, voters] of this.groups) await this.createOn(n, group, voters);
    return n;
  }

  async close(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.stopNode(id);
    await rm(this.root, { recursive: true, force: true });
  }

  private async createOn(n: TestNode, group: GroupId, voters: NodeId[]): Promise<void> {
    const machine = new ListMachine();
    n.machines.set(group, machine);
    await n.host.createGroup(group, { voters, machine });
  }

  private async boot(id: NodeId, dir: string, port: number): Promise<TestNode> {
    const storage = await NodeStorage.open(dir);
    const transport = new Transport({
      nodeId: id,
      listen: { host: "127.0.0.1", port },
      peers: new Map(),
      secret: SECRET,
    });
    await transport.start();
    const host = new RaftHost({ nodeId: id, storage, transport, ...this.tuning });
    await host.start();
    const n: TestNode = {
      id,
      dir,
      port: transport.address().port,
      storage,
      transport,
      host,
      machines: new Map(),
    };
    this.nodes.set(id, n);
    return n;
  }
}
