/**
 * Pure config resolution: defaults < JSON file < environment < flags, each value parsed by its
 * schema kind, then checks that span several settings. No process state: the caller passes argv,
 * env and a file reader, so tests need neither a real environment nor files.
 */
import { MIN_CLUSTER_SECRET_LENGTH } from "./defaults.js";
import { ConfigError } from "./errors.js";
import { formatAddress } from "./kinds.js";
import { isDerived, type NodeConfig, SETTINGS, SETTINGS_BY_KEY } from "./schema.js";
import { type RawValue, readArgv, readEnv, readFileText, type SourceRead } from "./sources.js";

export interface ConfigSources {
  /** Arguments after the script name (process.argv.slice(2)). */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads the config file and the cluster secret file; throws (e.g. ENOENT) when it cannot. */
  readonly readFile?: (path: string) => string;
}

/** Where each setting's value came from: "default", "--amqp-port", "WARREN_AMQP_PORT", "n1.json: amqp.port". */
export type ConfigOrigins = ReadonlyMap<string, string>;

export interface ResolvedConfig {
  readonly config: NodeConfig;
  readonly origins: ConfigOrigins;
}

/** Resolves and validates; throws ConfigError listing every problem. */
export function parseConfig(sources: ConfigSources): NodeConfig {
  return resolveConfig(sources).config;
}

export function resolveConfig(sources: ConfigSources): ResolvedConfig {
  const problems: string[] = [];
  const flags = readArgv(sources.argv);
  const env = readEnv(sources.env);
  problems.push(...flags.problems, ...env.problems);

  let file: SourceRead | undefined;
  const configPath = flags.values.get("config") ?? env.values.get("config");
  // An empty path is reported by the config setting's own validation below.
  if (configPath && configPath.raw !== "") {
    const text = readText(sources, String(configPath.raw), configPath.where, problems);
    if (text !== undefined) file = readFileText(text, String(configPath.raw));
  }
  if (file) problems.push(...file.problems);

  // Highest precedence last; every given value is parsed so a bad one is reported even if overridden.
  const layers = [file, env, flags].filter((l): l is SourceRead => l !== undefined);
  const values = new Map<string, unknown>();
  const origins = new Map<string, string>();
  const failed = new Set<string>();
  for (const setting of SETTINGS) {
    for (const layer of layers) {
      const given = layer.values.get(setting.key);
      if (!given) continue;
      const parsed = parseOne(setting.key, given);
      if (parsed.ok) {
        values.set(setting.key, parsed.value);
        origins.set(setting.key, given.where);
      } else {
        problems.push(`${given.where}: ${parsed.problem}`);
        failed.add(setting.key);
      }
    }
  }
  if (!resolveSecretFile(sources, values, origins, problems)) failed.add("clusterSecret");
  // Plain defaults first, then derived ones, which may read any resolved value.
  for (const pass of [false, true]) {
    for (const s of SETTINGS) {
      if (values.has(s.key) || s.source || isDerived(s.default) !== pass) continue;
      const d = s.default;
      if (d === undefined) continue;
      values.set(s.key, isDerived(d) ? d.derive(Object.fromEntries(values)) : d);
      origins.set(s.key, "default");
    }
  }
  const candidate = build(values);
  problems.push(...crossCheck(candidate, origins, failed));
  if (problems.length > 0) throw new ConfigError(problems);
  return { config: candidate, origins };
}

function parseOne(key: string, given: RawValue) {
  const kind = SETTINGS_BY_KEY.get(key)!.kind;
  return given.fromJson ? kind.fromJson(given.raw) : kind.fromString(String(given.raw));
}

function readText(
  sources: ConfigSources,
  path: string,
  where: string,
  problems: string[],
): string | undefined {
  if (!sources.readFile) {
    problems.push(`${where}: cannot read ${JSON.stringify(path)} (no file reader given)`);
    return undefined;
  }
  try {
    return sources.readFile(path);
  } catch (e) {
    problems.push(`${where}: cannot read ${JSON.stringify(path)} (${(e as Error).message})`);
    return undefined;
  }
}

function resolveSecretFile(
  sources: ConfigSources,
  values: Map<string, unknown>,
  origins: Map<string, string>,
  problems: string[],
): boolean {
  const path = values.get("clusterSecretFile");
  if (path === undefined) return true;
  const where = origins.get("clusterSecretFile")!;
  if (values.has("clusterSecret")) {
    problems.push(
      `${where}: the cluster secret is also set by ${origins.get("clusterSecret")}; set only one of them`,
    );
    return false;
  }
  const text = readText(sources, String(path), where, problems);
  if (text === undefined) return false;
  const secret = text.replace(/\r?\n$/, "");
  const parsed = SETTINGS_BY_KEY.get("clusterSecret")!.kind.fromString(secret);
  if (!parsed.ok) {
    // Never echo the file's content: it is (a wrong) secret.
    problems.push(
      `${where}: the file must hold a secret of at least ${MIN_CLUSTER_SECRET_LENGTH} characters`,
    );
    return false;
  }
  values.set("clusterSecret", parsed.value);
  origins.set("clusterSecret", `${where} (file ${String(path)})`);
  return true;
}

