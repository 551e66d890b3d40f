/**
 * Turns a channel's frames into commands: a method alone, or a content-carrying method with its
 * header and body (rabbit_command_assembler's state machine, with its reply codes and texts).
 * One assembler serves every channel of a connection; channel 0 never carries content.
 */
import { AmqpFrameError, FrameErrorCode } from "./errors.js";
import type { Method } from "./generated/methods.js";
import { methodSpec } from "./method-codec.js";
import type { BodyFrame, HeaderFrame, MethodFrame } from "./parser.js";
import type { ContentProperties } from "./properties.js";

export interface Content {
  readonly classId: number;
  readonly properties: ContentProperties;
  /** The header's property bytes as received (re-send them byte-exact with `{ raw }`). */
  readonly rawProperties: Buffer;
  /** One body frame: a view of it. Several: their concatenation (one copy, at the end). */
  readonly body: Buffer;
}

export interface Command {
  readonly channel: number;
  readonly method: Method;
  /** Present exactly when the method carries content (basic.publish, deliver, return, get-ok). */
  readonly content?: Content;
}

/** RabbitMQ's hard limit in rabbit_command_assembler (?MAX_MSG_SIZE): 512 MiB. */
export const MAX_BODY_SIZE = 536_870_912;

type ChannelState =
  | { readonly expect: "header"; readonly method: Method; readonly classId: number }
  | {
      readonly expect: "body";
      readonly method: Method;
      readonly header: HeaderFrame;
      remaining: number;
      readonly fragments: Buffer[];
    };

const EMPTY = Buffer.alloc(0);

export class CommandAssembler {
  private readonly states = new Map<number, ChannelState>();
  private readonly maxBodySize: number;

  constructor(opts: { maxBodySize?: number } = {}) {
    this.maxBodySize = opts.maxBodySize ?? MAX_BODY_SIZE;
  }

  /**
   * Feeds one frame of a channel (not heartbeats). Returns the command it completes, or undefined
   * while content is still expected. Throws AmqpFrameError (505 out of order, 501 too much body).
   */
  push(frame: MethodFrame | HeaderFrame | BodyFrame): Command | undefined {
    const channel = frame.channel;
    const state = this.states.get(channel);
    if (state === undefined) {
      if (frame.type !== "method") {
        throw unexpected("expected method frame, got non method frame instead", channel, undefined);
      }
      const spec = methodSpec(frame.method.name);
      if (!spec.content) return { channel, method: frame.method };
      this.states.set(channel, { expect: "header", method: frame.method, classId: spec.classId });
      return undefined;
    }
    if (state.expect === "header") {
      if (frame.type !== "header" || frame.weight !== 0) {
        throw unexpected(
          `expected content header for class ${state.classId}, got non content header frame instead`,
          channel,
          state.method,
        );
      }
      if (frame.classId !== state.classId) {
        throw unexpected(
          `expected content header for class ${state.classId}, got one for class ${frame.classId} instead`,
          channel,
          state.method,
        );
      }
      if (frame.bodySize > this.maxBodySize) {
        this.states.delete(channel);
        throw new AmqpFrameError(
          FrameErrorCode.FRAME_ERROR,
          `content body size ${frame.bodySize} exceeds maximum allowed size ${this.maxBodySize}`,
          where(channel, state.method),
        );
      }
      // Decode now, after the sequencing checks, so a misplaced header is 505 whatever its bytes.
      frame.properties;
      if (frame.bodySize === 0) {
        this.states.delete(channel);
        return this.complete(channel, state.method, frame, EMPTY);
      }
      this.states.set(channel, {
        expect: "body",
        method: state.method,
        header: frame,
        remaining: frame.bodySize,
        fragments: [],
      });
      return undefined;
    }
    if (frame.type !== "body") {
      throw unexpected("expected content body, got non content body frame instead", channel, state.method);
    }
    if (frame.payload.length > state.remaining) {
      this.states.delete(channel);
      throw new AmqpFrameError(
        FrameErrorCode.FRAME_ERROR,
        "content body frame exceeds remaining content size",
        where(channel, state.method),
      );
    }
    state.fragments.push(frame.payload);
    state.remaining -= frame.payload.length;
    if (state.remaining > 0) return undefined;
    this.states.delete(channel);
    const body = state.fragments.length === 1 ? state.fragments[0]! : Buffer.concat(state.fragments);
    return this.complete(channel, state.method, state.header, body);
  }

  /** True while a channel is between a content method and the end of its body. */
  inContent(channel: number): boolean {
    return this.states.has(channel);
  }

  /** Forgets a channel's partial command (the channel closed). */
  reset(channel: number): void {
    this.states.delete(channel);
  }

  private complete(channel: number, method: Method, header: HeaderFrame, body: Buffer): Command {
    return {
      channel,
      method,
      content: {
        classId: header.classId,
        properties: header.properties,
        rawProperties: header.rawProperties,
        body,
      },
    };
  }
}

function where(channel: number, method: Method | undefined) {
  if (method === undefined) return { channel };
  const spec = methodSpec(method.name);
  return { channel, classId: spec.classId, methodId: spec.methodId };
}

function unexpected(text: string, channel: number, method: Method | undefined): AmqpFrameError {
  return new AmqpFrameError(FrameErrorCode.UNEXPECTED_FRAME, text, where(channel, method));
}
