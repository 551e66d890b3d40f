/**
 * The thin impure edge of node/config: the only code that reads the real argv, environment and
 * files. Everything it does is `resolveConfig` with real inputs.
 */
import { readFileSync } from "node:fs";
import { type ResolvedConfig, resolveConfig } from "./parse.js";

export function loadConfig(
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): ResolvedConfig {
  return resolveConfig({ argv, env, readFile: (path) => readFileSync(path, "utf8") });
}
