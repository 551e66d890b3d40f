/**
 * The `warren` membership commands against real nodes: one node's HTTP door listening on a free
 * port, the CLI's ApiClient in front of it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type HttpCluster, startHttpCluster } from "../http/test/helpers.js";
import { ApiClient } from "./api-client.js";
import { parseCtlArgs } from "./ctl-args.js";
import { runCommand } from "./ctl-commands.js";

let hc: HttpCluster;
let api: ApiClient;

beforeAll(async () => {
  hc = await startHttpCluster(3);
  const url = await hc.doors[0]!.app.listen({ host: "127.0.0.1", port: 0 });
  api = new ApiClient({ urls: [url], user: "guest", password: "guest", timeoutMs: 40_000 });
});
afterAll(async () => {
  await hc.close();
});

const run = (...argv: string[]) => runCommand(api, parseCtlArgs(argv));

describe("warren membership commands", () => {
  it("add_member / delete_member / members, with RabbitMQ's names", async () => {
    await run("declare", "cli-q");
    const members = await eventually("three settled members", async () => {
      const out = JSON.parse(await run("members", "cli-q", "--json")) as {
        members: string[];
        settled: boolean;
      };
      return out.settled ? out.members : undefined;
    });
    expect(members).toHaveLength(3);
    const removed = await run("delete_member", "cli-q", members[0]!);
    expect(removed).toContain("settled");
    expect(removed).not.toContain(`members ${members.join(",")}`);
    const added = await run("add-member", "cli-q", members[0]!);
    expect(added).toMatch(/members .*; settled/);
    expect(await run("shrink", "n9")).toBe("(no queue to change)");
  });

  it("rejects a bad grow strategy before asking any node", async () => {
    await expect(run("grow", "n1", "most")).rejects.toThrow(/strategy must be all or even/);
    expect(() => parseCtlArgs(["members", "q", "--timeout", "-1"])).toThrow(/--timeout/);
  });
});
