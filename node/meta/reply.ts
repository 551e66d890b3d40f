/**
 * Turning a metadata reply back into a value or a thrown WarrenError, for the doors: a reply is
 * plain data (it may have crossed msgpackr from the leader), the error class is rebuilt here.
 */
import { WarrenError } from "../errors.js";
import type { MetaCommand, MetaReplies, MetaReply } from "./types.js";

export function unwrapReply<T extends MetaCommand["type"]>(reply: MetaReply<T>): MetaReplies[T] {
  if (!reply.ok) throw WarrenError.fromData(reply.error);
  const { ok: _ok, ...payload } = reply;
  return payload as unknown as MetaReplies[T];
}
