import { describe, expect, it } from "vitest";
import * as D from "./defaults.js";
import { ConfigError } from "./errors.js";
import { type ConfigSources, parseConfig, resolveConfig } from "./parse.js";

const SECRET = "s3cret-s3cret-s3cret";

function files(map: Record<string, string>): (path: string) => string {
  return (path) => {
    const text = map[path];
    if (text === undefined) throw new Error(`ENOENT: no such file or directory, open '${path}'`);
    return text;
  };
}

/** The problems a bad config reports (fails the test if it does not throw ConfigError). */
function problemsOf(sources: Partial<ConfigSources>): readonly string[] {
  try {
    parseConfig({ argv: [], env: {}, ...sources });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  const c = parseConfig({ argv: [], env: {} });

  it("a node with no configuration uses RabbitMQ's defaults", () => {
    expect(c.amqp).toEqual({
      host: "0.0.0.0",
      port: 5672,
      heartbeat: 60,
      frameMax: 131072,
      channelMax: 2047,
    });
    expect(c.http.port).toBe(15672);
    expect(c.raft.port).toBe(25672);
    expect(c.maxMessageSize).toBe(128 * 1024 * 1024);
    expect(c.backpressure.memoryHighWatermark).toBe(0.4);
    expect(c.auth).toEqual({
      defaultUser: "guest",
      defaultPass: "guest",
      defaultVhost: "/",
      loopbackUsers: ["guest"],
    });
    expect(c.quorum.initialGroupSize).toBe(3);
    expect(c.nodeDownGraceMs).toBe(15_000);
    expect(c.log).toEqual({ level: "info", pretty: false });
    expect(c.peers).toEqual([]);
    expect(c.clusterSecret).toBeUndefined();
  });

  it("the data dir defaults to one folder per node id", () => {
    expect(c.dataDir).toBe("data/n1");
    expect(parseConfig({ argv: ["--node-id", "n7"], env: {} }).dataDir).toBe("data/n7");
  });

  it("the config is deeply frozen", () => {
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.amqp)).toBe(true);
    expect(Object.isFrozen(c.auth.loopbackUsers)).toBe(true);
    expect(() => {
      (c.amqp as { port: number }).port = 1;
    }).toThrow(TypeError);
  });
});

describe("precedence: defaults < file < environment < flags", () => {
  const readFile = files({
    "n.json": JSON.stringify({ amqp: { port: 6000, heartbeat: 30 }, nodeId: "file" }),
  });

  it("each layer overrides the one below it, and origins say which layer won", () => {
    const { config, origins } = resolveConfig({
      argv: ["--config", "n.json", "--amqp-port=6002"],
      env: { WARREN_AMQP_PORT: "6001", WARREN_NODE_ID: "env" },
      readFile,
    });
    expect(config.amqp.port).toBe(6002);
    expect(config.amqp.heartbeat).toBe(30);
    expect(config.nodeId).toBe("env");
    expect(config.http.port).toBe(D.DEFAULT_HTTP_PORT);
    expect(origins.get("amqp.port")).toBe("--amqp-port");
    expect(origins.get("amqp.heartbeat")).toBe("n.json: amqp.heartbeat");
    expect(origins.get("nodeId")).toBe("WARREN_NODE_ID");
    expect(origins.get("http.port")).toBe("default");
  });

  it("WARREN_CONFIG names the file when --config does not", () => {
    expect(parseConfig({ argv: [], env: { WARREN_CONFIG: "n.json" }, readFile }).amqp.port).toBe(6000);
  });

  it("the file accepts dotted keys as well as nested objects", () => {
    const c = parseConfig({
      argv: ["--config", "d.json"],
      env: {},
      readFile: files({ "d.json": '{"amqp.port": 7000, "log": {"level": "debug"}}' }),
    });
    expect(c.amqp.port).toBe(7000);
    expect(c.log.level).toBe("debug");
  });

  it("an empty environment variable counts as unset", () => {
    expect(parseConfig({ argv: [], env: { WARREN_AMQP_PORT: "" } }).amqp.port).toBe(5672);
  });
});

