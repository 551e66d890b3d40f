import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "./errors.js";
import { loadConfig } from "./load.js";

describe("loadConfig reads real files", () => {
  const dir = mkdtempSync(join(tmpdir(), "warren-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the config file and the secret file named by flags and environment", () => {
    const secretFile = join(dir, "secret");
    writeFileSync(secretFile, "0123456789abcdef-secret\n");
    const configFile = join(dir, "n1.json");
    writeFileSync(
      configFile,
      JSON.stringify({ nodeId: "n1", clusterSecretFile: secretFile, peers: { n2: "127.0.0.1:25673" } }),
    );
    const { config, origins } = loadConfig(["--config", configFile], {
      WARREN_AMQP_PORT: "5673",
      PATH: "/bin",
    });
    expect(config.clusterSecret).toBe("0123456789abcdef-secret");
    expect(config.amqp.port).toBe(5673);
    expect(config.peers.map((p) => p.id)).toEqual(["n2"]);
    expect(origins.get("nodeId")).toBe(`${configFile}: nodeId`);
  });

  it("a missing file is a ConfigError naming it", () => {
    const missing = join(dir, "missing.json");
    expect(() => loadConfig([], { WARREN_CONFIG: missing })).toThrow(ConfigError);
    expect(() => loadConfig([], { WARREN_CONFIG: missing })).toThrow(
      `WARREN_CONFIG: cannot read "${missing}"`,
    );
  });
});
