/**
 * The launcher's and the ctl CLI's pure parts: the port layout and node environments, flag
 * parsing, and reading a node's /metrics. (The processes themselves: cluster-tests/launcher.test.ts.)
 */
import { describe, expect, it } from "vitest";
import type { ApiClient } from "./api-client.js";
import { amqpClientUrl, describePorts, planCluster, planJoiningNode } from "./cluster-plan.js";
import { gatherStatus } from "./cluster-status.js";
import { DEFAULT_URLS, parseCtlArgs } from "./ctl-args.js";
import { parseLauncherArgs } from "./launcher-args.js";
import { groupViews, parsePromText } from "./prom-text.js";
import { renderTable } from "./table.js";

const base = { host: "127.0.0.1", dataDir: "/d", secretFile: "/d/cluster-secret" };

describe("planCluster", () => {
  it("lays three nodes out on RabbitMQ's ports, each peering with the other two", () => {
    const plan = planCluster({ ...base, nodes: 3, ports: { amqp: 5672, http: 15672, raft: 25672 } });
    expect(plan.map((n) => [n.id, n.amqpPort, n.httpPort, n.raftPort, n.dataDir])).toEqual([
      ["n1", 5672, 15672, 25672, "/d/n1"],
      ["n2", 5673, 15673, 25673, "/d/n2"],
      ["n3", 5674, 15674, 25674, "/d/n3"],
    ]);
    expect(plan[1]?.env).toMatchObject({
      WARREN_NODE_ID: "n2",
      WARREN_HTTP_PORT: "15673",
      WARREN_CLUSTER_SECRET_FILE: "/d/cluster-secret",
      WARREN_PEERS:
        "n1=127.0.0.1:25672;amqp=127.0.0.1:5672;http=127.0.0.1:15672,n3=127.0.0.1:25674;amqp=127.0.0.1:5674;http=127.0.0.1:15674",
    });
    expect(describePorts(plan)).toContainEqual({ port: 25674, what: "Raft of n3" });
  });

  it("runs a single node without peers", () => {
    const [only] = planCluster({ ...base, nodes: 1, ports: { amqp: 5672, http: 15672, raft: 25672 } });
    expect(only?.env.WARREN_PEERS).toBeUndefined();
  });

  it("refuses overlapping port ranges and impossible sizes", () => {
    expect(() => planCluster({ ...base, nodes: 3, ports: { amqp: 7000, http: 7001, raft: 9000 } })).toThrow(
      /port 7001 would be used twice/,
    );
    expect(() => planCluster({ ...base, nodes: 0, ports: { amqp: 1, http: 100, raft: 200 } })).toThrow(
      /--nodes/,
    );
    expect(() => planCluster({ ...base, nodes: 3, ports: { amqp: 65534, http: 100, raft: 200 } })).toThrow(
      /no room/,
    );
  });
});

describe("add-node (a node joining the running local cluster)", () => {
  const ports = { amqp: 5672, http: 15672, raft: 25672 };
  it("plans n<N+1> on the next ports, joining, with every running node as its peer", () => {
    const n4 = planJoiningNode({ ...base, nodes: 3, ports });
    expect([n4.id, n4.amqpPort, n4.httpPort, n4.raftPort, n4.dataDir]).toEqual([
      "n4",
      5675,
      15675,
      25675,
      "/d/n4",
    ]);
    expect(n4.env.WARREN_JOIN).toBe("true");
    expect(n4.env.WARREN_PEERS?.split(",").map((p) => p.split("=")[0])).toEqual(["n1", "n2", "n3"]);
    expect(n4.env.WARREN_RAFT_ADVERTISE).toBeUndefined();
    const anyHost = planJoiningNode({ ...base, host: "0.0.0.0", nodes: 3, ports });
    expect(anyHost.env).toMatchObject({ WARREN_RAFT_HOST: "0.0.0.0", WARREN_RAFT_ADVERTISE: "127.0.0.1" });
    expect(() => planJoiningNode({ ...base, nodes: 9, ports })).toThrow(/at most 9 nodes/);
  });

  it("is a command of the launcher; --fresh and other commands are refused", () => {
    expect(parseLauncherArgs(["add-node", "--nodes", "4"])).toMatchObject({ addNode: true, nodes: 4 });
    expect(parseLauncherArgs([]).addNode).toBe(false);
    expect(() => parseLauncherArgs(["add-node", "--fresh"])).toThrow(/empty data directory under its old id/);
    expect(() => parseLauncherArgs(["remove-node"])).toThrow(/unknown command "remove-node"/);
  });
});

