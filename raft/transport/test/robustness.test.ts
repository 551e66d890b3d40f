import { connect, createServer, type Server, type Socket } from "node:net";
import { Packr } from "msgpackr";
import { afterEach, describe, expect, it } from "vitest";
import { FrameDecoder } from "../frame.js";
import { computeProof, newNonce } from "../handshake.js";
import { encodeFrame, type Transport } from "../index.js";
import { eventually, freePort, LOOPBACK, recordingLogger, SECRET, transports } from "./helpers.js";

const ts = transports();
const servers: Server[] = [];
afterEach(async () => {
  await ts.closeAll();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});
const packr = new Packr({ useRecords: false });
const frame = (v: unknown) => encodeFrame(packr.pack(v));

/** Dials `t` and authenticates as `self`; resolves with the open socket. */
async function dialAs(t: Transport, self: string): Promise<Socket> {
  const socket = connect({ host: LOOPBACK, port: t.address().port });
  socket.on("error", () => undefined);
  const decoder = new FrameDecoder(1024);
  const frames: unknown[] = [];
  socket.on("data", (c: Buffer) => frames.push(...decoder.push(c).map((f) => packr.unpack(f))));
  const nonce = newNonce();
  socket.write(frame({ t: "hello", v: 1, from: self, to: "n1", nonce }));
  await eventually(() => expect(frames).toHaveLength(1));
  const ch = frames[0] as { nonce: Uint8Array };
  socket.write(frame({ t: "auth", proof: computeProof(SECRET, "dialer", self, "n1", nonce, ch.nonce) }));
  await eventually(() => expect(frames).toHaveLength(2));
  return socket;
}

describe("Transport robustness", () => {
  it("keeps a connection up when a handler throws, and drops messages of unknown channels", async () => {
    const log = recordingLogger();
    const c = await ts.cluster(["n1", "n2"], { logger: log });
    const got: unknown[] = [];
    c.get("n2")!.on("raft", (_f, p) => {
      if (p === "boom") throw new Error("handler bug");
      got.push(p);
    });
    const n1 = c.get("n1")!;
    n1.send("n2", "raft", "boom");
    n1.send("n2", "nobody-listens", 1);
    n1.send("n2", "raft", "fine");
    await eventually(() => expect(got).toEqual(["fine"]));
    expect(log.records.some((r) => r.level === "error" && r.msg === "message handler threw")).toBe(true);
    expect(log.records.some((r) => r.level === "warn")).toBe(false);
  });

  it("delivers what was sent before start() once the peer is reached", async () => {
    const port = await freePort();
    const n2 = ts.make({ nodeId: "n2", listen: { host: LOOPBACK, port } });
    const got: unknown[] = [];
    n2.on("raft", (_f, p) => got.push(p));
    await n2.start();
    const n1 = ts.make({ nodeId: "n1", peers: new Map([["n2", { host: LOOPBACK, port }]]) });
    expect(n1.send("n2", "raft", "early")).toBe(true);
    await n1.start();
    await eventually(() => expect(got).toEqual(["early"]));
  });

  it("a peer that redials replaces its old inbound connection without a peer-down event", async () => {
    const n1 = ts.make({ nodeId: "n1" });
    await n1.start();
    const down: string[] = [];
    n1.onPeerDown((p) => down.push(p));
    const got: unknown[] = [];
    n1.on("raft", (from, p) => got.push([from, p]));
    const old = await dialAs(n1, "n2");
    const fresh = await dialAs(n1, "n2");
    await eventually(() => expect(old.closed).toBe(true));
    expect(down).toEqual([]);
    fresh.write(frame(["raft", "via the new connection"]));
    await eventually(() => expect(got).toEqual([["n2", "via the new connection"]]));
    fresh.destroy();
    await eventually(() => expect(down).toEqual(["n2"]));
  });

  it("bounds memory for a peer that stops reading, and recovers when it reads again", async () => {
    // A fake n2 that completes the handshake and then stops reading its socket.
    let peerSocket: Socket | undefined;
    let received = 0;
    const server = createServer((sock) => {
      const decoder = new FrameDecoder(1 << 24);
      const nonce = newNonce();
      let hello: { from: string; nonce: Uint8Array } | undefined;
      sock.on("data", (c: Buffer) => {
        for (const f of decoder.push(c)) {
          const v = packr.unpack(f) as { t?: string; from: string; nonce: Uint8Array };
          if (!hello) {
            hello = v;
            const proof = computeProof(SECRET, "acceptor", v.from, "n2", v.nonce, nonce);
            sock.write(frame({ t: "challenge", from: "n2", nonce, proof }));
          } else if (v.t === "auth") {
            sock.write(frame({ t: "welcome" }));
            peerSocket = sock;
            sock.pause();
          } else received++;
        }
      });
      sock.on("error", () => undefined);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, LOOPBACK, r));
    const port = (server.address() as { port: number }).port;

    const maxQueueBytes = 256 * 1024;
    const n1 = ts.make({ nodeId: "n1", maxQueueBytes, peers: new Map([["n2", { host: LOOPBACK, port }]]) });
    await n1.start();
    await eventually(() => expect(n1.isPeerUp("n2")).toBe(true));
    await eventually(() => expect(peerSocket).toBeDefined());

    const payload = "x".repeat(16 * 1024);
    let accepted = 0;
    // Send one queue's worth per turn until the kernel buffers are full and the bound bites.
    const deadline = Date.now() + 20_000;
    let refusedInARow = 0;
    while (refusedInARow < 5 && Date.now() < deadline) {
      let refused = false;
      for (let i = 0; i < maxQueueBytes / payload.length; i++) {
        if (n1.send("n2", "raft", payload)) accepted++;
        else refused = true;
      }
      refusedInARow = refused ? refusedInARow + 1 : 0;
      await new Promise((r) => setImmediate(r));
    }
    expect(refusedInARow).toBe(5);
    expect(n1.stats().framesDropped).toBeGreaterThan(0);

    peerSocket!.resume();
    await eventually(() => expect(received).toBe(accepted));
    expect(n1.send("n2", "raft", "again")).toBe(true);
  });
});
