import { connect, type Socket } from "node:net";
import { Packr } from "msgpackr";
import { afterEach, describe, expect, it } from "vitest";
import { FrameDecoder } from "../frame.js";
import { computeProof, newNonce } from "../handshake.js";
import { encodeFrame, type Transport } from "../index.js";
import { eventually, LOOPBACK, type LogRecord, recordingLogger, SECRET, transports } from "./helpers.js";

const ts = transports();
afterEach(() => ts.closeAll());
const packr = new Packr({ useRecords: false });

/** A hand-driven client socket: records what it receives and whether it was closed. */
async function raw(t: Transport) {
  const socket: Socket = connect({ host: LOOPBACK, port: t.address().port });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const decoder = new FrameDecoder(1 << 20);
  const frames: unknown[] = [];
  const state = { closed: false };
  socket.on("data", (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) frames.push(packr.unpack(f));
  });
  socket.on("error", () => undefined);
  socket.on("close", () => {
    state.closed = true;
  });
  return {
    socket,
    frames,
    state,
    send: (v: unknown) => socket.write(encodeFrame(packr.pack(v))),
    /** Runs the dialer's side of the handshake as `self` with `secret`; resolves once welcomed. */
    async authenticate(self: string, to: string, secret = SECRET) {
      const nonce = newNonce();
      this.send({ t: "hello", v: 1, from: self, to, nonce });
      await eventually(() => expect(frames).toHaveLength(1));
      const ch = frames[0] as { nonce: Uint8Array };
      this.send({ t: "auth", proof: computeProof(secret, "dialer", self, to, nonce, ch.nonce) });
      await eventually(() => expect(frames).toHaveLength(2));
      expect(frames[1]).toEqual({ t: "welcome" });
    },
  };
}

/** n1 and n2 connected; n1 records what n2 sends it and logs into `log`. */
async function pair() {
  const records: LogRecord[] = [];
  const c = await ts.cluster(["n1", "n2"], { logger: recordingLogger(records), handshakeTimeoutMs: 300 });
  const n1 = c.get("n1")!;
  const n2 = c.get("n2")!;
  const got: unknown[] = [];
  n1.on("raft", (_from, p) => got.push(p));
  n2.send("n1", "raft", "before");
  await eventually(() => expect(got).toEqual(["before"]));
  /** Proves n1 is unaffected: the listener accepts, n2 still delivers, the connection was never reset. */
  const stillServes = async () => {
    n2.send("n1", "raft", "after");
    await eventually(() => expect(got).toEqual(["before", "after"]));
    const probe = await raw(n1);
    await probe.authenticate("n7", "n1");
    probe.socket.destroy();
    expect(records.filter((r) => r.msg === "peer disconnected" && r.obj.peer === "n2")).toEqual([]);
  };
  const warned = (pattern: RegExp) =>
    records.some(
      (r) =>
        r.level === "warn" && r.msg === "closed inbound connection" && pattern.test(String(r.obj.reason)),
    );
  return { n1, n2, records, stillServes, warned };
}