describe("flags", () => {
  it("a boolean flag alone means true and does not swallow the next flag", () => {
    const c = parseConfig({ argv: ["--log-pretty", "--node-id", "n2"], env: {} });
    expect(c.log.pretty).toBe(true);
    expect(c.nodeId).toBe("n2");
    expect(parseConfig({ argv: ["--log-pretty=false"], env: { WARREN_LOG_PRETTY: "yes" } }).log.pretty).toBe(
      false,
    );
  });

  it("the node-down grace period comes from a flag or the environment", () => {
    expect(parseConfig({ argv: ["--node-down-grace-ms", "2500"], env: {} }).nodeDownGraceMs).toBe(2500);
    expect(parseConfig({ argv: [], env: { WARREN_NODE_DOWN_GRACE_MS: "30000" } }).nodeDownGraceMs).toBe(
      30_000,
    );
    expect(problemsOf({ argv: ["--node-down-grace-ms", "0"] })).toHaveLength(1);
  });

  it("sizes take units", () => {
    const c = parseConfig({ argv: ["--max-message-size", "16MiB", "--http-body-limit=20MB"], env: {} });
    expect(c.maxMessageSize).toBe(16 * 1024 * 1024);
    expect(c.http.bodyLimit).toBe(20_000_000);
  });

  it("--help is not a setting and not an error", () => {
    expect(parseConfig({ argv: ["--help"], env: {} }).nodeId).toBe("n1");
  });
});

describe("peers and the cluster secret", () => {
  it("WARREN_PEERS lists the other nodes with optional AMQP and HTTP addresses", () => {
    const c = parseConfig({
      argv: [],
      env: {
        WARREN_NODE_ID: "n1",
        WARREN_PEERS: "n3=127.0.0.1:7003, n2=127.0.0.1:7002;amqp=127.0.0.1:5673;http=localhost:15673",
        WARREN_CLUSTER_SECRET: SECRET,
      },
    });
    expect(c.peers).toEqual([
      {
        id: "n2",
        raft: { host: "127.0.0.1", port: 7002 },
        amqp: { host: "127.0.0.1", port: 5673 },
        http: { host: "localhost", port: 15673 },
      },
      { id: "n3", raft: { host: "127.0.0.1", port: 7003 } },
    ]);
    expect(c.clusterSecret).toBe(SECRET);
  });

  it("the file gives peers as an object", () => {
    const c = parseConfig({
      argv: ["--config", "c.json"],
      env: {},
      readFile: files({
        "c.json": JSON.stringify({
          clusterSecret: SECRET,
          peers: { n2: "[::1]:7002", n3: { raft: "127.0.0.1:7003", http: "127.0.0.1:15674" } },
        }),
      }),
    });
    expect(c.peers).toEqual([
      { id: "n2", raft: { host: "::1", port: 7002 } },
      { id: "n3", raft: { host: "127.0.0.1", port: 7003 }, http: { host: "127.0.0.1", port: 15674 } },
    ]);
  });

  it("the secret can come from a file, without its trailing newline", () => {
    const c = parseConfig({
      argv: [],
      env: { WARREN_CLUSTER_SECRET_FILE: "/run/secret", WARREN_PEERS: "n2=h2:1" },
      readFile: files({ "/run/secret": `${SECRET}\n` }),
    });
    expect(c.clusterSecret).toBe(SECRET);
  });

  it("a short secret in a file is refused without echoing it", () => {
    const problems = problemsOf({
      env: { WARREN_CLUSTER_SECRET_FILE: "/run/secret" },
      readFile: files({ "/run/secret": "tooshort\n" }),
    });
    expect(problems).toEqual([
      "WARREN_CLUSTER_SECRET_FILE: the file must hold a secret of at least 16 characters",
    ]);
  });

  it("peers without a secret, peers listing this node, and duplicate peer addresses are refused", () => {
    const problems = problemsOf({
      env: { WARREN_NODE_ID: "n1", WARREN_PEERS: "n1=127.0.0.1:7001,n2=127.0.0.1:7002,n3=127.0.0.1:7002" },
    });
    expect(problems).toEqual([
      `peers (WARREN_PEERS): lists this node's own id "n1"; list only the other nodes`,
      "clusterSecret: required when peers are configured (set WARREN_CLUSTER_SECRET or WARREN_CLUSTER_SECRET_FILE)",
      "peers (WARREN_PEERS): n2 and n3 have the same raft address 127.0.0.1:7002",
    ]);
  });

  it("malformed peer lists say what is wrong with each entry", () => {
    expect(problemsOf({ env: { WARREN_PEERS: "n2=nohost,n3,n4=h:1;smtp=h:2,n4=h:3" } })).toEqual([
      `WARREN_PEERS: peer n2 raft: expected host:port, got "nohost"; expected "id=host:port", got "n3"; ` +
        `peer n4: unknown address "smtp" (expected amqp or http); peer n4 is listed twice`,
    ]);
  });

  it("a secret given both directly and by file is ambiguous", () => {
    const problems = problemsOf({
      env: { WARREN_CLUSTER_SECRET: SECRET, WARREN_CLUSTER_SECRET_FILE: "/s" },
      readFile: files({ "/s": SECRET }),
    });
    expect(problems).toEqual([
      "WARREN_CLUSTER_SECRET_FILE: the cluster secret is also set by WARREN_CLUSTER_SECRET; set only one of them",
    ]);
  });
});

