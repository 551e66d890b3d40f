/**
 * Typed errors of the codec. Decoding errors carry the AMQP reply code the connection must close
 * with (all are hard errors: after one the peer and we have lost frame sync or disagree on the
 * protocol). Encoding errors are programming errors of the caller (a 300-byte queue name, a
 * number where a table was due) and are never sent to a peer.
 */

/** The reply codes a codec failure maps to, with the spec's names (rabbit_reader's choices). */
export const FrameErrorCode = {
  /** Bad frame end, frame over frame_max, unknown frame type, undecodable method arguments. */
  FRAME_ERROR: 501,
  /** A field table or array that does not parse (unknown type tag, lengths past its end). */
  SYNTAX_ERROR: 502,
  /** A frame that is well-formed but forbidden where it is (content where a method was due). */
  UNEXPECTED_FRAME: 505,
  /** A class/method id pair that is not in the protocol (or is known but not served). */
  NOT_IMPLEMENTED: 540,
} as const;
export type FrameErrorCode = (typeof FrameErrorCode)[keyof typeof FrameErrorCode];

const NAMES: Readonly<Record<FrameErrorCode, string>> = {
  501: "FRAME_ERROR",
  502: "SYNTAX_ERROR",
  505: "UNEXPECTED_FRAME",
  540: "NOT_IMPLEMENTED",
};

/**
 * A peer sent bytes we cannot accept. `replyCode`/`replyText` are what `connection.close` says;
 * `classId`/`methodId` name the offending method when known (0 otherwise), as the spec asks.
 */
export class AmqpFrameError extends Error {
  override readonly name = "AmqpFrameError";
  readonly replyCode: FrameErrorCode;
  readonly channel: number;
  readonly classId: number;
  readonly methodId: number;

  constructor(
    replyCode: FrameErrorCode,
    message: string,
    where: { channel?: number; classId?: number; methodId?: number } = {},
  ) {
    super(message);
    this.replyCode = replyCode;
    this.channel = where.channel ?? 0;
    this.classId = where.classId ?? 0;
    this.methodId = where.methodId ?? 0;
  }

  /** `FRAME_ERROR - bad frame end marker 0x41`: the reply text RabbitMQ's style puts on the wire. */
  get replyText(): string {
    return `${NAMES[this.replyCode]} - ${this.message}`;
  }
}

/**
 * The first 8 bytes were not `AMQP\x00\x00\x09\x01`. The caller writes `PROTOCOL_HEADER` back
 * and closes the socket (AMQP 0-9-1 §4.2.2); no close method is involved.
 */
export class AmqpProtocolHeaderError extends Error {
  override readonly name = "AmqpProtocolHeaderError";
  /** The bytes received instead (up to 8). */
  readonly received: Buffer;

  constructor(received: Buffer) {
    super(`bad AMQP protocol header ${JSON.stringify(received.toString("latin1"))}`);
    this.received = received;
  }
}

/** A value the caller asked us to encode does not fit the protocol (never a peer's fault). */
export class AmqpEncodeError extends Error {
  override readonly name = "AmqpEncodeError";
}
