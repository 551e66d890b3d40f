/**
 * A small deterministic state machine for the host tests and the process fixture: it records
 * every applied command in order. Commands `{ v, keep: true }` stay "live" (their entries are
 * named in every snapshot, as a queue keeps unsettled message bodies in the log).
 */
import { pack, unpack } from "msgpackr";
import type { ApplyMeta, MachineSnapshot, StateMachine } from "../state-machine.js";

export interface ListCommand {
  readonly v: string;
  readonly keep?: boolean;
}

export interface ListResult {
  readonly index: number;
  /** How many commands this replica has applied so far, this one included. */
  readonly count: number;
  readonly v: string;
}

export class ListMachine implements StateMachine<ListCommand, ListResult> {
  /** [index, value] of every applied command, in apply order. */
  values: Array<[number, string]> = [];
  live: number[] = [];
  restores = 0;
  /** Snapshots taken of this replica. */
  snapshots = 0;
  lastTime = 0;

  apply(meta: ApplyMeta, command: ListCommand): ListResult {
    this.values.push([meta.index, command.v]);
    if (command.keep === true) this.live.push(meta.index);
    this.lastTime = meta.time;
    return { index: meta.index, count: this.values.length, v: command.v };
  }

  snapshot(): MachineSnapshot {
    this.snapshots++;
    return { state: pack({ values: this.values, live: this.live }), live: [...this.live] };
  }

  restore(snapshot: MachineSnapshot): void {
    const s = unpack(snapshot.state) as { values: Array<[number, string]>; live: number[] };
    this.values = s.values;
    this.live = s.live;
    this.restores++;
  }
}
