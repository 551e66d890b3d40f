/**
 * One-line descriptions of messages and configurations for traces. Only called when a
 * trace line is printed, so it may be as verbose as helps a reader.
 */
import { type ConfChange, ConfChangeType, type ConfState, type Message, MessageType } from "../core/types.js";
import { describeData } from "./machine.js";

const messageNames = new Map<number, string>(
  Object.entries(MessageType).map(([name, value]) => [value, name]),
);
const confChangeNames = new Map<number, string>(
  Object.entries(ConfChangeType).map(([name, value]) => [value, name]),
);

/** e.g. `MsgApp n1->n2 term=3 index=10 logTerm=3 commit=9 entries=[11:3 c42,12:3 noop]`. */
export function describeMessage(m: Message): string {
  const parts = [`${messageNames.get(m.type) ?? `Msg${m.type}`} ${m.from}->${m.to} term=${m.term}`];
  if (m.index !== undefined) parts.push(`index=${m.index}`);
  if (m.logTerm !== undefined) parts.push(`logTerm=${m.logTerm}`);
  if (m.commit !== undefined) parts.push(`commit=${m.commit}`);
  if (m.reject) parts.push(`REJECT hint=${m.rejectHint ?? "-"}/${m.logTermHint ?? "-"}`);
  if (m.entries && m.entries.length > 0) {
    const shown = m.entries
      .slice(0, 4)
      .map((e) => `${e.index}:${e.term} ${e.type === 1 ? "conf" : describeData(e.data).slice(0, 12)}`);
    if (m.entries.length > 4) shown.push(`+${m.entries.length - 4}`);
    parts.push(`entries=[${shown.join(",")}]`);
  }
  if (m.snapshot) {
    const s = m.snapshot;
    parts.push(
      `snapshot=${s.meta.index}:${s.meta.term} live=[${s.live.join(",")}] ${describeConf(s.meta.conf)}`,
    );
  }
  if (m.context && m.context.length > 0) parts.push(`ctx=${describeData(m.context)}`);
  return parts.join(" ");
}

export function describeConf(c: ConfState): string {
  return `voters=[${c.voters.join(",")}]${c.learners.length > 0 ? ` learners=[${c.learners.join(",")}]` : ""}`;
}

export function describeConfChange(cc: ConfChange): string {
  return `${confChangeNames.get(cc.type) ?? cc.type}(${cc.node})`;
}
