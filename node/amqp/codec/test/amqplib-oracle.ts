/**
 * amqplib's own codec (lib/defs.js, generated from the same spec, and lib/codec.js) as a test
 * oracle: bytes it writes must decode with ours, and the other way round.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

export interface AmqplibArg {
  readonly type: string;
  readonly name: string;
  readonly default?: unknown;
}
export interface AmqplibMethodInfo {
  readonly id: number;
  readonly classId: number;
  readonly methodId: number;
  readonly name: string;
  readonly args: readonly AmqplibArg[];
}
interface AmqplibDefs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
  decode(id: number, buf: Buffer): Record<string, unknown>;
  info(id: number): AmqplibMethodInfo;
  [key: string]: unknown;
}
interface AmqplibCodec {
  encodeTable(buffer: Buffer, val: Record<string, unknown>, offset: number): number;
  decodeFields(slice: Buffer): Record<string, unknown>;
}

// amqplib's package "exports" hide lib/: load the files by path.
const lib = join(dirname(require.resolve("amqplib")), "lib");
export const defs = require(join(lib, "defs.js")) as AmqplibDefs;
export const codec = require(join(lib, "codec.js")) as AmqplibCodec;

interface AmqplibFrameStructure {
  readonly type: number;
  readonly channel: number;
  readonly payload: Buffer;
  readonly rest: Buffer;
}
interface AmqplibFrame {
  parseFrame(bin: Buffer, max: number): AmqplibFrameStructure | false;
  decodeFrame(f: AmqplibFrameStructure): {
    id?: number;
    channel: number;
    size?: number;
    fields?: Record<string, unknown>;
    content?: Buffer;
  };
  makeBodyFrame(channel: number, payload: Buffer): Buffer;
}
export const frame = require(join(lib, "frame.js")) as AmqplibFrame;

/** Every method amqplib knows. */
export const amqplibMethods: readonly AmqplibMethodInfo[] = Object.keys(defs)
  .filter((k) => k.startsWith("methodInfo"))
  .map((k) => defs[k] as AmqplibMethodInfo);

/** amqplib's spelling of a field: camelCase, but `nowait` everywhere. */
export function amqplibFieldName(ours: string): string {
  return ours === "noWait" ? "nowait" : ours;
}

/** A table encoded by amqplib (with its 32-bit length prefix). */
export function amqplibEncodeTable(table: Record<string, unknown>): Buffer {
  const buf = Buffer.alloc(1 << 16);
  const n = codec.encodeTable(buf, table, 0);
  return Buffer.from(buf.subarray(0, n));
}
