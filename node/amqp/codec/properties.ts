/**
 * Content header properties (§4.2.6.1): 16-bit flag words (bit 15 = first property, bit 0 =
 * another flag word follows), then the present properties in spec order. Only basic carries
 * content in 0-9-1; its property list comes from the generated CLASS_PROPERTIES. No class has a
 * bit property (whose value would be its flag alone); generated.test.ts checks that stays so.
 */

import type { MessageProperties } from "../../queue/types.js";
import { Reader, Writer } from "./binary.js";
import { AmqpEncodeError, AmqpFrameError, FrameErrorCode } from "./errors.js";
import { CLASS_PROPERTIES, type FieldSpec } from "./generated/methods.js";
import { readFields, writeField, writeFields } from "./method-codec.js";

/** basic's properties as decoded (timestamp is a Date; `clusterId` is 0-8's deprecated field). */
export interface ContentProperties extends MessageProperties {
  clusterId?: string;
}

function propertySpecs(classId: number): readonly FieldSpec[] {
  const specs = CLASS_PROPERTIES.get(classId);
  if (specs === undefined) {
    throw new AmqpFrameError(FrameErrorCode.FRAME_ERROR, `class ${classId} has no content`, { classId });
  }
  return specs;
}

/**
 * Decodes the property bytes of a content header (flags then values) at buf[start, end).
 * Malformed properties are 501 (RabbitMQ cannot decode them either); a bad headers table, 502.
 */
export function decodeProperties(
  classId: number,
  buf: Buffer,
  start: number,
  end: number,
): ContentProperties {
  const specs = propertySpecs(classId);
  const r = new Reader(buf, start, end, FrameErrorCode.FRAME_ERROR);
  const present: FieldSpec[] = [];
  let index = 0;
  for (;;) {
    const flags = r.u16();
    for (let bit = 15; bit >= 1; bit--, index++) {
      if ((flags & (1 << bit)) === 0) continue;
      const spec = specs[index];
      if (spec === undefined) {
        throw new AmqpFrameError(
          FrameErrorCode.FRAME_ERROR,
          `property flag ${index} set but class ${classId} has ${specs.length}`,
          { classId },
        );
      }
      present.push(spec);
    }
    if ((flags & 1) === 0) break;
  }
  const props = readFields(r, present, {}) as ContentProperties;
  if (r.remaining !== 0) {
    throw new AmqpFrameError(
      FrameErrorCode.FRAME_ERROR,
      `${r.remaining} octets after the content properties`,
      { classId },
    );
  }
  return props;
}

/** Encodes flags and values of the properties that are set (undefined = absent). */
export function writeProperties(w: Writer, classId: number, props: ContentProperties): void {
  const specs = CLASS_PROPERTIES.get(classId);
  if (specs === undefined) throw new AmqpEncodeError(`class ${classId} has no content`);
  const values = props as Record<string, unknown>;
  if (specs.length <= 15) {
    // One flag word (basic has 14 properties): reserve it, write values, then fill it in.
    const flagsAt = w.pos;
    w.u16(0);
    let flags = 0;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i]!;
      const v = values[spec.name];
      if (v === undefined) continue;
      flags |= 1 << (15 - i);
      writeField(w, spec, v, "properties");
    }
    w.buf.writeUInt16BE(flags, flagsAt);
    return;
  }
  const present: FieldSpec[] = [];
  const words: number[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    const word = Math.floor(i / 15);
    while (words.length <= word) words.push(0);
    if (values[spec.name] === undefined) continue;
    words[word] = words[word]! | (1 << (15 - (i % 15)));
    present.push(spec);
  }
  // Drop trailing empty flag words, then chain the rest with continuation bits.
  while (words.length > 1 && words[words.length - 1] === 0) words.pop();
  for (let i = 0; i < words.length; i++) w.u16(words[i]! | (i < words.length - 1 ? 1 : 0));
  writeFields(w, present, values, "properties");
}

/** The property bytes alone (flags and values), as `rawProperties` holds them. */
export function encodeProperties(classId: number, props: ContentProperties): Buffer {
  const w = new Writer(64);
  writeProperties(w, classId, props);
  return w.finish();
}
