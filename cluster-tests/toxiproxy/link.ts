/**
 * One direction of one proxied connection: source socket -> chain of toxic stages -> sink socket.
 * Toxics join and leave the chain while data flows (Toxiproxy adds a toxic to live links too):
 * a new one goes at the end, a removed one hands what it held to its successor, an updated one
 * is replaced by a fresh stage (as Toxiproxy restarts the toxic's Pipe) keeping its state.
 */
import type { Socket } from "node:net";
import { createStage, type EndKind, type Item, type Stage } from "./stages.js";
import type { ToxicConfig } from "./toxic-config.js";

/** Pause reading the source beyond this many bytes held by the chain and the sink's buffer. */
const HIGH_WATER_BYTES = 1 << 20;

interface Slot {
  readonly name: string;
  stage: Stage | undefined; // undefined: the toxicity roll left this link untouched
  readonly state: { transmitted: number };
}

export interface LinkOptions {
  readonly source: Socket;
  readonly sink: Socket;
  readonly random: () => number;
  readonly now: () => number;
  /** The end of the stream reached the sink. */
  readonly onEnd: (how: EndKind) => void;
}

export class Link {
  private readonly slots: Slot[] = [];
  private finished = false;
  private recheck: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LinkOptions) {
    opts.source.on("data", (data: Buffer) => {
      this.deliver(0, { kind: "data", data, at: opts.now() });
      this.applyBackpressure();
    });
    opts.source.on("end", () => this.deliver(0, { kind: "end", how: "eof" }));
    opts.sink.on("drain", () => this.applyBackpressure());
  }

  /** Adds a toxic at the end of the chain; it affects this link with probability `toxicity`. */
  add(toxic: ToxicConfig): void {
    const slot: Slot = { name: toxic.name, stage: undefined, state: { transmitted: 0 } };
    this.slots.push(slot);
    slot.stage = this.roll(slot, toxic);
  }

  update(toxic: ToxicConfig): void {
    const i = this.slots.findIndex((s) => s.name === toxic.name);
    const slot = this.slots[i];
    if (slot === undefined) return;
    const held = slot.stage?.detach("update") ?? [];
    slot.stage = this.roll(slot, toxic);
    for (const item of held) this.deliver(i, item);
  }

  remove(name: string): void {
    const i = this.slots.findIndex((s) => s.name === name);
    const slot = this.slots[i];
    if (slot === undefined) return;
    const held = slot.stage?.detach("remove") ?? [];
    this.slots.splice(i, 1);
    for (const item of held) this.deliver(i, item);
  }

  /** The connection is going away: stop every timer, drop what is held. */
  stop(): void {
    this.finished = true;
    if (this.recheck !== undefined) clearTimeout(this.recheck);
    for (const slot of this.slots) slot.stage?.detach("update");
  }

  private roll(slot: Slot, toxic: ToxicConfig): Stage | undefined {
    if (!(this.opts.random() < toxic.toxicity)) return undefined;
    const emit = (item: Item): void => {
      const at = this.slots.indexOf(slot);
      if (at >= 0 && slot.stage === stage) this.deliver(at + 1, item);
    };
    const stage = createStage(toxic.type, toxic.attributes, {
      emit,
      random: this.opts.random,
      now: this.opts.now,
      state: slot.state,
    });
    return stage;
  }

  /** Hands `item` to the first active stage at or after index `from`, or to the sink. */
  private deliver(from: number, item: Item): void {
    if (this.finished) return;
    for (let i = from; i < this.slots.length; i++) {
      const stage = this.slots[i]?.stage;
      if (stage !== undefined) {
        stage.push(item);
        return;
      }
    }
    if (item.kind === "data") {
      if (!this.opts.sink.destroyed) this.opts.sink.write(item.data);
      return;
    }
    this.finished = true;
    this.opts.onEnd(item.how);
  }

  private applyBackpressure(): void {
    let held = this.opts.sink.writableLength;
    for (const slot of this.slots) held += slot.stage?.buffered() ?? 0;
    const source = this.opts.source;
    if (held > HIGH_WATER_BYTES) {
      if (!source.isPaused()) source.pause();
      // Stages release data on their timers, not on sink drains: look again shortly.
      if (this.recheck === undefined && !this.finished) {
        this.recheck = setTimeout(() => {
          this.recheck = undefined;
          this.applyBackpressure();
        }, 10);
      }
    } else if (source.isPaused()) {
      source.resume();
    }
  }
}
