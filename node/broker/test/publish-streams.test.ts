/**
 * Per-channel publish order across leader changes (RabbitMQ: messages published on one channel
 * to one queue are enqueued in publish order). PublishStreams + the real QueueMachine against a
 * simulated queue group: leaders change (elections with no leader, hand-offs), uncommitted
 * entries are kept or truncated, requests and replies get lost, delayed and duplicated, and
 * attempts from different passes overtake each other. Whatever happens, the queue holds each
 * publisher's messages in publish order, each at most once, and every confirmed one.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { GroupId, NodeId } from "../../../raft/core/types.js";
import { NotLeaderError, ProposalDroppedError } from "../../../raft/errors.js";
import { Prng } from "../../../raft/sim/prng.js";
import type { Proposed } from "../../cluster/forward.js";
import { RpcTimeoutError, RpcUnreachableError } from "../../cluster/rpc.js";
import { WarrenError } from "../../errors.js";
import { parseQueueArguments } from "../../queue/config.js";
import { QueueMachine } from "../../queue/machine.js";
import type { EnqueueCommand, QueueReply, QueueResult } from "../../queue/types.js";
import { PublishStreams, type StreamClock, type StreamNet } from "../publish-streams.js";

const NODES: NodeId[] = ["n1", "n2", "n3"];
const GROUP = "q1";
const TIMEOUT_MS = 400;

/** A seeded generator (the simulator's), so one fast-check seed replays one whole run. */
function prng(seed: number): () => number {
  return new Prng(seed).float;
}

interface Appended {
  readonly command: EnqueueCommand;
  readonly answer: (r: Proposed | Error) => void;
}

/** Faults, as probabilities per event. */
interface Faults {
  readonly loseRequest: number;
  readonly loseReply: number;
  readonly duplicate: number;
  readonly leaderChange: number;
  readonly truncate: number;
}

/** A queue group as the sender sees it: leaders, a log, commits, a lossy network; simulated time. */
class SimGroup implements StreamNet, StreamClock {
  time = 0;
  private seqNo = 0;
  private readonly events: { at: number; n: number; fn: () => void }[] = [];
  leader: NodeId | undefined = "n1";
  faulty = true;
  /** Appended at the leader, not committed yet (a new leader keeps or truncates them). */
  private uncommitted: Appended[] = [];
  readonly machine = new QueueMachine(parseQueueArguments("q", {}));
  /** Applied enqueue commands by index (= message id). */
  readonly log = new Map<number, EnqueueCommand>();
  private index = 0;
  /** Requests to a node arrive in the order they were sent (one TCP connection per peer). */
  private readonly lastArrival = new Map<NodeId, number>();

  constructor(
    private readonly rand: () => number,
    private readonly faults: Faults,
  ) {}

  // ---- StreamClock ----
  now(): number {
    return this.time;
  }
  after(fn: () => void, ms: number): () => void {
    const ev = { at: this.time + ms, n: this.seqNo++, fn };
    this.events.push(ev);
    return () => {
      ev.fn = () => {};
    };
  }

