/**
 * Method arguments, interpreted from the generated METHOD_SPECS table: one generic loop per
 * direction instead of hand-written code per method, so a method's wire layout lives in exactly
 * one place (the spec). Consecutive bit fields share octets (bit 0 first), as §4.2.5.2 says.
 */
import { Reader, type Writer } from "./binary.js";
import { AmqpEncodeError, AmqpFrameError, FrameErrorCode } from "./errors.js";
import { readTable, writeTable } from "./field-table.js";
import type { FieldTable } from "./field-value.js";
import {
  type FieldSpec,
  METHOD_SPECS,
  type Method,
  type MethodName,
  type MethodSpec,
} from "./generated/methods.js";

/** The latest second a Date can represent (8.64e15 ms). */
const MAX_DATE_SECONDS = 8_640_000_000_000;

const byId = new Map<number, MethodSpec>();
const byName = new Map<string, MethodSpec>();
for (const spec of METHOD_SPECS) {
  byId.set(spec.classId * 0x10000 + spec.methodId, spec);
  byName.set(spec.name, spec);
}

/** The spec of a method by class and method id, or undefined if the protocol has no such method. */
export function methodSpecById(classId: number, methodId: number): MethodSpec | undefined {
  return byId.get(classId * 0x10000 + methodId);
}

export function methodSpec(name: MethodName): MethodSpec {
  const spec = byName.get(name);
  if (spec === undefined) throw new AmqpEncodeError(`unknown method ${name}`);
  return spec;
}

/**
 * Decodes a method frame payload (class id, method id, arguments) at buf[start, end).
 * Unknown ids are 540 NOT_IMPLEMENTED; arguments that do not fit the payload exactly are 501
 * FRAME_ERROR (RabbitMQ's "cannot decode"); a bad field table inside is 502 SYNTAX_ERROR.
 */
export function decodeMethod(buf: Buffer, start: number, end: number, channel: number): Method {
  const r = new Reader(buf, start, end, FrameErrorCode.FRAME_ERROR);
  if (r.remaining < 4) {
    throw new AmqpFrameError(FrameErrorCode.FRAME_ERROR, `method frame of ${r.remaining} octets`, {
      channel,
    });
  }
  const classId = r.u16();
  const methodId = r.u16();
  const spec = byId.get(classId * 0x10000 + methodId);
  const where = { channel, classId, methodId };
  if (spec === undefined) {
    throw new AmqpFrameError(FrameErrorCode.NOT_IMPLEMENTED, `unknown method ${classId}/${methodId}`, where);
  }
  try {
    const method = readFields(r, spec.fields, { name: spec.name }) as unknown as Method;
    if (r.remaining !== 0) {
      throw new AmqpFrameError(FrameErrorCode.FRAME_ERROR, `${r.remaining} octets after the arguments`);
    }
    return method;
  } catch (e) {
    if (e instanceof AmqpFrameError && e.classId === 0) {
      throw new AmqpFrameError(e.replyCode, `cannot decode ${spec.name}: ${e.message}`, where);
    }
    throw e;
  }
}

/** Reads a field list into `into`; also used for content properties (no bits there). */
export function readFields(r: Reader, fields: readonly FieldSpec[], into: Record<string, unknown>) {
  let bits = 0;
  let bitIndex = 8;
  for (const f of fields) {
    let v: unknown;
    if (f.type === "bit") {
      if (bitIndex === 8) {
        bits = r.u8();
        bitIndex = 0;
      }
      v = (bits & (1 << bitIndex++)) !== 0;
    } else {
      bitIndex = 8;
      v = readField(r, f);
    }
    if (f.reserved !== true) into[f.name] = v;
  }
  return into;
}

function readField(r: Reader, f: FieldSpec): unknown {
  switch (f.type) {
    case "octet":
      return r.u8();
    case "short":
      return r.u16();
    case "long":
      return r.u32();
    case "longlong":
      return r.u64();
    case "shortstr":
      return r.shortstr();
    case "longstr":
      return r.longstrBytes();
    case "timestamp": {
      // Beyond what a Date holds (a peer's garbage): seconds as a number, which encodes back.
      const secs = r.u64();
      return secs <= MAX_DATE_SECONDS ? new Date(secs * 1000) : secs;
    }
    case "table":
      return readTable(r);
    case "bit":
      return false; // handled by the caller (bits are packed)
  }
}

/** Writes class id, method id and arguments. */
export function writeMethod(w: Writer, method: Method): void {
  const spec = methodSpec(method.name);
  w.u16(spec.classId);
  w.u16(spec.methodId);
  writeFields(w, spec.fields, method as unknown as Record<string, unknown>, method.name);
}

export function writeFields(
  w: Writer,
  fields: readonly FieldSpec[],
  values: Record<string, unknown>,
  what: string,
) {
  let bitsAt = -1;
  let bitIndex = 8;
  for (const f of fields) {
    const v = f.reserved === true ? undefined : values[f.name];
    if (f.type === "bit") {
      if (bitIndex === 8) {
        bitsAt = w.pos;
        w.u8(0);
        bitIndex = 0;
      }
      if (v === true) w.buf[bitsAt] = w.buf[bitsAt]! | (1 << bitIndex);
      else if (v !== false && v !== undefined)
        throw new AmqpEncodeError(`${what}.${f.name} must be a boolean`);
      bitIndex++;
      continue;
    }
    bitIndex = 8;
    writeField(w, f, v, what);
  }
}

function uint(v: unknown, max: number, f: FieldSpec, what: string): number {
  if (v === undefined) return 0;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    throw new AmqpEncodeError(`${what}.${f.name} must be an integer in [0, ${max}], not ${String(v)}`);
  }
  return v;
}

export function writeField(w: Writer, f: FieldSpec, v: unknown, what: string): void {
  switch (f.type) {
    case "octet":
      w.u8(uint(v, 0xff, f, what));
      return;
    case "short":
      w.u16(uint(v, 0xffff, f, what));
      return;
    case "long":
      w.u32(uint(v, 0xffff_ffff, f, what));
      return;
    case "longlong":
      w.u64(uint(v, Number.MAX_SAFE_INTEGER, f, what));
      return;
    case "shortstr":
      if (v !== undefined && typeof v !== "string")
        throw new AmqpEncodeError(`${what}.${f.name} must be a string`);
      w.shortstr(v ?? "");
      return;
    case "longstr":
      if (v !== undefined && typeof v !== "string" && !(v instanceof Uint8Array)) {
        throw new AmqpEncodeError(`${what}.${f.name} must be a string or bytes`);
      }
      w.longstr(v ?? "");
      return;
    case "timestamp": {
      const secs = v instanceof Date ? Math.floor(v.getTime() / 1000) : v;
      w.u64(uint(secs, Number.MAX_SAFE_INTEGER, f, what));
      return;
    }
    case "table":
      if (v !== undefined && (typeof v !== "object" || v === null || Array.isArray(v))) {
        throw new AmqpEncodeError(`${what}.${f.name} must be a field table`);
      }
      writeTable(w, (v ?? {}) as FieldTable);
      return;
    case "bit":
      return;
  }
}
