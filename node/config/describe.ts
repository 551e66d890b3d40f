/**
 * Printing the config and its schema: a redacted view for the startup log, `--help`, and the
 * settings tables of docs/configuration.md. All of it comes from the schema table, so a new
 * setting shows up everywhere at once.
 */
import type { ConfigOrigins } from "./parse.js";
import { isDerived, type NodeConfig, SETTINGS, type Setting } from "./schema.js";

export const REDACTED = "[redacted]";

function get(config: NodeConfig, key: string): unknown {
  let v: unknown = config;
  for (const p of key.split(".")) v = (v as Record<string, unknown> | undefined)?.[p];
  return v;
}

/**
 * A plain copy of the config that is safe to log: secrets are replaced by "[redacted]" (or left
 * undefined when unset, which is itself useful to know).
 */
export function describeConfig(config: NodeConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    if (s.source) continue;
    const parts = s.key.split(".");
    let node = out;
    for (const p of parts.slice(0, -1)) {
      node[p] ??= {};
      node = node[p] as Record<string, unknown>;
    }
    const v = get(config, s.key);
    node[parts[parts.length - 1]!] = s.secret && v !== undefined ? REDACTED : structuredClone(v);
  }
  return out;
}

/** One `key = value (origin)` line per setting, secrets redacted; for `--print-config`-style output. */
export function formatConfig(config: NodeConfig, origins?: ConfigOrigins): string {
  const lines: string[] = [];
  for (const s of SETTINGS) {
    if (s.source) continue;
    const v = get(config, s.key);
    const shown = v === undefined ? "(unset)" : s.secret ? REDACTED : s.kind.format(v);
    const origin = origins?.get(s.key);
    lines.push(`${s.key} = ${shown}${origin ? ` (${origin})` : ""}`);
  }
  return lines.join("\n");
}

export function formatDefault(s: Setting): string {
  if (s.default === undefined) return "(none)";
  if (isDerived(s.default)) return s.default.doc;
  return s.kind.format(s.default);
}

/** Text for `warren-node --help`. */
export function usage(program = "warren-node"): string {
  const lines = [
    `usage: ${program} [--name value ...]`,
    "",
    "Every setting can also come from the environment or a JSON file (--config);",
    "precedence: flags > environment > file > defaults. See docs/configuration.md.",
  ];
  let section = "";
  for (const s of SETTINGS) {
    if (s.section !== section) {
      section = s.section;
      lines.push("", `${section}:`);
    }
    lines.push(
      `  ${s.flag} <${s.kind.label}>  (${s.env}, default ${formatDefault(s)})`,
      `      ${s.description}`,
    );
  }
  return lines.join("\n");
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

/** Pads a table's columns as biome's markdown formatter does, so `npm run lint` accepts the docs. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)];
}

/** The generated part of docs/configuration.md: one table per section. */
export function renderSettingsMarkdown(): string {
  const sections = new Map<string, string[][]>();
  for (const s of SETTINGS) {
    const key = s.inFile ? `\`${s.key}\`` : "(not in file)";
    const secret = s.secret ? " **Secret**: never logged." : "";
    const rows = sections.get(s.section) ?? [];
    rows.push([
      key,
      `\`${s.env}\``,
      `\`${s.flag}\``,
      s.kind.label,
      `\`${cell(formatDefault(s))}\``,
      cell(s.description) + secret,
    ]);
    sections.set(s.section, rows);
  }
  const out: string[] = [];
  for (const [name, rows] of sections) {
    if (out.length > 0) out.push("");
    out.push(`### ${name}`, "", ...table(["key", "env", "flag", "type", "default", "description"], rows));
  }
  return out.join("\n");
}
