/**
 * AMQP 0-9-1 codec (RabbitMQ's dialect), in layers as amqplib has them:
 *
 * - `binary.ts`: bounds-checked primitives. `field-table.ts` + `field-value.ts`: field tables.
 * - `generated/methods.ts`: constants, the `Method` union and the method table, generated from
 *   the spec XML by `gen/` (see docs/amqp-codec.md). `method-codec.ts` interprets that table;
 *   `properties.ts` does content header properties.
 * - `frame.ts`: encoding frames. `parser.ts`: streaming decoding. `assembler.ts`: frames ->
 *   commands (method + content), with RabbitMQ's sequencing errors.
 *
 * The API:
 * ```ts
 * type Method = { name: "queue.declare"; queue: string; passive: boolean; ... } | ...  // by `name`
 * encodeMethodFrame(channel, method): Buffer
 * encodeContentFrames(channel, classId, properties | { raw }, body, frameMax): Buffer[]  // write in order
 * encodeHeartbeat(): Buffer
 * const parser = new FrameParser({ frameMax: 4096, expectProtocolHeader: true });
 * for (const f of parser.push(chunk)) ...  // protocol-header | method | header | body | heartbeat
 * parser.frameMax = tuned;                 // after tune-ok
 * const assembler = new CommandAssembler(); assembler.push(frame) -> Command | undefined
 * ```
 * Decoding failures throw `AmqpFrameError` with `replyCode` (501/502/505/540) and `replyText`
 * for the `connection.close` the caller must send; a wrong protocol header throws
 * `AmqpProtocolHeaderError` (write `PROTOCOL_HEADER` back and close). Encoding a value that does
 * not fit throws `AmqpEncodeError` (a bug of the caller, never sent to a peer).
 *
 * Buffers in decoded frames (body payloads, raw properties, longstr arguments, `x` values) are
 * views of the received chunk; the parser never reuses a buffer it handed out (parser.ts).
 */
export { type Command, CommandAssembler, type Content, MAX_BODY_SIZE } from "./assembler.js";
export { AmqpEncodeError, AmqpFrameError, AmqpProtocolHeaderError, FrameErrorCode } from "./errors.js";
export { decodeTableBody, encodeTable, MAX_DEPTH } from "./field-table.js";
export {
  type DecimalValue,
  type DecodedDecimal,
  FIELD_TYPE_TAGS,
  type FieldTable,
  type FieldTypeName,
  type FieldValue,
  type TypedFieldValue,
  typed,
} from "./field-value.js";
export {
  type ContentPropertiesInput,
  encodeContentFrames,
  encodeHeartbeat,
  encodeMethodFrame,
  FRAME_END,
  FRAME_MIN_SIZE,
  FRAME_OVERHEAD,
  FrameType,
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  writeContentFrames,
  writeMethodFrame,
} from "./frame.js";
export * from "./generated/methods.js";
export { decodeMethod, methodSpec, methodSpecById } from "./method-codec.js";
export {
  type BodyFrame,
  ContentHeaderFrame,
  decodeFrame,
  type Frame,
  FrameParser,
  type FrameParserOptions,
  type HeaderFrame,
  type HeartbeatFrame,
  type MethodFrame,
  type ProtocolHeaderFrame,
} from "./parser.js";
export { type ContentProperties, decodeProperties, encodeProperties } from "./properties.js";
