/**
 * Golden interaction scripts (etcd/raft's `testdata/*.txt` with datadriven): a script is a
 * list of commands, each followed by `----` and the output it must produce. Running with
 * UPDATE_GOLDEN=1 rewrites the outputs instead of comparing them.
 *
 * Commands (node ids are names):
 *   add-nodes voters=a,b,c [learners=l] [pre-vote] [check-quorum]
 *   add-nodes-later d       a node that joins later (empty configuration)
 *   campaign a | propose a <text> | propose-conf a add-voter|add-learner|remove <node>
 *   transfer a <to> | read a <ctx> | leader-lost a | compact a [live,indexes]
 *   tick <n> [a,b]          ticks the listed nodes (all by default), stabilizing after each
 *   stabilize               runs Ready loops and delivers until quiet, printing every delivery
 *   isolate a | cut a b | recover
 *   status [a,b]            one line per node
 *   log a                   the durable log as index:term
 */
import { decodeConfChange } from "../confchange/codec.js";
import { ConfChangeType, type Entry, EntryType, type Message, MessageType, Role } from "../types.js";
import { bytes, Network, text } from "./network.js";

const TYPE_NAMES = new Map<number, string>(Object.entries(MessageType).map(([k, v]) => [v, k]));
const ROLE_NAMES = new Map<number, string>(Object.entries(Role).map(([k, v]) => [v, k.toLowerCase()]));

export interface Case {
  readonly line: number;
  readonly cmd: string;
  readonly expected: string;
}

/** Splits a script into commands and their expected outputs. */
export function parseScript(src: string): Case[] {
  const lines = src.split("\n");
  const cases: Case[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.trim() === "" || l.startsWith("#")) {
      i++;
      continue;
    }
    const line = i + 1;
    const cmd = l.trim();
    i++;
    if (lines[i] !== "----") throw new Error(`line ${line + 1}: expected ---- after "${cmd}"`);
    i++;
    const out: string[] = [];
    while (i < lines.length && lines[i] !== "") out.push(lines[i++]!);
    cases.push({ line, cmd, expected: out.join("\n") });
  }
  return cases;
}

/** Renders cases back into a script (for UPDATE_GOLDEN). */
export function renderScript(header: string, cases: readonly { cmd: string; output: string }[]): string {
  return `${header}${cases.map((c) => `${c.cmd}\n----\n${c.output}\n`).join("\n")}`;
}

/** Executes commands against one network and returns each one's output. */
export class Interaction {
  private net: Network | undefined;

