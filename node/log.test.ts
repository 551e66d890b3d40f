import { describe, expect, it } from "vitest";
import type { Logger } from "../raft/logger.js";
import { parseConfig } from "./config/parse.js";
import {
  CENSOR,
  createRootLogger,
  forChannel,
  forConnection,
  formatPretty,
  forNode,
  forQueue,
  type LogConfig,
  prettyDestination,
} from "./log.js";

const SECRET = "cluster-secret-0123456789";

function capture(config: Partial<LogConfig> & { level?: LogConfig["log"]["level"]; pretty?: boolean } = {}) {
  const chunks: string[] = [];
  const destination = { write: (s: string) => void chunks.push(s) };
  const log = createRootLogger(
    {
      nodeId: config.nodeId ?? "n1",
      log: { level: config.level ?? "info", pretty: config.pretty ?? false },
      clusterSecret: config.clusterSecret,
    },
    { destination, now: () => Date.UTC(2024, 0, 2, 3, 4, 5, 678) },
  );
  const records = () =>
    chunks
      .join("")
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, chunks, records };
}

describe("the root logger", () => {
  it("writes one JSON line per record, tagged with the node id", () => {
    const { log, chunks, records } = capture();
    log.info({ port: 5672 }, "listening");
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.endsWith("\n")).toBe(true);
    expect(records()[0]).toMatchObject({
      level: 30,
      node: "n1",
      port: 5672,
      msg: "listening",
      time: 1704164645678,
    });
  });

  it("honours the configured level", () => {
    const { log, records } = capture({ level: "warn" });
    log.info({}, "dropped");
    log.warn({}, "kept");
    expect(records().map((r) => r.msg)).toEqual(["kept"]);
    const silent = capture({ level: "silent" });
    silent.log.fatal({}, "nothing");
    expect(silent.chunks).toEqual([]);
  });

  it("is built from a parsed NodeConfig and satisfies raft's Logger interface", () => {
    const config = parseConfig({ argv: ["--log-level", "debug", "--node-id", "n9"], env: {} });
    const chunks: string[] = [];
    const root = createRootLogger(config, { destination: { write: (s) => void chunks.push(s) } });
    const raftLogger: Logger = root.child({ group: "meta" });
    raftLogger.debug({ term: 3 }, "became leader");
    expect(JSON.parse(chunks[0]!)).toMatchObject({
      node: "n9",
      group: "meta",
      term: 3,
      msg: "became leader",
    });
  });
});

describe("child loggers carry the shared field names", () => {
  it("{node}, {group, queue}, {conn, channel}", () => {
    const { log, records } = capture();
    forNode(log, "n2").info({}, "a");
    forQueue(log, { group: "q:/:orders", queue: "orders", vhost: "/" }).info({}, "b");
    const conn = forConnection(log, "127.0.0.1:50000");
    conn.info({}, "c");
    forChannel(conn, undefined, 7).info({}, "d");
    forChannel(log, "127.0.0.1:50001", 1).info({}, "e");
    const [a, b, c, d, e] = records();
    expect(a).toMatchObject({ node: "n2" });
    expect(b).toMatchObject({ node: "n1", group: "q:/:orders", queue: "orders", vhost: "/" });
    expect(c).toMatchObject({ conn: "127.0.0.1:50000" });
    expect(d).toMatchObject({ conn: "127.0.0.1:50000", channel: 7 });
    expect(e).toMatchObject({ conn: "127.0.0.1:50001", channel: 1 });
  });
});

describe("secrets never reach the output", () => {
  it("fields named like secrets are redacted at the top level and one level down", () => {
    const { log, chunks, records } = capture();
    log.info(
      {
        password: "hunter2",
        user: { name: "guest", password: "guest-pass" },
        req: { headers: { authorization: "Basic Z3Vlc3Q6Z3Vlc3Q=" } },
        config: { clusterSecret: "abc", auth: { defaultPass: "dp" } },
      },
      "login",
    );
    const [r] = records();
    expect(r!.password).toBe(CENSOR);
    expect(r!.user).toEqual({ name: "guest", password: CENSOR });
    expect(r!.req).toEqual({ headers: { authorization: CENSOR } });
    expect(r!.config).toEqual({ clusterSecret: CENSOR, auth: { defaultPass: CENSOR } });
    for (const s of ["hunter2", "guest-pass", "Z3Vlc3Q6Z3Vlc3Q", 'dp"'])
      expect(chunks.join("")).not.toContain(s);
  });

  it("the cluster secret's value is scrubbed wherever it appears", () => {
    const { log, chunks } = capture({ clusterSecret: SECRET });
    log.error(
      { err: new Error(`handshake failed with key ${SECRET}`), detail: { deep: { deeper: SECRET } } },
      SECRET,
    );
    const out = chunks.join("");
    expect(out).not.toContain(SECRET);
    expect(out).toContain(`handshake failed with key ${CENSOR}`);
    expect(JSON.parse(out).msg).toBe(CENSOR);
  });

  it("a secret with JSON-escaped characters is scrubbed in its escaped form too", () => {
    const tricky = 'quote"back\\slash-secret';
    const { log, chunks } = capture({ clusterSecret: tricky });
    log.info({ leaked: tricky }, "x");
    expect(chunks.join("")).not.toContain(JSON.stringify(tricky).slice(1, -1));
    expect(JSON.parse(chunks[0]!).leaked).toBe(CENSOR);
  });
});

describe("pretty output", () => {
  it("prints one readable line per record with its context and fields", () => {
    const out: string[] = [];
    const log = createRootLogger(
      { nodeId: "n1", log: { level: "info", pretty: true } },
      {
        destination: { write: (s: string) => void out.push(s) },
        now: () => Date.UTC(2024, 0, 2, 3, 4, 5, 678),
      },
    );
    forChannel(forQueue(log, { group: "q:/:orders", queue: "orders" }), "c1", 2).warn(
      { ready: 3, reason: "no quorum" },
      "publish refused",
    );
    expect(out).toEqual([
      '03:04:05.678 WARN  [n1 q:/:orders queue=orders conn=c1 ch=2] publish refused ready=3 reason="no quorum"\n',
    ]);
  });

  it("prints an error's stack under the line", () => {
    const line = JSON.stringify({
      level: 50,
      time: 0,
      node: "n1",
      msg: "crashed",
      err: { type: "Error", message: "boom", stack: "Error: boom\n    at f (x.ts:1:1)" },
    });
    expect(formatPretty(line)).toBe(
      "00:00:00.000 ERROR [n1] crashed\n    Error: boom\n        at f (x.ts:1:1)\n",
    );
  });

  it("passes through lines that are not JSON", () => {
    expect(formatPretty("plain text")).toBe("plain text\n");
  });

  it("prettyDestination formats each line of a chunk", () => {
    const out: string[] = [];
    const dest = prettyDestination({ write: (s: string) => out.push(s) });
    dest.write(
      `${JSON.stringify({ level: 30, time: 0, msg: "a" })}\n${JSON.stringify({ level: 40, time: 0, msg: "b" })}\n`,
    );
    expect(out).toEqual(["00:00:00.000 INFO  a\n", "00:00:00.000 WARN  b\n"]);
  });

  it("the cluster secret is scrubbed from pretty output too", () => {
    const out: string[] = [];
    const log = createRootLogger(
      { nodeId: "n1", log: { level: "info", pretty: true }, clusterSecret: SECRET },
      { destination: { write: (s: string) => void out.push(s) } },
    );
    log.info({ note: `key=${SECRET}` }, "handshake");
    expect(out.join("")).not.toContain(SECRET);
    expect(out.join("")).toContain(CENSOR);
  });
});
