/**
 * Runs the queue machine without Raft, for transient queues (exclusive, auto-delete,
 * non-durable) that live in memory on the node owning the connection, as RabbitMQ's
 * transient classic queues do. Same semantics (DLX, TTL, prefetch, limits, priorities);
 * the driver assigns increasing message ids and keeps the enqueue commands (bodies) in a
 * Map until the machine releases them.
 */
import type { QueueConfig } from "./config.js";
import { QueueMachine } from "./machine.js";
import type {
  EnqueueCommand,
  MessageId,
  QueueCommand,
  QueueCounts,
  QueueEffect,
  QueueResult,
} from "./types.js";

export class LocalQueue {
  readonly machine: QueueMachine;
  private readonly bodies = new Map<MessageId, EnqueueCommand>();
  /** Messages released by the last apply (no-ack deliveries, get no-ack): readable until the next one. */
  private readonly released = new Map<MessageId, EnqueueCommand>();
  private index = 0;

  constructor(config: QueueConfig) {
    this.machine = new QueueMachine(config, {
      onRelease: (id) => {
        const m = this.bodies.get(id);
        if (m) {
          this.bodies.delete(id);
          this.released.set(id, m);
        }
      },
    });
  }

  /** Applies a command at time `now` (ms since epoch, the node's clock). */
  apply(command: QueueCommand, now: number): QueueResult {
    this.released.clear();
    const index = ++this.index;
    if (command.type === "enqueue") this.bodies.set(index, command);
    const result = this.machine.apply({ group: "local", index, term: 0, time: now }, command);
    if (command.type === "enqueue" && result.reply.type === "rejected") this.bodies.delete(index);
    return result;
  }

  /**
   * The enqueue command of a message named by an effect or reply of the last apply (held
   * messages stay readable; ones that apply released, e.g. no-ack deliveries, until the next).
   */
  read(id: MessageId): EnqueueCommand | undefined {
    return this.bodies.get(id) ?? this.released.get(id);
  }

  counts(): QueueCounts {
    return this.machine.counts();
  }

  /** Bodies held: ready + unacknowledged + dead-lettering messages. */
  get heldBodies(): number {
    return this.bodies.size;
  }

  /** Effects to re-issue (pending dead-letters, timer) e.g. after the node restarts its queue process. */
  leaderEffects(): QueueEffect[] {
    return this.machine.leaderEffects();
  }
}
