/** acquireToxiproxy picks TOXIPROXY_URL, then a toxiproxy-server on PATH, then ours. */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Toxiproxy } from "toxiproxy-node-client";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../harness/node-process.js";
import { acquireToxiproxy, startToxiproxyServer } from "../index.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("acquireToxiproxy", () => {
  it("runs ours in-process when nothing else is configured", async () => {
    const t = await acquireToxiproxy({ env: { PATH: "" } });
    expect(t.source).toBe("in-process");
    expect(JSON.parse(await new Toxiproxy(t.url).getVersion())).toHaveProperty("version");
    await t.close();
  });

  it("uses TOXIPROXY_URL as is and leaves that server running", async () => {
    const server = await startToxiproxyServer({ port: 0 });
    const t = await acquireToxiproxy({ env: { TOXIPROXY_URL: `${server.url}/`, PATH: "" } });
    expect(t).toMatchObject({ source: "external", url: server.url });
    await t.close();
    expect(Object.keys(await new Toxiproxy(server.url).getAll())).toEqual([]);
    await server.close();
  });

  it("starts a toxiproxy-server found on PATH and stops it on close", async () => {
    // A stand-in binary: our CLI, taking the flags a real toxiproxy-server takes.
    const bin = mkdtempSync(join(tmpdir(), "toxiproxy-bin-"));
    dirs.push(bin);
    const script = join(bin, "toxiproxy-server");
    writeFileSync(
      script,
      `#!/bin/sh\ncd ${JSON.stringify(REPO_ROOT)} && exec ${JSON.stringify(process.execPath)} --import tsx cluster-tests/toxiproxy/cli.ts "$@"\n`,
    );
    chmodSync(script, 0o755);
    const t = await acquireToxiproxy({ env: { PATH: bin } });
    expect(t.source).toBe("binary");
    const client = new Toxiproxy(t.url);
    await client.createProxy({ name: "x", listen: "127.0.0.1:0", upstream: "127.0.0.1:9" });
    await t.close();
    await expect(client.getAll()).rejects.toThrow();
  });
});
