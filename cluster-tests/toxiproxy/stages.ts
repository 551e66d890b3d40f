/**
 * The toxics at work on one direction of one connection. A stage receives items (data with its
 * arrival time, or the end of the stream) and emits them, possibly later, changed or not at all.
 * Each follows the Pipe() of Toxiproxy's toxics/*.go; the per-type notes say where ours differs.
 *
 * The end of a stream carries how the connection should end at the sink: `eof` (the source
 * half-closed: pass a FIN on), `close` (a toxic closes the connection) or `reset` (reset_peer:
 * RST). Stages pass it on in order after the data they hold, like Toxiproxy's nil chunk.
 */
import type { Attributes, ToxicType } from "./toxic-config.js";

export type EndKind = "eof" | "close" | "reset";
export type DetachReason = "update" | "remove";
export type Item =
  | { readonly kind: "data"; readonly data: Buffer; readonly at: number }
  | { readonly kind: "end"; readonly how: EndKind };

export interface Stage {
  push(item: Item): void;
  /** Bytes held (for backpressure on the source socket). */
  buffered(): number;
  /**
   * Leaves the chain (`remove`) or is replaced by a fresh stage with new attributes (`update`):
   * cancel timers and hand back, in order, what it still holds.
   */
  detach(reason: DetachReason): Item[];
}

export interface StageContext {
  readonly emit: (item: Item) => void;
  readonly random: () => number;
  readonly now: () => number;
  /** Survives attribute updates of the same toxic on the same link (limit_data's count). */
  readonly state: { transmitted: number };
}

/** Toxiproxy's slicer recursion: offsets [0, a, a, b, ..., length] with random near-halves. */
export function sliceOffsets(
  start: number,
  end: number,
  averageSize: number,
  sizeVariation: number,
  random: () => number,
): number[] {
  if (end - start - averageSize <= sizeVariation) return [start, end];
  const jitter = sizeVariation > 0 ? Math.floor(random() * sizeVariation * 2) - sizeVariation : 0;
  const mid = start + Math.floor((end - start) / 2) + jitter;
  return [
    ...sliceOffsets(start, mid, averageSize, sizeVariation, random),
    ...sliceOffsets(mid, end, averageSize, sizeVariation, random),
  ];
}

/**
 * A FIFO that releases its head at a time the subclass computes; shared by latency, bandwidth
 * and slicer, which only differ in when (and in what pieces) data leaves.
 */
abstract class TimedQueue implements Stage {
  protected readonly queue: Array<{ item: Item; due: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private bytes = 0;
  constructor(protected readonly ctx: StageContext) {}

  abstract push(item: Item): void;

  protected enqueue(item: Item, due: number): void {
    this.queue.push({ item, due });
    if (item.kind === "data") this.bytes += item.data.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const head = this.queue[0];
    if (head === undefined) return;
    const wait = head.due - this.ctx.now();
    if (wait <= 0) {
      this.release();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.release();
    }, Math.ceil(wait));
  }

  private release(): void {
    const now = this.ctx.now();
    while (this.queue[0] !== undefined && this.queue[0].due <= now) {
      const { item } = this.queue.shift()!;
      if (item.kind === "data") this.bytes -= item.data.length;
      this.ctx.emit(item);
    }
    this.schedule();
  }

  buffered(): number {
    return this.bytes;
  }

  detach(): Item[] {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.bytes = 0;
    return this.queue.splice(0).map((q) => q.item);
  }
}

/** latency ± jitter from the moment the data was read, never reordering (Toxiproxy v2). */
class LatencyStage extends TimedQueue {
  private lastDue = 0;
  constructor(
    ctx: StageContext,
    private readonly attrs: Attributes,
  ) {
    super(ctx);
  }
  push(item: Item): void {
    let due = this.lastDue;
    if (item.kind === "data") {
      const latency = this.attrs.latency ?? 0;
      const jitter = this.attrs.jitter ?? 0;
      const delay = jitter > 0 ? latency + Math.floor(this.ctx.random() * jitter * 2) - jitter : latency;
      due = Math.max(item.at + Math.max(0, delay), this.lastDue);
    }
    this.lastDue = due;
    // Leaves stamped with its release time, so a later latency toxic adds its delay on top
    // (Toxiproxy moves the chunk's timestamp the same way).
    this.enqueue(item.kind === "data" ? { ...item, at: due } : item, due);
  }
}

/** rate KB/s (1 KB = 1000 bytes: Toxiproxy sleeps len/rate ms), in slices of at most 100 ms. */
class BandwidthStage extends TimedQueue {
  private nextFree = 0;
  constructor(
    ctx: StageContext,
    private readonly attrs: Attributes,
  ) {
    super(ctx);
  }
  push(item: Item): void {
    const rate = this.attrs.rate ?? 0;
    const now = this.ctx.now();
    if (this.nextFree < now) this.nextFree = now;
    if (item.kind === "end" || rate <= 0) {
      this.enqueue(item, this.nextFree);
      return;
    }
    const slice = rate * 100;
    for (let off = 0; off < item.data.length; off += slice) {
      const part = item.data.subarray(off, off + slice);
      this.nextFree += part.length / rate;
      this.enqueue({ kind: "data", data: part, at: item.at }, this.nextFree);
    }
  }
}

