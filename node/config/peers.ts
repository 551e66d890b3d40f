/**
 * The `peers` setting: the other nodes of the cluster, by id, with the Raft address this node
 * dials and (when known) their AMQP and HTTP addresses, so any node can tell clients where the
 * others are (`GET /api/nodes`).
 *
 * Text form (environment, flags), entries separated by commas:
 *   n2=127.0.0.1:25673,n3=127.0.0.1:25674
 *   n2=127.0.0.1:25673;amqp=127.0.0.1:5673;http=127.0.0.1:15673,n3=...
 * JSON form (config file): {"n2": "127.0.0.1:25673", "n3": {"raft": "...", "amqp": "...", "http": "..."}},
 * the text form as one string, or an array [{"id": "n2", "raft": {"host": ..., "port": ...}}] as
 * describeConfig prints it.
 */
import { type Address, formatAddress, type Kind, type Parsed, parseAddress } from "./kinds.js";

export interface PeerConfig {
  readonly id: string;
  readonly raft: Address;
  readonly amqp?: Address;
  readonly http?: Address;
}

/** Node ids: short, printable, safe in log fields, metric labels and file names. */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
export const NODE_ID_EXPECTED = "a node id (letters, digits, '_', '.', '@', '-'; at most 64 characters)";

/** The `peers` map the inter-node transport takes: id -> Raft address. */
export function raftPeerMap(peers: readonly PeerConfig[]): ReadonlyMap<string, Address> {
  return new Map(peers.map((p) => [p.id, p.raft]));
}

const EXPECTED = 'peers as "id=host:port[;amqp=host:port][;http=host:port],..."';
const OPTIONAL_DOORS = ["amqp", "http"] as const;

type Draft = { id: string; raft?: Address; amqp?: Address; http?: Address };

function finish(drafts: readonly Draft[], problems: string[]): Parsed<readonly PeerConfig[]> {
  const seen = new Set<string>();
  for (const d of drafts) {
    if (!NODE_ID_PATTERN.test(d.id))
      problems.push(`peer id ${JSON.stringify(d.id)} is not ${NODE_ID_EXPECTED}`);
    if (seen.has(d.id)) problems.push(`peer ${d.id} is listed twice`);
    seen.add(d.id);
    const reported = problems.some((p) => p.startsWith(`peer ${d.id} raft:`));
    if (!d.raft && !reported) problems.push(`peer ${d.id} has no raft address`);
  }
  if (problems.length > 0) return { ok: false, problem: problems.join("; ") };
  const peers = drafts.map((d) => ({ ...d, raft: d.raft! }) as PeerConfig);
  // Sorted so two nodes given the same peers in a different order end up with equal configs.
  return { ok: true, value: peers.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

function address(raw: string, where: string, problems: string[]): Address | undefined {
  const a = parseAddress(raw.trim());
  if (!a) problems.push(`${where}: expected host:port, got ${JSON.stringify(raw)}`);
  return a;
}

function fromString(raw: string): Parsed<readonly PeerConfig[]> {
  const problems: string[] = [];
  const drafts: Draft[] = [];
  const trimmed = raw.trim();
  if (trimmed === "" || trimmed === "none") return { ok: true, value: [] };
  for (const entry of trimmed.split(",")) {
    const [head = "", ...doors] = entry.trim().split(";");
    const eq = head.indexOf("=");
    if (eq < 0) {
      problems.push(`expected "id=host:port", got ${JSON.stringify(entry.trim())}`);
      continue;
    }
    const d: Draft = { id: head.slice(0, eq).trim() };
    const raft = address(head.slice(eq + 1), `peer ${d.id} raft`, problems);
    if (raft) d.raft = raft;
    for (const door of doors) {
      const [name = "", value = ""] = door.split("=", 2);
      const key = name.trim();
      if (!(OPTIONAL_DOORS as readonly string[]).includes(key)) {
        problems.push(`peer ${d.id}: unknown address ${JSON.stringify(key)} (expected amqp or http)`);
        continue;
      }
      const a = address(value, `peer ${d.id} ${key}`, problems);
      if (a) d[key as "amqp" | "http"] = a;
    }
    drafts.push(d);
  }
  return finish(drafts, problems);
}

/** [{id, raft, amqp?, http?}] (the shape describeConfig prints) -> entries of the object form. */
function arrayEntries(v: readonly unknown[], problems: string[]): [string, unknown][] {
  const entries: [string, unknown][] = [];
  for (const item of v) {
    if (typeof item !== "object" || item === null || typeof (item as { id?: unknown }).id !== "string") {
      problems.push(`expected {"id": ..., "raft": "host:port"}, got ${JSON.stringify(item)}`);
      continue;
    }
    const { id, ...rest } = item as { id: string } & Record<string, unknown>;
    const spec = Object.fromEntries(
      Object.entries(rest).map(([k, a]) => [k, isAddress(a) ? formatAddress(a) : a]),
    );
    entries.push([id, spec]);
  }
  return entries;
}

function isAddress(a: unknown): a is Address {
  return (
    typeof a === "object" &&
    a !== null &&
    typeof (a as Address).host === "string" &&
    typeof (a as Address).port === "number"
  );
}

function fromJson(v: unknown): Parsed<readonly PeerConfig[]> {
  if (typeof v === "string") return fromString(v);
  if (typeof v !== "object" || v === null) {
    return {
      ok: false,
      problem: `expected an object of id -> "host:port" or ${EXPECTED}, got ${JSON.stringify(v)}`,
    };
  }
  const problems: string[] = [];
  const drafts: Draft[] = [];
  const entries = Array.isArray(v) ? arrayEntries(v, problems) : Object.entries(v);
  for (const [id, spec] of entries) {
    const d: Draft = { id };
    if (typeof spec === "string") {
      const raft = address(spec, `peer ${id} raft`, problems);
      if (raft) d.raft = raft;
    } else if (typeof spec === "object" && spec !== null && !Array.isArray(spec)) {
      for (const [key, value] of Object.entries(spec)) {
        if (key !== "raft" && !(OPTIONAL_DOORS as readonly string[]).includes(key)) {
          problems.push(`peer ${id}: unknown key ${JSON.stringify(key)} (expected raft, amqp or http)`);
        } else if (typeof value !== "string") {
          problems.push(`peer ${id} ${key}: expected "host:port", got ${JSON.stringify(value)}`);
        } else {
          const a = address(value, `peer ${id} ${key}`, problems);
          if (a) d[key as "raft" | "amqp" | "http"] = a;
        }
      }
    } else {
      problems.push(
        `peer ${id}: expected "host:port" or {"raft": "host:port", ...}, got ${JSON.stringify(spec)}`,
      );
      continue;
    }
    drafts.push(d);
  }
  return finish(drafts, problems);
}

function format(peers: readonly PeerConfig[]): string {
  if (peers.length === 0) return "none";
  return peers
    .map((p) =>
      [
        `${p.id}=${formatAddress(p.raft)}`,
        ...OPTIONAL_DOORS.flatMap((k) => {
          const a = p[k];
          return a ? [`${k}=${formatAddress(a)}`] : [];
        }),
      ].join(";"),
    )
    .join(",");
}

export const peersKind: Kind<readonly PeerConfig[]> = {
  label: "peers",
  expected: EXPECTED,
  fromString,
  fromJson,
  format,
};
