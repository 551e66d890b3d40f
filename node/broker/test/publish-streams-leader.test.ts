/**
 * A publisher's stream when the queue leader's node dies (scenario (e) of docs/performance.md):
 * the enqueues in flight fail as unreachable, no leader is known while the survivors elect one,
 * and the stream pauses before its next pass. The news of the new leader ends that pause: the
 * unanswered enqueues go to the new leader at once, in order, not when the pause runs out.
 */
import { describe, expect, it } from "vitest";
import type { GroupId, NodeId } from "../../../raft/core/types.js";
import { NotLeaderError } from "../../../raft/errors.js";
import type { Proposed } from "../../cluster/forward.js";
import { RpcUnreachableError } from "../../cluster/rpc.js";
import type { EnqueueCommand, QueueReply } from "../../queue/types.js";
import { PublishStreams, type StreamClock, type StreamNet } from "../publish-streams.js";

const GROUP = "q1";
const MEMBERS: NodeId[] = ["n1", "n2", "n3"];

interface Sent {
  readonly at: number;
  readonly target: NodeId;
  readonly seq: number;
  readonly answer: (r: Proposed | Error) => void;
}

/** A manual clock and a network whose answers the test gives by hand. */
class Net implements StreamNet, StreamClock {
  time = 0;
  leader: NodeId | undefined = "n1";
  readonly sent: Sent[] = [];
  private timers: { at: number; fn: () => void }[] = [];
  private readonly listeners: ((group: GroupId, leader: NodeId | undefined) => void)[] = [];

  now(): number {
    return this.time;
  }
  after(fn: () => void, ms: number): () => void {
    const t = { at: this.time + ms, fn };
    this.timers.push(t);
    return () => {
      this.timers = this.timers.filter((x) => x !== t);
    };
  }
  advance(ms: number): void {
    this.time += ms;
    const due = this.timers.filter((t) => t.at <= this.time);
    this.timers = this.timers.filter((t) => t.at > this.time);
    for (const t of due) t.fn();
  }

  attempt(_group: GroupId, target: NodeId, command: unknown): Promise<Proposed> {
    const seq = (command as EnqueueCommand).publisher!.seq;
    return new Promise<Proposed>((resolve, reject) => {
      this.sent.push({
        at: this.time,
        target,
        seq,
        answer: (r) => (r instanceof Error ? reject(r) : resolve(r)),
      });
    });
  }
  knownLeader(): NodeId | undefined {
    return this.leader;
  }
  goneError(): Error | undefined {
    return undefined;
  }
  onLeaderChange(cb: (group: GroupId, leader: NodeId | undefined) => void): void {
    this.listeners.push(cb);
  }
  elected(leader: NodeId | undefined): void {
    this.leader = leader;
    for (const cb of this.listeners) cb(GROUP, leader);
  }
}

function enqueue(n: number): EnqueueCommand {
  return {
    type: "enqueue",
    exchange: "",
    routingKeys: [GROUP],
    properties: {},
    body: new TextEncoder().encode(`m${n}`),
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe("a publisher's stream when the queue leader's node dies", () => {
  it("resends to the new leader as soon as this node learns of it, not after its pause", async () => {
    const net = new Net();
    const streams = new PublishStreams(net, 5000, net);
    const replies: QueueReply[] = [];
    for (let n = 0; n < 3; n++)
      void streams.enqueue("p", GROUP, MEMBERS, enqueue(n)).then((r) => replies.push(r));
    expect(net.sent.map((s) => [s.target, s.seq])).toEqual([
      ["n1", 1],
      ["n1", 2],
      ["n1", 3],
    ]);

    // n1 dies: its connection closes, every attempt fails, and the survivors forget it.
    net.elected(undefined);
    net.time = 1;
    for (const s of net.sent.splice(0)) s.answer(new RpcUnreachableError("n1"));
    await flush();
    expect(net.sent).toEqual([]); // pausing: no leader is known

    // n2 wins the election 3 ms later: everything unanswered goes there now, in order.
    net.advance(3);
    net.elected("n2");
    expect(net.sent).toEqual([]); // not from inside the host's leader-change callback
    net.advance(0);
    expect(net.sent.map((s) => [s.at, s.target, s.seq])).toEqual([
      [4, "n2", 1],
      [4, "n2", 2],
      [4, "n2", 3],
    ]);
    for (const s of net.sent.splice(0)) s.answer({ reply: { type: "enqueued" }, index: s.seq });
    await flush();
    expect(replies).toHaveLength(3);
    expect(streams.size).toBe(0);

    // The pause's timer was cancelled: nothing is sent again when it would have run out.
    net.advance(100);
    expect(net.sent).toEqual([]);
  });

  it("with no leader known, probes one member at a time with the oldest enqueue, then sends the rest where it was accepted", async () => {
    const net = new Net();
    net.leader = undefined; // an election, or this node is in a minority
    const streams = new PublishStreams(net, 60_000, net);
    const replies: number[] = [];
    for (let n = 0; n < 50; n++)
      void streams.enqueue("p", GROUP, MEMBERS, enqueue(n)).then(() => replies.push(n));
    // A new stream sends what it has to a member picked in turn; all refused (no leader there).
    for (const s of net.sent.splice(0)) s.answer(new NotLeaderError(GROUP, undefined));
    await flush();
    // From now on, each retry period sends one probe, not all 50 again.
    let attempts = 0;
    for (let period = 0; period < 20; period++) {
      net.advance(20);
      attempts += net.sent.length;
      expect(net.sent.map((s) => s.seq)).toEqual(net.sent.length === 0 ? [] : [1]);
      for (const s of net.sent.splice(0)) s.answer(new NotLeaderError(GROUP, undefined));
      await flush();
    }
    expect(attempts).toBeGreaterThanOrEqual(10);
    expect(attempts).toBeLessThanOrEqual(20);
    // A member that leads now accepts the probe: the other 49 follow it there, in order.
    net.advance(20);
    const probe = net.sent.splice(0);
    expect(probe.map((s) => s.seq)).toEqual([1]);
    probe[0]!.answer({ reply: { type: "enqueued" }, index: 1 });
    await flush();
    expect(net.sent.map((s) => [s.target, s.seq])).toEqual(
      Array.from({ length: 49 }, (_, i) => [probe[0]!.target, i + 2]),
    );
    for (const s of net.sent.splice(0)) s.answer({ reply: { type: "enqueued" }, index: s.seq });
    await flush();
    expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(streams.size).toBe(0);
  });
});