/** Cuts each chunk into slices (sliceOffsets) with `delay` microseconds between them. */
class SlicerStage extends TimedQueue {
  private nextFree = 0;
  constructor(
    ctx: StageContext,
    private readonly attrs: Attributes,
  ) {
    super(ctx);
  }
  push(item: Item): void {
    const now = this.ctx.now();
    if (this.nextFree < now) this.nextFree = now;
    if (item.kind === "end") {
      this.enqueue(item, this.nextFree);
      return;
    }
    const { average_size: avg = 1, size_variation: variation = 0, delay = 0 } = this.attrs;
    const offsets = sliceOffsets(0, item.data.length, avg, variation, this.ctx.random);
    for (let i = 1; i < offsets.length; i += 2) {
      const part = item.data.subarray(offsets[i - 1], offsets[i]);
      this.enqueue({ kind: "data", data: part, at: item.at }, this.nextFree);
      this.nextFree += delay / 1000;
    }
  }
}

/**
 * Drops everything; closes after `timeout` ms (0: never). Removing the toxic closes the
 * connections it held, as Toxiproxy's TimeoutToxic.Cleanup does; an update restarts the clock.
 */
class TimeoutStage implements Stage {
  private timer: NodeJS.Timeout | undefined;
  private done = false;
  constructor(
    private readonly ctx: StageContext,
    attrs: Attributes,
  ) {
    const timeout = attrs.timeout ?? 0;
    if (timeout > 0) this.timer = setTimeout(() => this.finish("close"), timeout);
  }
  private finish(how: EndKind): void {
    if (this.done) return;
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.ctx.emit({ kind: "end", how });
  }
  push(item: Item): void {
    // Toxiproxy closes the connection when the source ends while the toxic holds it.
    if (item.kind === "end") this.finish(item.how === "eof" ? "close" : item.how);
  }
  buffered(): number {
    return 0;
  }
  detach(reason: DetachReason): Item[] {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (reason === "update" || this.done) return [];
    this.done = true;
    return [{ kind: "end", how: "close" }];
  }
}

/** On the first item, drops data and resets the connection `timeout` ms later. */
class ResetPeerStage implements Stage {
  private timer: NodeJS.Timeout | undefined;
  private armed = false;
  constructor(
    private readonly ctx: StageContext,
    private readonly attrs: Attributes,
  ) {}
  push(): void {
    if (this.armed) return;
    this.armed = true;
    this.timer = setTimeout(() => this.ctx.emit({ kind: "end", how: "reset" }), this.attrs.timeout ?? 0);
  }
  buffered(): number {
    return 0;
  }
  detach(): Item[] {
    if (this.timer !== undefined) clearTimeout(this.timer);
    return [];
  }
}

/** Passes data; holds the end of the stream for `delay` ms. */
class SlowCloseStage implements Stage {
  private timer: NodeJS.Timeout | undefined;
  private held: Item | undefined;
  constructor(
    private readonly ctx: StageContext,
    private readonly attrs: Attributes,
  ) {}
  push(item: Item): void {
    if (item.kind === "data") {
      if (this.held === undefined) this.ctx.emit(item);
      return;
    }
    if (this.held !== undefined) return;
    this.held = item;
    this.timer = setTimeout(() => this.ctx.emit(item), this.attrs.delay ?? 0);
  }
  buffered(): number {
    return 0;
  }
  detach(): Item[] {
    if (this.timer !== undefined) clearTimeout(this.timer);
    return this.held === undefined ? [] : [this.held];
  }
}

/** Passes `bytes` bytes in total on this link, then closes the connection. */
class LimitDataStage implements Stage {
  private done = false;
  constructor(
    private readonly ctx: StageContext,
    private readonly attrs: Attributes,
  ) {}
  push(item: Item): void {
    if (this.done) return;
    if (item.kind === "end") {
      this.done = true;
      this.ctx.emit(item.how === "eof" ? { kind: "end", how: "close" } : item);
      return;
    }
    const limit = this.attrs.bytes ?? 0;
    const remaining = Math.max(0, limit - this.ctx.state.transmitted);
    const data = item.data.length > remaining ? item.data.subarray(0, remaining) : item.data;
    if (data.length > 0) {
      this.ctx.state.transmitted += data.length;
      this.ctx.emit({ kind: "data", data, at: item.at });
    }
    if (limit - this.ctx.state.transmitted <= 0) {
      this.done = true;
      this.ctx.emit({ kind: "end", how: "close" });
    }
  }
  buffered(): number {
    return 0;
  }
  detach(): Item[] {
    return [];
  }
}

export function createStage(type: ToxicType, attrs: Attributes, ctx: StageContext): Stage {
  switch (type) {
    case "latency":
      return new LatencyStage(ctx, attrs);
    case "bandwidth":
      return new BandwidthStage(ctx, attrs);
    case "slicer":
      return new SlicerStage(ctx, attrs);
    case "timeout":
      return new TimeoutStage(ctx, attrs);
    case "reset_peer":
      return new ResetPeerStage(ctx, attrs);
    case "slow_close":
      return new SlowCloseStage(ctx, attrs);
    case "limit_data":
      return new LimitDataStage(ctx, attrs);
  }
}
