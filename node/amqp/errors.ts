/**
 * Protocol errors raised by the AMQP door itself (frame sequencing, channel numbers, methods a
 * client must not send), with RabbitMQ's texts. Broker errors arrive as WarrenError already;
 * both become a close through `closeFor`.
 */
import { WarrenError } from "../errors.js";
import { AmqpFrameError } from "./codec/index.js";

/** 504: a method on a channel that is not open (rabbit_reader's text). */
export function expectedChannelOpen(): WarrenError {
  return new WarrenError("CHANNEL_ERROR", "expected 'channel.open'");
}

/** 505: a content frame where a method frame was expected, or the other way round. */
export function unexpectedFrame(message: string): WarrenError {
  return new WarrenError("UNEXPECTED_FRAME", message);
}

/** 503: a method the server never accepts from a client (basic.deliver, connection.start, ...). */
export function commandInvalid(message: string): WarrenError {
  return new WarrenError("COMMAND_INVALID", message);
}

export function notImplemented(message: string): WarrenError {
  return new WarrenError("NOT_IMPLEMENTED", message);
}

export function preconditionFailed(message: string): WarrenError {
  return new WarrenError("PRECONDITION_FAILED", message);
}

/** The close a failure becomes: a WarrenError's own AMQP reply, anything else 541. */
export function closeFor(err: unknown): { replyCode: number; replyText: string; hard: boolean } {
  // Codec errors are all hard: the peer and we no longer agree on the protocol.
  if (err instanceof AmqpFrameError) {
    return { replyCode: err.replyCode, replyText: shortString(err.replyText), hard: true };
  }
  if (err instanceof WarrenError) {
    const a = err.amqp;
    if (a !== undefined) return a;
  }
  const internal = new WarrenError("INTERNAL_ERROR", err instanceof Error ? err.message : String(err));
  return internal.amqp ?? { replyCode: 541, replyText: `INTERNAL_ERROR - ${internal.message}`, hard: true };
}

/** Reply texts are short strings: at most 255 bytes of UTF-8, cut on a character boundary. */
export function shortString(text: string): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= 255) return text;
  let end = 255;
  // Back off continuation bytes (10xxxxxx) so the cut never splits a character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString("utf8");
}