/** Dotted keys -> nested, deeply frozen object. Source settings are not part of NodeConfig. */
function build(values: ReadonlyMap<string, unknown>): NodeConfig {
  const root: Record<string, unknown> = { clusterSecret: undefined };
  for (const s of SETTINGS) {
    if (s.source) continue;
    const parts = s.key.split(".");
    let node = root;
    for (const p of parts.slice(0, -1)) {
      node[p] ??= {};
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = values.get(s.key);
  }
  return deepFreeze(root) as unknown as NodeConfig;
}

export function deepFreeze<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

const WILDCARD = new Set(["0.0.0.0", "::", "[::]"]);

/**
 * Checks spanning several settings. A check is skipped when one of its settings failed to parse:
 * its fallback value would only produce a confusing second message about the same mistake.
 */
function crossCheck(c: NodeConfig, origins: ConfigOrigins, failed: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const valid = (...keys: string[]) => keys.every((k) => !failed.has(k));
  const at = (key: string) => {
    const o = origins.get(key);
    return o && o !== "default" ? `${key} (${o})` : key;
  };
  if (valid("peers", "nodeId") && c.peers.some((p) => p.id === c.nodeId)) {
    problems.push(
      `${at("peers")}: lists this node's own id ${JSON.stringify(c.nodeId)}; list only the other nodes`,
    );
  }
  if (valid("peers", "clusterSecret") && c.peers.length > 0 && c.clusterSecret === undefined) {
    problems.push(
      "clusterSecret: required when peers are configured (set WARREN_CLUSTER_SECRET or WARREN_CLUSTER_SECRET_FILE)",
    );
  }
  const listeners = (["amqp", "http", "raft"] as const).map((k) => ({ key: `${k}.port`, ...c[k] }));
  for (let i = 0; i < listeners.length; i++) {
    for (let j = i + 1; j < listeners.length; j++) {
      const a = listeners[i]!;
      const b = listeners[j]!;
      const overlap = a.host === b.host || WILDCARD.has(a.host) || WILDCARD.has(b.host);
      const keys = [a.key, b.key, a.key.replace("port", "host"), b.key.replace("port", "host")];
      if (valid(...keys) && a.port !== 0 && a.port === b.port && overlap) {
        problems.push(
          `${at(a.key)} and ${at(b.key)}: both listen on port ${a.port} (${a.host} and ${b.host})`,
        );
      }
    }
  }
  const byRaft = new Map<string, string>();
  for (const p of valid("peers") ? c.peers : []) {
    const addr = formatAddress(p.raft);
    const other = byRaft.get(addr);
    if (other) problems.push(`${at("peers")}: ${other} and ${p.id} have the same raft address ${addr}`);
    byRaft.set(addr, p.id);
  }
  // Peers dial the Raft address a joining node records: an unspecified bind address reaches nobody.
  if (
    valid("join", "raft.host", "raft.advertise") &&
    c.join &&
    c.raft.advertise === undefined &&
    WILDCARD.has(c.raft.host)
  ) {
    problems.push(
      `${at("join")}: the other nodes dial the Raft address this node records when it joins, and raft.host is ${c.raft.host}; set raft.advertise (WARREN_RAFT_ADVERTISE) to a host or host:port they reach, or raft.host to such an address`,
    );
  }
  if (valid("raft.electionTick", "raft.heartbeatTick") && c.raft.electionTick <= c.raft.heartbeatTick) {
    problems.push(
      `${at("raft.electionTick")}: must be greater than raft.heartbeatTick (${c.raft.electionTick} <= ${c.raft.heartbeatTick})`,
    );
  }
  const needed = c.maxMessageSize + c.raft.maxSizePerMsg;
  if (
    valid("maxMessageSize", "raft.maxSizePerMsg", "raft.peerQueueBytes") &&
    c.raft.peerQueueBytes < needed
  ) {
    problems.push(
      `${at("raft.peerQueueBytes")}: must be at least maxMessageSize + raft.maxSizePerMsg (${needed}) so a largest message can be replicated, got ${c.raft.peerQueueBytes}`,
    );
  }
  return problems;
}
