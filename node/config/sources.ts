/**
 * Reading raw values out of the three sources (argv flags, environment, JSON file) without
 * interpreting them: each yields, per setting key, the raw value and a label of where it came
 * from, plus the problems of the source itself (unknown flags or keys, malformed JSON).
 */
import { SETTINGS, SETTINGS_BY_KEY, type Setting } from "./schema.js";

export interface RawValue {
  /** A string from argv/env; any JSON value from the file. */
  readonly raw: unknown;
  /** How a problem names this value: "--amqp-port", "WARREN_AMQP_PORT", "n1.json: amqp.port". */
  readonly where: string;
  readonly fromJson: boolean;
}

export interface SourceRead {
  readonly values: ReadonlyMap<string, RawValue>;
  readonly problems: readonly string[];
}

/** Flags that are not settings: they ask for usage instead of a config. */
export const HELP_FLAGS: readonly string[] = ["--help", "-h"];

const BY_FLAG: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.flag, s]));
const BY_ENV: ReadonlyMap<string, Setting> = new Map(SETTINGS.map((s) => [s.env, s]));

export function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((a) => HELP_FLAGS.includes(a));
}

/**
 * `--name value` and `--name=value`; a boolean flag alone means true and never takes the next
 * argument (so `--log-pretty --node-id n1` does what it reads as). A repeated flag: the last wins.
 */
export function readArgv(argv: readonly string[]): SourceRead {
  const values = new Map<string, RawValue>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (HELP_FLAGS.includes(arg)) continue;
    if (!arg.startsWith("--")) {
      problems.push(`unexpected argument ${JSON.stringify(arg)} (settings are given as --name value)`);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const setting = BY_FLAG.get(name);
    if (!setting) {
      problems.push(`${name}: unknown flag${suggest(name, [...BY_FLAG.keys()])}`);
      if (eq < 0 && i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) i++;
      continue;
    }
    let raw: string;
    if (eq >= 0) raw = arg.slice(eq + 1);
    else if (setting.kind.label === "boolean") raw = "true";
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith("--")) raw = argv[++i]!;
    else {
      problems.push(`${name}: missing value (expected ${setting.kind.expected})`);
      continue;
    }
    values.set(setting.key, { raw, where: name, fromJson: false });
  }
  return { values, problems };
}

/**
 * Every `WARREN_*` variable must be a known setting (a typo would otherwise be silently ignored).
 * An empty variable counts as unset, as compose files often define variables with no value.
 */
export function readEnv(env: Readonly<Record<string, string | undefined>>): SourceRead {
  const values = new Map<string, RawValue>();
  const problems: string[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith("WARREN_") || raw === undefined || raw === "") continue;
    const setting = BY_ENV.get(name);
    if (!setting) {
      problems.push(`${name}: unknown environment variable${suggest(name, [...BY_ENV.keys()])}`);
      continue;
    }
    values.set(setting.key, { raw, where: name, fromJson: false });
  }
  return { values, problems };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The JSON file nests dotted keys as objects: {"amqp": {"port": 5672}}. Dotted names also work. */
export function readFileText(text: string, label: string): SourceRead {
  const values = new Map<string, RawValue>();
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { values, problems: [`${label}: not valid JSON (${(e as Error).message})`] };
  }
  if (!isPlainObject(doc)) return { values, problems: [`${label}: expected a JSON object at the top level`] };
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix + k;
      const setting = SETTINGS_BY_KEY.get(key);
      if (setting) {
        if (!setting.inFile) problems.push(`${label}: ${key} cannot be set in the config file`);
        else values.set(key, { raw: v, where: `${label}: ${key}`, fromJson: true });
      } else if (SETTINGS.some((s) => s.key.startsWith(`${key}.`))) {
        if (isPlainObject(v)) walk(v, `${key}.`);
        else problems.push(`${label}: ${key}: expected an object, got ${JSON.stringify(v)}`);
      } else {
        const known = SETTINGS.filter((s) => s.inFile).map((s) => s.key);
        problems.push(`${label}: unknown key ${JSON.stringify(key)}${suggest(key, known)}`);
      }
    }
  };
  walk(doc, "");
  return { values, problems };
}

/** ` (did you mean --amqp-port?)` when a known name is one or two edits away. */
function suggest(name: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = editDistance(name.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean ${best}?)` : "";
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
