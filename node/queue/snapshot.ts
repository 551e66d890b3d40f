/**
 * Snapshot encoding of the queue machine: msgpackr over plain data, typed-array columns as
 * raw little-endian bytes. Canonical: tombstones are dropped and returned ids sorted, so two
 * machines in the same logical state produce the same bytes whatever their history.
 */
import { Packr } from "msgpackr";
import type { QueueConfig } from "./config.js";
import type { Holder } from "./consumers.js";
import type { LevelData } from "./message-table.js";
import type { PublisherData } from "./publishers.js";

const FORMAT = 1;

export interface SnapshotState {
  config: QueueConfig;
  levels: (LevelData | null)[];
  consumers: { nextSlot: number; service: number[]; holders: Holder[] };
  /** Absent in snapshots written before publishers were sequenced. */
  publishers?: PublisherData[];
  lastUsed: number;
  timerAt: number;
  deleteRequested: boolean;
}

const packr = new Packr({ useRecords: false });

function bytes(a: Float64Array | Uint32Array | Uint8Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Copies into a fresh (aligned) buffer: the decoder's Uint8Array may sit at any offset. */
function aligned(b: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return copy.buffer;
}

export function encodeSnapshot(s: SnapshotState): Uint8Array {
  return packr.pack({
    format: FORMAT,
    config: s.config,
    levels: s.levels.map((l) =>
      l
        ? {
            ids: bytes(l.ids),
            times: bytes(l.times),
            sizes: bytes(l.sizes),
            counts: bytes(l.counts),
            owners: bytes(l.owners),
            states: bytes(l.states),
            cursor: l.cursor,
            returned: bytes(l.returned),
          }
        : null,
    ),
    consumers: s.consumers,
    publishers: s.publishers ?? [],
    lastUsed: s.lastUsed,
    timerAt: s.timerAt,
    deleteRequested: s.deleteRequested,
  });
}

interface EncodedLevel {
  ids: Uint8Array;
  times: Uint8Array;
  sizes: Uint8Array;
  counts: Uint8Array;
  owners: Uint8Array;
  states: Uint8Array;
  cursor: number;
  returned: Uint8Array;
}

export function decodeSnapshot(data: Uint8Array): SnapshotState {
  const raw = packr.unpack(data) as Omit<SnapshotState, "levels"> & {
    format: number;
    levels: (EncodedLevel | null)[];
  };
  if (raw.format !== FORMAT) throw new RangeError(`unknown queue snapshot format ${raw.format}`);
  return {
    config: raw.config,
    levels: raw.levels.map((l) =>
      l
        ? {
            ids: new Float64Array(aligned(l.ids)),
            times: new Float64Array(aligned(l.times)),
            sizes: new Uint32Array(aligned(l.sizes)),
            counts: new Uint32Array(aligned(l.counts)),
            owners: new Uint32Array(aligned(l.owners)),
            states: new Uint8Array(aligned(l.states)),
            cursor: l.cursor,
            returned: new Float64Array(aligned(l.returned)),
          }
        : null,
    ),
    consumers: raw.consumers,
    publishers: raw.publishers ?? [],
    lastUsed: raw.lastUsed,
    timerAt: raw.timerAt,
    deleteRequested: raw.deleteRequested,
  };
}