describe("launcher flags", () => {
  it("defaults to three nodes on RabbitMQ's ports with data in ./data", () => {
    expect(parseLauncherArgs([])).toMatchObject({
      nodes: 3,
      ports: { amqp: 5672, http: 15672, raft: 25672 },
      dataDir: "./data",
      fresh: false,
    });
  });

  it("moves the whole layout with --base-port, single ports with their own flag", () => {
    expect(parseLauncherArgs(["--base-port", "6672", "--raft-port=40000", "--fresh"])).toMatchObject({
      ports: { amqp: 6672, http: 16672, raft: 40000 },
      fresh: true,
    });
    expect(() => parseLauncherArgs(["--nodes", "three"])).toThrow(/--nodes expects a whole number/);
    expect(() => parseLauncherArgs(["--bogus"])).toThrow();
  });
});

describe("ctl flags", () => {
  it("tries the three local nodes as guest by default", () => {
    expect(parseCtlArgs(["status"])).toMatchObject({
      command: "status",
      urls: [...DEFAULT_URLS],
      user: "guest",
    });
  });

  it("takes fallback URLs repeated or comma-separated", () => {
    const a = parseCtlArgs([
      "get",
      "q",
      "--url",
      "http://h:1/,http://h:2",
      "--url=http://h:3",
      "--count",
      "5",
    ]);
    expect(a).toMatchObject({
      command: "get",
      positionals: ["q"],
      urls: ["http://h:1", "http://h:2", "http://h:3"],
      count: 5,
    });
    expect(() => parseCtlArgs(["status", "--url", "h:1"])).toThrow(/--url expects/);
  });
});

describe("metrics text", () => {
  it("reads each group's term, indexes and leader", () => {
    const text = [
      "# HELP warren_raft_term Current Raft term",
      "# TYPE warren_raft_term gauge",
      'warren_raft_term{group="meta",vhost="",queue=""} 2',
      'warren_raft_commit_index{group="q:/:a \\"b\\":1",vhost="/",queue="a \\"b\\""} 17',
      'warren_raft_applied_index{group="q:/:a \\"b\\":1",vhost="/",queue="a \\"b\\""} 16',
      'warren_raft_is_leader{group="meta",vhost="",queue=""} 1',
      'warren_raft_leader{group="meta",vhost="",queue="",leader="n1"} 1',
      "warren_raft_groups 2",
    ].join("\n");
    const views = groupViews(parsePromText(text));
    expect(views.get("meta")).toMatchObject({ term: 2, isLeader: true, leader: "n1" });
    expect(views.get('q:/:a "b":1')).toMatchObject({ queue: 'a "b"', commit: 17, applied: 16 });
  });
});

describe("renderTable", () => {
  it("aligns columns", () => {
    expect(renderTable(["A", "BB"], [["xyz", "1"]])).toBe("A    BB\nxyz  1");
  });
});

describe("amqpClientUrl", () => {
  it("is the AMQP URL of the listener the node's ready record reports, with the dev user", () => {
    expect(amqpClientUrl("127.0.0.1", "127.0.0.1:5673", 5673)).toBe("amqp://guest:guest@127.0.0.1:5673");
    // Bound on every interface: clients use loopback (the launcher passes its client host).
    expect(amqpClientUrl("127.0.0.1", "0.0.0.0:6672", 6672)).toBe("amqp://guest:guest@127.0.0.1:6672");
    expect(amqpClientUrl("[::1]", "[::]:5672", 5672)).toBe("amqp://guest:guest@[::1]:5672");
  });

  it("falls back to the planned port when the ready record names none", () => {
    expect(amqpClientUrl("127.0.0.1", undefined, 5674)).toBe("amqp://guest:guest@127.0.0.1:5674");
  });
});

describe("warren status: node states", () => {
  it("a node the cluster reports running but whose advertised HTTP address does not answer from here is unreachable, not down", async () => {
    const nodes = [
      { name: "n1", running: true, http_listener: "127.0.0.1:15672", raft_listener: "n1:25672" },
      { name: "n2", running: true, http_listener: "n2:15672", raft_listener: "n2:25672" },
      { name: "n3", running: false, http_listener: "n3:15672", raft_listener: "n3:25672" },
    ];
    const answers: Record<string, unknown> = {
      "/api/overview": { node: "n1" },
      "/api/nodes": nodes,
      "/api/queues": [],
    };
    const api = {
      url: "http://127.0.0.1:15672",
      request: async (_method: string, path: string) => answers[path],
      // Only n1's address answers from here (as from a host outside a compose network).
      text: async (base: string, path: string) =>
        base === "http://127.0.0.1:15672" ? { status: 200, text: path === "/ready" ? "ok" : "" } : undefined,
    } as unknown as ApiClient;
    const status = await gatherStatus(api);
    expect(status.nodes.map((n) => [n.id, n.state])).toEqual([
      ["n1", "ready"],
      ["n2", "unreachable"],
      ["n3", "down"],
    ]);
  });
});