describe("validation lists every problem, each naming its source", () => {
  it("bad values from every layer at once", () => {
    const problems = problemsOf({
      argv: ["--config", "bad.json", "--heartbeat", "5", "--amqp-frame-max", "100", "stray"],
      env: { WARREN_AMQP_PORT: "abc", WARREN_LOG_LEVEL: "loud", WARREN_AMQP_PROT: "1" },
      readFile: files({
        "bad.json": JSON.stringify({ amqp: { port: "5672", hots: "x" }, http: 1, colour: "blue" }),
      }),
    });
    expect(problems).toEqual([
      // An unknown flag takes its value with it, so "5" is not reported a second time.
      "--heartbeat: unknown flag",
      `unexpected argument "stray" (settings are given as --name value)`,
      "WARREN_AMQP_PROT: unknown environment variable (did you mean WARREN_AMQP_PORT?)",
      `bad.json: unknown key "amqp.hots" (did you mean amqp.host?)`,
      "bad.json: http: expected an object, got 1",
      `bad.json: unknown key "colour"`,
      `bad.json: amqp.port: expected an integer 0-65535, got "5672"`,
      `WARREN_AMQP_PORT: expected an integer 0-65535, got "abc"`,
      '--amqp-frame-max: expected an integer 4096-2147483647, got "100"',
      `WARREN_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"`,
    ]);
  });

  it("a missing or malformed config file is reported", () => {
    expect(problemsOf({ argv: ["--config", "nope.json"], readFile: files({}) })).toEqual([
      `--config: cannot read "nope.json" (ENOENT: no such file or directory, open 'nope.json')`,
    ]);
    expect(problemsOf({ argv: ["--config", "x.json"], readFile: files({ "x.json": "[1]" }) })).toEqual([
      "x.json: expected a JSON object at the top level",
    ]);
    expect(problemsOf({ argv: ["--config", "x.json"], readFile: files({ "x.json": "{" }) })[0]).toMatch(
      /^x\.json: not valid JSON/,
    );
  });

  it("two listeners on the same port of overlapping addresses", () => {
    expect(problemsOf({ argv: ["--http-port", "5672"] })).toEqual([
      "amqp.port and http.port (--http-port): both listen on port 5672 (0.0.0.0 and 0.0.0.0)",
    ]);
    // Different specific addresses may share a port, and port 0 means "any free port".
    expect(() =>
      parseConfig({
        argv: [
          "--amqp-host",
          "127.0.0.1",
          "--http-host",
          "127.0.0.2",
          "--http-port",
          "5672",
          "--raft-port",
          "0",
        ],
        env: { WARREN_AMQP_PORT: "0" },
      }),
    ).not.toThrow();
  });

  it("a missing flag value, and settings that contradict each other", () => {
    expect(
      problemsOf({
        argv: [
          "--raft-election-tick",
          "2",
          "--raft-heartbeat-tick",
          "2",
          "--raft-peer-queue-bytes",
          "64MiB",
          "--node-id",
        ],
      }),
    ).toEqual([
      "--node-id: missing value (expected a node id (letters, digits, '_', '.', '@', '-'; at most 64 characters))",
      "raft.electionTick (--raft-election-tick): must be greater than raft.heartbeatTick (2 <= 2)",
      "raft.peerQueueBytes (--raft-peer-queue-bytes): must be at least maxMessageSize + raft.maxSizePerMsg (135266304) so a largest message can be replicated, got 67108864",
    ]);
  });

  it("a fallback value never produces a second message about the same mistake", () => {
    // The bad port falls back to 5672; that must not also be reported as clashing with AMQP.
    expect(problemsOf({ env: { WARREN_HTTP_PORT: "x" }, argv: ["--amqp-port", "15672"] })).toEqual([
      `WARREN_HTTP_PORT: expected an integer 0-65535, got "x"`,
    ]);
  });

  it("ConfigError's message lists the problems one per line", () => {
    try {
      parseConfig({ argv: [], env: { WARREN_AMQP_PORT: "70000", WARREN_QUORUM_INITIAL_GROUP_SIZE: "0" } });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toBe(
        "invalid configuration (2 problems):\n" +
          `  - WARREN_AMQP_PORT: expected an integer 0-65535, got "70000"\n` +
          `  - WARREN_QUORUM_INITIAL_GROUP_SIZE: expected an integer 1-255, got "0"`,
      );
    }
  });

  it("an empty --config is one problem, not two", () => {
    expect(problemsOf({ argv: ["--config="], readFile: files({}) })).toEqual([
      `--config: expected a path, got ""`,
    ]);
  });

  it("clusterSecretFile may be in the file but --config may not", () => {
    expect(
      problemsOf({ argv: ["--config", "c.json"], readFile: files({ "c.json": '{"config": "other.json"}' }) }),
    ).toEqual(["c.json: config cannot be set in the config file"]);
  });
});

