/** The handler map's shape: one function per client method, keyed by the method's name. */
import type { MessageProperties } from "../../queue/types.js";
import type { AmqpChannel } from "../channel.js";
import type { Method, MethodName } from "../codec/index.js";

export interface Content {
  readonly properties: MessageProperties;
  readonly body: Uint8Array;
}

export type Handler<N extends MethodName> = (
  ch: AmqpChannel,
  m: Extract<Method, { name: N }>,
  content?: Content,
) => Promise<void> | void;

export type HandlerMap = { readonly [N in MethodName]?: Handler<N> };
