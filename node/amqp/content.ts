/**
 * basic.publish content as it arrives on a channel: the content header (class 60, weight 0),
 * then body frames adding up to the size it announced, with rabbit_command_assembler's checks
 * (505 for a frame of the wrong kind, 501 for more body than announced). Body frames are views
 * of the socket's chunks; only a body split over several frames is joined.
 */
import { WarrenError } from "../errors.js";
import type { MessageProperties } from "../queue/types.js";
import type { Frame, Method } from "./codec/index.js";
import { unexpectedFrame } from "./errors.js";
import type { Content } from "./handlers/types.js";
import { toMessageProperties } from "./properties.js";

export type Publish = Extract<Method, { name: "basic.publish" }>;

export class PendingContent {
  /** Announced by the content header (0 until it arrived). */
  bodySize = 0;
  private properties: MessageProperties | undefined;
  private readonly chunks: Buffer[] = [];
  private received = 0;

  constructor(readonly method: Publish) {}

  /** True once the content header arrived. */
  get hasHeader(): boolean {
    return this.properties !== undefined;
  }

  /** Takes the next frame of the content; returns the content once complete. */
  push(frame: Frame): Content | undefined {
    if (this.properties === undefined) {
      if (frame.type !== "header" || frame.weight !== 0) {
        throw unexpectedFrame("expected content header for class 60, got non content header frame instead");
      }
      if (frame.classId !== 60) {
        throw unexpectedFrame(
          `expected content header for class 60, got one for class ${frame.classId} instead`,
        );
      }
      this.properties = toMessageProperties(frame.properties);
      this.bodySize = Number(frame.bodySize);
      return this.bodySize === 0 ? this.complete() : undefined;
    }
    if (frame.type !== "body") {
      throw unexpectedFrame("expected content body, got non content body frame instead");
    }
    this.received += frame.payload.byteLength;
    if (this.received > this.bodySize) {
      // rabbit_command_assembler: more body than the header announced is a frame error.
      throw new WarrenError("FRAME_ERROR", "content body frame exceeds remaining content size");
    }
    this.chunks.push(frame.payload);
    return this.received === this.bodySize ? this.complete() : undefined;
  }

  private complete(): Content {
    const c = this.chunks;
    const body = c.length === 1 ? (c[0] as Buffer) : Buffer.concat(c);
    // A single frame's body is a view of the socket chunk: copy a small one so the queue does
    // not keep a whole chunk alive for it; a large one is most of its chunk anyway.
    const owned = c.length === 1 && body.byteLength < body.buffer.byteLength / 2 ? Buffer.from(body) : body;
    return { properties: this.properties ?? {}, body: owned };
  }
}
