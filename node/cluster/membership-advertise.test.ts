/**
 * Advertised addresses, end to end through the node's own config: a node bound to every
 * interface (as in a container) joins the running cluster because it records `raft.advertise`,
 * the address its peers dial, and the others report that address in `GET /api/nodes`.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePorts } from "../../cluster-tests/harness/ports.js";
import { eventually } from "../broker/test/harness.js";
import { parseConfig } from "../config/index.js";
import { type NodeHandle, startNode } from "../node.js";

const SECRET = "advertise-test-secret-0123456789";
const nodes: NodeHandle[] = [];
const dirs: string[] = [];

afterAll(async () => {
  await Promise.allSettled(nodes.map((n) => n.kill()));
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** Fast ticks so elections and the join take well under a second on an idle machine. */
async function boot(id: string, env: Record<string, string>): Promise<NodeHandle> {
  const dir = await mkdtemp(join(tmpdir(), `warren-advertise-${id}-`));
  dirs.push(dir);
  const config = parseConfig({
    argv: [],
    env: {
      WARREN_NODE_ID: id,
      WARREN_DATA_DIR: dir,
      WARREN_CLUSTER_SECRET: SECRET,
      WARREN_RAFT_TICK_MS: "10",
      WARREN_RAFT_ELECTION_TICK: "30",
      WARREN_RAFT_HEARTBEAT_TICK: "2",
      WARREN_AMQP_HOST: "127.0.0.1",
      WARREN_HTTP_HOST: "127.0.0.1",
      ...env,
    },
  });
  const node = await startNode(config);
  nodes.push(node);
  return node;
}

describe("a node bound to 0.0.0.0 joins with raft.advertise", () => {
  it("is dialled at its advertised address, votes in the metadata group, and is listed with it", async () => {
    const ports = await freePorts(3 * 3);
    const [r1, r2, r3] = ports;
    const raft = [r1!, r2!, r3!];
    const peersOf = (i: number) =>
      raft
        .map((p, j) => (j === i ? undefined : `n${j + 1}=127.0.0.1:${p}`))
        .filter((x) => x !== undefined)
        .join(",");
    const first = await Promise.all(
      [0, 1, 2].map((i) =>
        boot(`n${i + 1}`, {
          WARREN_RAFT_HOST: "127.0.0.1",
          WARREN_RAFT_PORT: String(raft[i]),
          WARREN_AMQP_PORT: String(ports[3 + i]),
          WARREN_HTTP_PORT: String(ports[6 + i]),
          WARREN_PEERS: peersOf(i),
        }),
      ),
    );
    await eventually("the first three ready", () => first.every((n) => n.broker.isReady()), 20_000);

    const [r4] = await freePorts(1, "0.0.0.0");
    const [amqp4, http4] = await freePorts(2);
    const n4 = await boot("n4", {
      WARREN_JOIN: "true",
      WARREN_RAFT_HOST: "0.0.0.0",
      WARREN_RAFT_PORT: String(r4),
      // A host alone keeps the listen port.
      WARREN_RAFT_ADVERTISE: "127.0.0.1",
      WARREN_AMQP_PORT: String(amqp4),
      WARREN_AMQP_ADVERTISE: `localhost:${amqp4}`,
      WARREN_HTTP_PORT: String(http4),
      WARREN_HTTP_ADVERTISE: "localhost",
      WARREN_PEERS: raft.map((p, j) => `n${j + 1}=127.0.0.1:${p}`).join(","),
    });
    expect(n4.raftAddress.host).toBe("0.0.0.0");
    await eventually("n4 ready: a voter of the metadata group", () => n4.broker.isReady(), 30_000);
    // As main.ts does once the doors listen: the bound addresses do not replace the advertised ones.
    n4.broker.setListeners({ amqp: `0.0.0.0:${amqp4}`, http: `0.0.0.0:${http4}` });
    const listed = await eventually("n1 lists n4 running", async () => {
      const all = await first[0]!.broker.listNodes();
      const me = all.find((n) => n.name === "n4");
      return me?.running === true ? me : undefined;
    });
    expect(listed).toMatchObject({
      raft: `127.0.0.1:${r4}`,
      amqp: `localhost:${amqp4}`,
      http: `localhost:${http4}`,
    });
    // Every first node dialled n4 at the advertised address, not at 0.0.0.0.
    await eventually("every node connected to n4", () => first.every((n) => n.transport.isPeerUp("n4")));
  });
});
