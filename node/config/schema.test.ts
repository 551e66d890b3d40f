import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatAddress, formatSize, parseAddress, size } from "./kinds.js";
import { parseConfig } from "./parse.js";
import { peersKind, raftPeerMap } from "./peers.js";
import { SETTINGS } from "./schema.js";

function leaves(v: unknown, prefix = ""): string[] {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return [prefix];
  return Object.entries(v).flatMap(([k, c]) => leaves(c, prefix ? `${prefix}.${k}` : k));
}

describe("the schema table", () => {
  it("has exactly one row per field of NodeConfig (plus the source settings)", () => {
    const config = parseConfig({ argv: [], env: {} });
    const fields = leaves(config).sort();
    expect(fields).toEqual(
      SETTINGS.filter((s) => !s.source)
        .map((s) => s.key)
        .sort(),
    );
  });

  it("names are unique and follow one rule", () => {
    for (const field of ["key", "env", "flag"] as const) {
      expect(new Set(SETTINGS.map((s) => s[field])).size).toBe(SETTINGS.length);
    }
    for (const s of SETTINGS) {
      expect(s.env).toMatch(/^WARREN_[A-Z0-9_]+$/);
      expect(s.flag).toMatch(/^--[a-z0-9-]+$/);
    }
    const names = Object.fromEntries(SETTINGS.map((s) => [s.key, [s.env, s.flag]]));
    expect(names.nodeId).toEqual(["WARREN_NODE_ID", "--node-id"]);
    expect(names["amqp.frameMax"]).toEqual(["WARREN_AMQP_FRAME_MAX", "--amqp-frame-max"]);
    expect(names.clusterSecretFile).toEqual(["WARREN_CLUSTER_SECRET_FILE", "--cluster-secret-file"]);
  });

  it("every default is a valid value of its own kind", () => {
    for (const s of SETTINGS) {
      if (
        s.default === undefined ||
        (typeof s.default === "object" && s.default !== null && "derive" in s.default)
      )
        continue;
      expect(s.kind.fromJson(s.default), s.key).toEqual({ ok: true, value: s.default });
    }
  });
});

describe("value kinds", () => {
  it("sizes accept decimal and binary units and print in the largest whole binary unit", () => {
    const k = size(1, 2 ** 40);
    expect(k.fromString("128MiB")).toEqual({ ok: true, value: 134217728 });
    expect(k.fromString("20 MB")).toEqual({ ok: true, value: 20_000_000 });
    expect(k.fromString("1kib")).toEqual({ ok: true, value: 1024 });
    expect(k.fromJson(4096)).toEqual({ ok: true, value: 4096 });
    expect(k.fromString("12 parsecs").ok).toBe(false);
    expect(k.fromString("1.5MiB").ok).toBe(false);
    expect(formatSize(134217728)).toBe("128MiB");
    expect(formatSize(20_000_000)).toBe("20000000");
  });

  it("addresses round-trip, IPv6 in brackets", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain()),
        fc.integer({ min: 0, max: 65535 }),
        (host, port) => {
          expect(parseAddress(formatAddress({ host, port }))).toEqual({ host, port });
        },
      ),
    );
    expect(parseAddress("127.0.0.1:99999")).toBeUndefined();
    expect(parseAddress("::1:5672")).toBeUndefined();
    expect(parseAddress("host:")).toBeUndefined();
  });

  it("peer lists round-trip through their text form", () => {
    const address = fc.record({
      host: fc.oneof(fc.ipV4(), fc.domain()),
      port: fc.integer({ min: 1, max: 65535 }),
    });
    const peer = fc.record(
      { id: fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/), raft: address, amqp: address, http: address },
      { requiredKeys: ["id", "raft"] },
    );
    fc.assert(
      fc.property(fc.uniqueArray(peer, { selector: (p) => p.id, maxLength: 6 }), (peers) => {
        const parsed = peersKind.fromString(peersKind.format(peers));
        const sorted = [...peers].sort((a, b) => (a.id < b.id ? -1 : 1));
        expect(parsed).toEqual({ ok: true, value: sorted });
      }),
    );
  });
});

describe("a described config's peers parse back", () => {
  it("the array form describeConfig prints is accepted in the file", () => {
    const peers = [
      { id: "n2", raft: { host: "127.0.0.1", port: 25673 }, http: { host: "::1", port: 15673 } },
      { id: "n3", raft: { host: "127.0.0.1", port: 25674 } },
    ];
    expect(peersKind.fromJson(peers)).toEqual({ ok: true, value: peers });
    expect(peersKind.fromJson([{ raft: "h:1" }]).ok).toBe(false);
  });
});

describe("raftPeerMap", () => {
  it("gives the transport its id -> raft address map", () => {
    const c = parseConfig({
      argv: [],
      env: { WARREN_PEERS: "n2=h2:2;amqp=h2:5,n3=h3:3", WARREN_CLUSTER_SECRET: "x".repeat(16) },
    });
    expect(raftPeerMap(c.peers)).toEqual(
      new Map([
        ["n2", { host: "h2", port: 2 }],
        ["n3", { host: "h3", port: 3 }],
      ]),
    );
  });
});