describe("advertised addresses (etcd's advertise URLs)", () => {
  it("come from the environment, flags or the file, as host:port or a host alone", () => {
    const c = parseConfig({
      argv: ["--http-advertise", "[2001:db8::1]:15999"],
      env: { WARREN_RAFT_ADVERTISE: "n4.internal:25672", WARREN_AMQP_ADVERTISE: "10.0.0.4" },
    });
    expect(c.raft.advertise).toEqual({ host: "n4.internal", port: 25672 });
    expect(c.amqp.advertise).toEqual({ host: "10.0.0.4" });
    expect(c.http.advertise).toEqual({ host: "2001:db8::1", port: 15999 });
    const fromFile = parseConfig({
      argv: [],
      env: { WARREN_CONFIG: "n4.json" },
      readFile: files({ "n4.json": JSON.stringify({ raft: { host: "0.0.0.0", advertise: "n4:25672" } }) }),
    });
    expect(fromFile.raft).toMatchObject({ host: "0.0.0.0", advertise: { host: "n4", port: 25672 } });
    expect(parseConfig({ argv: [], env: {} }).raft.advertise).toBeUndefined();
  });

  it("a bind-all or malformed advertised address is refused with what to give instead", () => {
    const problems = problemsOf({
      env: {
        WARREN_RAFT_ADVERTISE: "0.0.0.0:25672",
        WARREN_HTTP_ADVERTISE: "::",
        WARREN_AMQP_ADVERTISE: "a b:1",
      },
    });
    expect(problems).toEqual([
      'WARREN_AMQP_ADVERTISE: expected host:port or host that the other nodes can dial (not 0.0.0.0 or ::), got "a b:1"',
      'WARREN_HTTP_ADVERTISE: "::" is a bind-all address, which no other node can dial: give this node\'s host name or IP address',
      'WARREN_RAFT_ADVERTISE: "0.0.0.0:25672" is a bind-all address, which no other node can dial: give this node\'s host name or IP address',
    ]);
    expect(problemsOf({ env: { WARREN_RAFT_ADVERTISE: "n4:0" } })[0]).toMatch(/expected host:port or host/);
  });

  it("joining while bound to every interface needs raft.advertise", () => {
    const env = {
      WARREN_NODE_ID: "n4",
      WARREN_JOIN: "true",
      WARREN_PEERS: "n1=10.0.0.1:25672",
      WARREN_CLUSTER_SECRET: SECRET,
    };
    expect(problemsOf({ env })).toEqual([
      "join (WARREN_JOIN): the other nodes dial the Raft address this node records when it joins, and raft.host is 0.0.0.0; set raft.advertise (WARREN_RAFT_ADVERTISE) to a host or host:port they reach, or raft.host to such an address",
    ]);
    expect(parseConfig({ argv: [], env: { ...env, WARREN_RAFT_ADVERTISE: "10.0.0.4" } }).join).toBe(true);
    expect(parseConfig({ argv: [], env: { ...env, WARREN_RAFT_HOST: "10.0.0.4" } }).join).toBe(true);
  });
});
