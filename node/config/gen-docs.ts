/**
 * Regenerates the settings tables of docs/configuration.md from the schema:
 *   npx tsx node/config/gen-docs.ts
 * docs.test.ts fails when the committed file and the schema disagree.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderSettingsMarkdown } from "./describe.js";

export const DOCS_PATH = fileURLToPath(new URL("../../docs/configuration.md", import.meta.url));
export const BEGIN = "<!-- BEGIN GENERATED SETTINGS (npx tsx node/config/gen-docs.ts) -->";
export const END = "<!-- END GENERATED SETTINGS -->";

/** The doc with its generated part replaced by the current schema's tables. */
export function withGeneratedSettings(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOCS_PATH}: markers ${BEGIN} / ${END} not found`);
  return `${doc.slice(0, start + BEGIN.length)}\n\n${renderSettingsMarkdown()}\n\n${doc.slice(end)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DOCS_PATH, withGeneratedSettings(readFileSync(DOCS_PATH, "utf8")));
}
