import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { describeConfig, formatConfig, REDACTED, usage } from "./describe.js";
import { DOCS_PATH, withGeneratedSettings } from "./gen-docs.js";
import { parseConfig, resolveConfig } from "./parse.js";
import { SETTINGS } from "./schema.js";

const SECRET = "do-not-print-me-0123";

describe("describing a config never reveals a secret", () => {
  const resolved = resolveConfig({
    argv: ["--auth-default-pass", "hunter2-hunter2"],
    env: { WARREN_PEERS: "n2=127.0.0.1:25673", WARREN_CLUSTER_SECRET: SECRET },
  });

  it("describeConfig replaces secrets and keeps everything else", () => {
    const d = describeConfig(resolved.config);
    expect(d.clusterSecret).toBe(REDACTED);
    expect((d.auth as Record<string, unknown>).defaultPass).toBe(REDACTED);
    expect((d.amqp as Record<string, unknown>).port).toBe(5672);
    expect(d.peers).toEqual([{ id: "n2", raft: { host: "127.0.0.1", port: 25673 } }]);
    const text = JSON.stringify(d);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain("hunter2");
  });

  it("an unset secret is shown as unset, not as redacted", () => {
    expect(describeConfig(parseConfig({ argv: [], env: {} })).clusterSecret).toBeUndefined();
  });

  it("formatConfig prints one line per setting with its origin", () => {
    const text = formatConfig(resolved.config, resolved.origins);
    expect(text).not.toContain(SECRET);
    expect(text).toContain(`clusterSecret = ${REDACTED} (WARREN_CLUSTER_SECRET)`);
    expect(text).toContain("amqp.port = 5672 (default)");
    expect(text).toContain("peers = n2=127.0.0.1:25673 (WARREN_PEERS)");
    expect(text).toContain("maxMessageSize = 128MiB (default)");
    expect(text.split("\n")).toHaveLength(SETTINGS.filter((s) => !s.source).length);
  });
});

describe("--help and docs come from the schema", () => {
  it("usage names every flag with its environment variable", () => {
    const text = usage();
    for (const s of SETTINGS) expect(text).toContain(`${s.flag} <${s.kind.label}>  (${s.env}, default `);
  });

  it("docs/configuration.md documents every setting exactly as the schema says", () => {
    const doc = readFileSync(DOCS_PATH, "utf8");
    // If this fails: run `npx tsx node/config/gen-docs.ts` and review the diff.
    // Column padding is the formatter's business, not the schema's.
    const norm = (text: string) => text.replace(/ +/g, " ").replace(/-{3,}/g, "---");
    expect(norm(withGeneratedSettings(doc))).toBe(norm(doc));
    for (const s of SETTINGS) {
      expect(doc).toContain(`\`${s.env}\``);
      expect(doc).toContain(`\`${s.flag}\``);
    }
  });
});
