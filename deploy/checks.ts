/**
 * Static checks of the deploy files that need no Docker engine: a small Dockerfile reader, the
 * env-file format, Compose port specs and the Compose rules we rely on. Used by
 * cluster-tests/deploy.test.ts (CI), kept here beside the files it reads.
 */

/** One Dockerfile instruction, continuation lines joined, comments dropped. */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export function readInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split("\n");
  let buf = "";
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? "";
    const trimmed = raw.trim();
    if (buf === "" && (trimmed === "" || trimmed.startsWith("#"))) continue;
    if (buf === "") start = i + 1;
    if (trimmed.startsWith("#")) continue; // comment inside a continuation
    if (trimmed.endsWith("\\")) {
      buf += `${trimmed.slice(0, -1)} `;
      continue;
    }
    buf += trimmed;
    const m = /^(\S+)\s*(.*)$/s.exec(buf);
    if (m) out.push({ keyword: (m[1] ?? "").toUpperCase(), args: (m[2] ?? "").trim(), line: start });
    buf = "";
  }
  return out;
}

/** Instructions grouped by build stage (each starts at a FROM). */
export function stages(instructions: readonly Instruction[]): Instruction[][] {
  const out: Instruction[][] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") out.push([ins]);
    else out.at(-1)?.push(ins);
  }
  return out;
}

/** The exec-form (JSON array) arguments of CMD/ENTRYPOINT/HEALTHCHECK CMD; shell form is refused. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) {
    throw new Error(`not an exec-form array: ${args}`);
  }
  return parsed;
}

/** ENV key=value pairs (the `ENV a=b c=d` form, values optionally double-quoted). */
export function envPairs(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
    const v = m[2] ?? "";
    out[m[1] ?? ""] = v.startsWith('"') ? (JSON.parse(v) as string) : v;
  }
  return out;
}

/** An env file as Compose reads it: KEY=VALUE lines, `#` comments, blank lines. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const eq = t.indexOf("=");
    if (eq <= 0) throw new Error(`bad env file line: ${line}`);
    let v = t.slice(eq + 1);
    if (/^(["']).*\1$/.test(v)) v = v.slice(1, -1);
    out[t.slice(0, eq)] = v;
  }
  return out;
}

/** Published host ports and their container ports, ranges expanded ("6672-6674:6672-6674"). */
export function publishedPorts(spec: string): Array<{ host: number; container: number }> {
  const m =
    /^(?:(?:\d{1,3}(?:\.\d{1,3}){3}|\[[^\]]+\]):)?(\d+)(?:-(\d+))?:(\d+)(?:-(\d+))?(?:\/(tcp|udp))?$/.exec(
      spec,
    );
  if (!m) throw new Error(`unsupported or unpublished port spec ${JSON.stringify(spec)}`);
  const h0 = Number(m[1]);
  const h1 = m[2] === undefined ? h0 : Number(m[2]);
  const c0 = Number(m[3]);
  const c1 = m[4] === undefined ? c0 : Number(m[4]);
  if (h1 - h0 !== c1 - c0 || h1 < h0) throw new Error(`port ranges of different sizes in ${spec}`);
  const out: Array<{ host: number; container: number }> = [];
  for (let i = 0; i <= h1 - h0; i++) out.push({ host: h0 + i, container: c0 + i });
  return out;
}

/** "host:port" split at the last colon. */
export function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(":");
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/** Top-level keys and service keys of the Compose specification we accept. */
export const COMPOSE_TOP_LEVEL = new Set([
  "version",
  "name",
  "services",
  "networks",
  "volumes",
  "configs",
  "secrets",
]);
export const COMPOSE_SERVICE_KEYS = new Set([
  "build",
  "command",
  "container_name",
  "depends_on",
  "entrypoint",
  "env_file",
  "environment",
  "healthcheck",
  "hostname",
  "image",
  "networks",
  "ports",
  "profiles",
  "restart",
  "stop_grace_period",
  "stop_signal",
  "ulimits",
  "user",
  "volumes",
  "working_dir",
]);
export const RESTART_POLICIES = new Set(["no", "always", "on-failure", "unless-stopped"]);
export const DEPENDS_ON_CONDITIONS = new Set([
  "service_started",
  "service_healthy",
  "service_completed_successfully",
]);