  run(cmd: string): string {
    const [name, ...args] = cmd.split(/\s+/);
    switch (name) {
      case "add-nodes": {
        const opt = (k: string) =>
          args
            .find((a) => a.startsWith(`${k}=`))
            ?.slice(k.length + 1)
            .split(",") ?? [];
        this.net = new Network(
          opt("voters"),
          { preVote: args.includes("pre-vote"), checkQuorum: args.includes("check-quorum") },
          opt("learners"),
        );
        return "ok";
      }
      case "add-nodes-later":
        this.n.add(args[0]!, { voters: [], learners: [] });
        return "ok";
      case "campaign":
        this.n.raw(args[0]!).campaign();
        return "ok";
      case "propose":
        return this.attempt(() => {
          const at = this.n.propose(args[0]!, args[1] ?? "");
          return `index=${at.index} term=${at.term}`;
        });
      case "propose-conf": {
        const types: Record<string, ConfChangeType> = {
          "add-voter": ConfChangeType.AddVoter,
          "add-learner": ConfChangeType.AddLearner,
          remove: ConfChangeType.RemoveNode,
        };
        return this.attempt(() => {
          const at = this.n.raw(args[0]!).proposeConfChange({ type: types[args[1]!]!, node: args[2]! });
          return `index=${at.index} term=${at.term}`;
        });
      }
      case "transfer":
        this.n.raw(args[0]!).transferLeader(args[1]!);
        return "ok";
      case "read":
        this.n.raw(args[0]!).readIndex(bytes(args[1]!));
        return "ok";
      case "leader-lost":
        this.n.raw(args[0]!).reportLeaderLost();
        return "ok";
      case "compact": {
        const live = args[1] ? args[1].split(",").map(Number) : [];
        const s = this.n.compact(args[0]!, live);
        return `snapshot index=${s.meta.index} term=${s.meta.term} live=[${s.live.join(",")}]`;
      }
      case "isolate":
        this.n.isolate(args[0]!);
        return "ok";
      case "cut":
        this.n.cut(args[0]!, args[1]!);
        return "ok";
      case "recover":
        this.n.recover();
        return "ok";
      case "tick":
        return this.traced(() => this.n.tick(Number(args[0] ?? 1), args[1] ? args[1].split(",") : undefined));
      case "stabilize":
        return this.traced(() => this.n.stabilize());
      case "status":
        return this.ids(args[0])
          .map((id) => this.status(id))
          .join("\n");
      case "log": {
        const t = this.n.get(args[0]!);
        const out: string[] = [];
        for (let i = t.storage.firstIndex(); i <= t.storage.lastIndex(); i++)
          out.push(`${i}:${t.storage.term(i)}`);
        const snap = t.storage.snapshot().meta.index;
        const head = snap > 0 ? `snapshot@${snap} ` : "";
        return `${args[0]}: ${head}${out.join(" ") || "(empty)"} applied=[${t.applied.map(text).join(",")}]`;
      }
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  private get n(): Network {
    if (!this.net) throw new Error("add-nodes first");
    return this.net;
  }

  private ids(list: string | undefined): string[] {
    return list ? list.split(",") : [...this.n.nodes.keys()];
  }

  private attempt(f: () => string): string {
    try {
      return f();
    } catch (e) {
      return `error: ${(e as Error).name}: ${(e as Error).message}`;
    }
  }

  private status(id: string): string {
    const st = this.n.raw(id).status();
    const role = ROLE_NAMES.get(st.role) ?? String(st.role);
    const rs = this.n.get(id).readStates.map((r) => `${String.fromCharCode(...r.context)}@${r.index}`);
    return (
      `${id}: ${role} term=${st.term} vote=${st.vote || "-"} lead=${st.lead || "-"} ` +
      `commit=${st.commit} applied=${st.applied}` +
      (rs.length > 0 ? ` reads=[${rs.join(",")}]` : "")
    );
  }

  /** Runs `f`, printing every message delivered (or dropped) meanwhile. */
  private traced(f: () => void): string {
    const out: string[] = [];
    const prev = this.n.filter;
    this.n.filter = (m) => {
      const ok = prev ? prev(m) : true;
      out.push(`${ok ? "" : "DROP "}${describe(m)}`);
      return ok;
    };
    try {
      f();
    } finally {
      this.n.filter = prev;
    }
    // Messages over cut links never reach the filter: that is the point of a cut.
    return out.length > 0 ? out.join("\n") : "(quiet)";
  }
}

const CC_NAMES = new Map<number, string>([
  [ConfChangeType.AddVoter, "add-voter"],
  [ConfChangeType.AddLearner, "add-learner"],
  [ConfChangeType.RemoveNode, "remove"],
]);

/** `index:term`, then the text of a command or the change of a ConfChange entry. */
function describeEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) {
    const cc = decodeConfChange(e.data);
    return `${e.index}:${e.term}:${CC_NAMES.get(cc.type)}(${cc.node})`;
  }
  return `${e.index}:${e.term}${e.data.length > 0 ? `:${text(e)}` : ""}`;
}

/** One message as a compact line. */
export function describe(m: Message): string {
  const parts = [`${m.from}->${m.to} ${TYPE_NAMES.get(m.type) ?? m.type} term=${m.term}`];
  if (m.type === MessageType.MsgApp || m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
    parts.push(`log=${m.logTerm ?? 0}/${m.index ?? 0}`);
  } else if (m.index !== undefined) {
    parts.push(`index=${m.index}`);
  }
  if (m.entries && m.entries.length > 0) {
    parts.push(`entries=[${m.entries.map(describeEntry).join(" ")}]`);
  }
  if (m.commit !== undefined) parts.push(`commit=${m.commit}`);
  if (m.reject) {
    parts.push(
      m.type === MessageType.MsgAppResp ? `REJECT hint=${m.rejectHint ?? 0}/${m.logTermHint ?? 0}` : "REJECT",
    );
  }
  if (m.snapshot) {
    const s = m.snapshot;
    parts.push(
      `snapshot=${s.meta.index}:${s.meta.term} voters=${s.meta.conf.voters.join(",")} live=[${s.live.join(",")}]`,
    );
  }
  if (m.context && m.context.length > 0) parts.push(`ctx=${String.fromCharCode(...m.context)}`);
  return parts.join(" ");
}