  // ---- StreamNet ----
  knownLeader(): NodeId | undefined {
    return this.rand() < 0.7 ? this.leader : undefined;
  }
  goneError(): Error | undefined {
    return undefined;
  }
  private readonly leaderListeners: ((group: GroupId, leader: NodeId | undefined) => void)[] = [];
  onLeaderChange(cb: (group: GroupId, leader: NodeId | undefined) => void): void {
    this.leaderListeners.push(cb);
  }
  /** The sender's node hears of a new leader (sometimes not at all: it may miss an election). */
  private setLeader(leader: NodeId | undefined): void {
    this.leader = leader;
    if (this.rand() < 0.3) return;
    for (const cb of this.leaderListeners) cb(GROUP, leader);
  }
  attempt(_group: GroupId, target: NodeId, command: unknown, timeoutMs: number): Promise<Proposed> {
    return new Promise<Proposed>((resolve, reject) => {
      let done = false;
      const answer = (r: Proposed | Error) => {
        if (done) return;
        done = true;
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      this.after(() => answer(new RpcTimeoutError(target, "propose", timeoutMs)), timeoutMs);
      const copies = this.faulty && this.rand() < this.faults.duplicate ? 2 : 1;
      for (let i = 0; i < copies; i++) {
        const at = Math.max(this.lastArrival.get(target) ?? 0, this.time + this.delay());
        this.lastArrival.set(target, at);
        this.after(() => this.arrive(target, command as EnqueueCommand, answer), at - this.time);
      }
    });
  }

  private delay(): number {
    return this.faulty ? Math.floor(this.rand() * 8) : 1;
  }

  private arrive(target: NodeId, command: EnqueueCommand, answer: (r: Proposed | Error) => void): void {
    if (this.faulty && this.rand() < this.faults.loseRequest) {
      this.after(() => answer(new RpcUnreachableError(target)), this.delay());
      return;
    }
    if (target !== this.leader) {
      this.after(() => answer(new NotLeaderError(GROUP, this.leader)), this.delay());
      return;
    }
    this.uncommitted.push({ command, answer });
  }

  /** Commits (applies) what the leader appended, in log order; some replies get lost. */
  private commit(): void {
    const batch = this.uncommitted.splice(0, 1 + Math.floor(this.rand() * 4));
    for (const a of batch) {
      const index = ++this.index;
      const r: QueueResult = this.machine.apply({ group: GROUP, index, term: 1, time: this.time }, a.command);
      if (a.command.type !== "enqueue") continue;
      if (r.reply.type === "enqueued") this.log.set(index, a.command);
      const lost = this.faulty && this.rand() < this.faults.loseReply;
      this.after(
        () => a.answer(lost ? new RpcUnreachableError("n1") : { reply: r.reply, index }),
        this.delay(),
      );
    }
  }

  /** The queue forgets a node's publishers (a `node-down` committed) after what is appended now. */
  forget(node: string): void {
    this.uncommitted.push({
      command: { type: "node-down", node } as unknown as EnqueueCommand,
      answer: () => {},
    });
  }

  /** The leader moves: an election without a leader, then another node; uncommitted entries kept or lost. */
  private changeLeader(): void {
    const old = this.leader;
    this.setLeader(undefined);
    if (this.rand() < this.faults.truncate) {
      const cut = Math.floor(this.rand() * (this.uncommitted.length + 1));
      for (const a of this.uncommitted.splice(cut)) {
        const dropped = this.rand() < 0.5;
        // A dropped proposal is reported; otherwise its caller only hears its timeout.
        if (dropped) this.after(() => a.answer(new ProposalDroppedError(GROUP, "truncated")), this.delay());
      }
    }
    this.after(
      () => {
        const others = NODES.filter((n) => n !== old);
        this.setLeader(others[Math.floor(this.rand() * others.length)]!);
      },
      Math.floor(this.rand() * 40),
    );
  }

  /** Runs events in time order until `until`, letting promise callbacks settle after each one. */
  async run(until: number): Promise<void> {
    for (;;) {
      this.events.sort((a, b) => a.at - b.at || a.n - b.n);
      const ev = this.events[0];
      if (ev === undefined || ev.at > until) break;
      this.events.shift();
      this.time = Math.max(this.time, ev.at);
      ev.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.time = until;
  }

  /** Commit ticks and (while faulty) leader changes until `until`. */
  drive(until: number): void {
    for (let t = this.time; t < until; t += 2) {
      this.after(() => this.commit(), t - this.time);
      if (this.faulty && this.rand() < this.faults.leaderChange)
        this.after(() => this.changeLeader(), t - this.time);
    }
  }

  /** Publisher message numbers in the order the queue holds them. */
  content(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const id of this.machine.snapshot().live) {
      const [who, n] = new TextDecoder().decode(this.log.get(id)!.body).split(":");
      out.set(who!, [...(out.get(who!) ?? []), Number(n)]);
    }
    return out;
  }
}

function message(who: string, n: number): EnqueueCommand {
  return {
    type: "enqueue",
    exchange: "",
    routingKeys: ["q"],
    properties: {},
    body: new TextEncoder().encode(`${who}:${n}`),
  };
}

const PUBLISHERS = ["n1/a.1|1", "n1/a.1|2", "n2/b.7|1"];

async function scenario(seed: number, faults: Faults, perPublisher: number): Promise<void> {
  const sim = new SimGroup(prng(seed), faults);
  const streams = new PublishStreams(sim, TIMEOUT_MS, sim);
  const outcome = new Map<string, ("ok" | "failed" | undefined)[]>();
  const publish = (who: string, n: number) => {
    const list = outcome.get(who) ?? [];
    outcome.set(who, list);
    streams.enqueue(who, GROUP, NODES, message(who, n)).then(
      (r: QueueReply) => {
        expect(["enqueued", "duplicate"]).toContain(r.type);
        list[n] = "ok";
      },
      (err: unknown) => {
        expect(WarrenError.is(err, "NO_QUORUM")).toBe(true);
        list[n] = "failed";
      },
    );
  };
  // Faulty phase: publishers pipeline their messages at random times over 600 ms.
  const rand = prng(seed ^ 0x5eed);
  for (const who of PUBLISHERS) {
    let at = 0;
    for (let n = 0; n < perPublisher; n++) {
      at += Math.floor(rand() * 6);
      sim.after(() => publish(who, n), at);
    }
  }
  sim.drive(700);
  await sim.run(700);
  // Healed: everything unanswered settles, and new publishes all go through.
  sim.faulty = false;
  sim.leader ??= "n2";
  sim.drive(700 + 3 * TIMEOUT_MS);
  await sim.run(700 + TIMEOUT_MS);
  for (const who of PUBLISHERS) for (let n = perPublisher; n < perPublisher + 5; n++) publish(who, n);
  await sim.run(700 + 3 * TIMEOUT_MS);

  const content = sim.content();
  for (const who of PUBLISHERS) {
    const stored = content.get(who) ?? [];
    const results = outcome.get(who)!;
    // Publish order, no duplicates.
    for (let i = 1; i < stored.length; i++) expect(stored[i]!).toBeGreaterThan(stored[i - 1]!);
    for (let n = 0; n < perPublisher + 5; n++) {
      expect(results[n], `${who}:${n} answered`).toBeDefined();
      if (results[n] === "ok") expect(stored, `confirmed ${who}:${n} is stored`).toContain(n);
    }
    for (let n = perPublisher; n < perPublisher + 5; n++) expect(results[n]).toBe("ok");
  }
  expect(streams.size).toBe(0);
}

describe("per-channel publish order through leader changes", () => {
  it("keeps each publisher's messages in publish order, once each, with every confirmed one stored", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.record({
          loseRequest: fc.constantFrom(0, 0.05, 0.2),
          loseReply: fc.constantFrom(0, 0.05, 0.2),
          duplicate: fc.constantFrom(0, 0.1),
          leaderChange: fc.constantFrom(0.005, 0.02, 0.05),
          truncate: fc.constantFrom(0, 0.5, 1),
        }),
        async (seed, faults) => scenario(seed, faults, 30),
      ),
      { numRuns: 25 },
    );
  });

  it("without faults every publish is confirmed and stored in order", async () => {
    const none = { loseRequest: 0, loseReply: 0, duplicate: 0, leaderChange: 0, truncate: 0 };
    await scenario(7, none, 50);
  });

  it("numbers a publisher again when the queue forgot it (node-down of a node that was only cut off)", async () => {
    const none = { loseRequest: 0, loseReply: 0, duplicate: 0, leaderChange: 0, truncate: 0 };
    const sim = new SimGroup(prng(1), none);
    sim.faulty = false;
    const streams = new PublishStreams(sim, TIMEOUT_MS, sim);
    const who = "n1/a.1|1";
    const answers: string[] = [];
    const publish = (n: number) =>
      streams.enqueue(who, GROUP, NODES, message(who, n)).then(
        (r) => answers.push(`${n}:${r.type}`),
        (err: unknown) => answers.push(`${n}:${String(err)}`),
      );
    sim.drive(200);
    // The log: 0, 1, node-down n1, 2, 3, all sent on one stream (epoch 1) before any answer.
    void publish(0);
    void publish(1);
    await sim.run(1);
    sim.forget("n1");
    void publish(2);
    void publish(3);
    await sim.run(200);
    expect(answers.sort()).toEqual(["0:enqueued", "1:enqueued", "2:enqueued", "3:enqueued"]);
    expect(sim.content().get(who)).toEqual([0, 1, 2, 3]);
    // 2 and 3 were refused as out of order (the queue expected seq 1), then sent again in epoch 2.
    expect(sim.machine.publisher(who)).toEqual({ epoch: 2, next: 3 });
  });
});
