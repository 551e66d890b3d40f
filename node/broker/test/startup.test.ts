/**
 * First boot: a node reports ready only once the default user can use the default vhost. The
 * user and its permissions were two metadata commits, and a node was ready as soon as its own
 * restart announcement applied, so a client right after /ready could get 403 (or 401).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RaftHost } from "../../../raft/host/index.js";
import { NodeStorage } from "../../../raft/storage/index.js";
import { Transport } from "../../../raft/transport/index.js";
import { BrokerService } from "../broker-service.js";
import { META_GROUP } from "../meta-client.js";
import { SECRET } from "./harness.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startSingleNode(): Promise<BrokerService> {
  const dir = await mkdtemp(join(tmpdir(), "warren-startup-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const storage = await NodeStorage.open(dir);
  const transport = new Transport({
    nodeId: "n1",
    listen: { host: "127.0.0.1", port: 0 },
    peers: new Map(),
    secret: SECRET,
  });
  await transport.start();
  const host = new RaftHost({
    nodeId: "n1",
    storage,
    transport,
    tickMs: 10,
    electionTick: 30,
    heartbeatTick: 2,
  });
  // Metadata read barriers answer late, as under a slow election on a loaded machine: the
  // bootstrap used to start with one, so the node's own restart announcement (all a node needed
  // to be ready) committed well before the default user existed.
  const readIndex = host.readIndex.bind(host);
  host.readIndex = async (group) => {
    if (group === META_GROUP) await new Promise((r) => setTimeout(r, 1000));
    return readIndex(group);
  };
  await host.start();
  const broker = await BrokerService.start({ nodeId: "n1", host, transport, peers: [], storage });
  cleanups.push(async () => {
    await broker.stop();
    await host.stop();
    await transport.close();
    await storage.close();
  });
  return broker;
}

describe("first boot", () => {
  it("a node is ready only once guest has its permissions on the default vhost (one entry)", async () => {
    const broker = await startSingleNode();
    // Checked on every turn of the event loop, so the first moment of readiness is seen.
    const firstReady = await new Promise<{ users: number; permissions: number }>((resolve, reject) => {
      const deadline = Date.now() + 20_000;
      const check = () => {
        if (broker.isReady()) {
          resolve({
            users: broker.listUsers().length,
            permissions: broker.listPermissions({ user: "guest" }).length,
          });
        } else if (Date.now() > deadline) reject(new Error("not ready within 20 s"));
        else setImmediate(check);
      };
      check();
    });
    expect(firstReady).toEqual({ users: 1, permissions: 1 });
  });
});