describe("a connection that fails the handshake or misbehaves is closed and logged; nothing else changes", () => {
  it("rejects a node with the wrong secret", async () => {
    const p = await pair();
    const intruder = ts.make({ nodeId: "n3", secret: "wrong-secret", logger: recordingLogger() });
    await intruder.start();
    intruder.setPeer("n1", p.n1.address());
    // The intruder cannot verify n1's proof and gives up; n1 logs the abandoned handshake.
    await eventually(() =>
      expect(
        p.records.some(
          (r) => r.level === "warn" && r.msg === "inbound connection abandoned during the handshake",
        ),
      ).toBe(true),
    );
    expect(intruder.isPeerUp("n1")).toBe(false);
    expect(intruder.send("n1", "raft", "let me in")).toBe(true); // queued, never delivered
    await p.stillServes();
  });

  it("rejects a dialer whose proof was made with another secret", async () => {
    const p = await pair();
    const c = await raw(p.n1);
    const nonce = newNonce();
    c.send({ t: "hello", v: 1, from: "n3", to: "n1", nonce });
    await eventually(() => expect(c.frames).toHaveLength(1));
    const ch = c.frames[0] as { nonce: Uint8Array };
    c.send({ t: "auth", proof: computeProof("wrong-secret", "dialer", "n3", "n1", nonce, ch.nonce) });
    await eventually(() => expect(c.state.closed).toBe(true));
    expect(p.warned(/n3 failed to prove the cluster secret/)).toBe(true);
    expect(c.frames).toHaveLength(1); // never welcomed
    await p.stillServes();
  });

  it("refuses an acceptor that cannot prove the secret (the dialer checks too)", async () => {
    const records: LogRecord[] = [];
    const impostor = ts.make({ nodeId: "n1", secret: "wrong-secret" });
    await impostor.start();
    const n2 = ts.make({ nodeId: "n2", logger: recordingLogger(records) });
    await n2.start();
    n2.setPeer("n1", impostor.address());
    await eventually(() =>
      expect(records.some((r) => r.obj.reason === "the peer failed to prove the cluster secret")).toBe(true),
    );
    expect(n2.isPeerUp("n1")).toBe(false);
  });

  it("closes a connection that sends garbage bytes", async () => {
    const p = await pair();
    const c = await raw(p.n1);
    c.socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await eventually(() => expect(c.state.closed).toBe(true));
    expect(p.warned(/bad frame: frame of \d+ bytes exceeds the limit of 1024/)).toBe(true);
    await p.stillServes();
  });

  it("closes a connection whose frame is not msgpack", async () => {
    const p = await pair();
    const c = await raw(p.n1);
    c.socket.write(encodeFrame(Buffer.from([0x92, 0xc4, 0x10, 0x01])));
    await eventually(() => expect(c.state.closed).toBe(true));
    expect(p.warned(/undecodable frame/)).toBe(true);
    await p.stillServes();
  });

  it("closes a connection that announces an oversized frame after authenticating", async () => {
    const p = await pair();
    const c = await raw(p.n1);
    await c.authenticate("n5", "n1");
    const header = Buffer.alloc(4);
    header.writeUInt32BE(0xffffffff);
    c.socket.write(header);
    await eventually(() => expect(c.state.closed).toBe(true));
    expect(p.warned(/exceeds the limit of 16777216/)).toBe(true);
    await p.stillServes();
  });

  it("closes a connection that sends a message before authenticating", async () => {
    const p = await pair();
    const c = await raw(p.n1);
    c.send(["raft", { type: 3, term: 99 }]);
    await eventually(() => expect(c.state.closed).toBe(true));
    expect(p.warned(/expected a hello before anything else/)).toBe(true);
    await p.stillServes();
  });

  it("closes a connection that skips the proof after its hello", async () => {
    const p = await pair();
    const c = await raw(p.n1);
    c.send({ t: "hello", v: 1, from: "n6", to: "n1", nonce: newNonce() });
    await eventually(() => expect(c.frames).toHaveLength(1));
    c.send(["raft", "sneaky"]);
    await eventually(() => expect(c.state.closed).toBe(true));
    expect(p.warned(/expected auth before anything else/)).toBe(true);
    await p.stillServes();
  });

  it("closes an authenticated connection that sends a message of the wrong shape", async () => {
    const p = await pair();
    const c = await raw(p.n1);
    await c.authenticate("n5", "n1");
    c.send({ channel: "raft", payload: 1 });
    await eventually(() => expect(c.state.closed).toBe(true));
    expect(p.warned(/malformed message frame/)).toBe(true);
    await p.stillServes();
  });

  it("closes a connection that stays silent past the handshake timeout", async () => {
    const p = await pair();
    const c = await raw(p.n1);
    await eventually(() => expect(c.state.closed).toBe(true));
    expect(p.warned(/handshake timed out/)).toBe(true);
    await p.stillServes();
  });

  it("closes a hello addressed to another node", async () => {
    const p = await pair();
    const c = await raw(p.n1);
    c.send({ t: "hello", v: 1, from: "n2", to: "n9", nonce: newNonce() });
    await eventually(() => expect(c.state.closed).toBe(true));
    expect(p.warned(/hello addressed to n9/)).toBe(true);
    await p.stillServes();
  });
});
