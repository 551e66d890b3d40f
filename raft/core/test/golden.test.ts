/**
 * Runs the golden interaction scripts in testdata/ (see interaction.ts for the commands).
 * `UPDATE_GOLDEN=1 npx vitest run raft/core/test/golden.test.ts` rewrites their outputs.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Interaction, parseScript, renderScript } from "./interaction.js";

const DIR = join(import.meta.dirname, "testdata");

describe("golden interaction scripts", () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith(".txt"))) {
    it(file, () => {
      const path = join(DIR, file);
      const src = readFileSync(path, "utf8");
      const header = src.slice(0, src.search(/^[^#\n]/m));
      const cases = parseScript(src);
      const ix = new Interaction();
      const results = cases.map((c) => ({ ...c, output: ix.run(c.cmd) }));
      if (process.env.UPDATE_GOLDEN) {
        writeFileSync(path, renderScript(header, results));
        return;
      }
      for (const r of results)
        expect(`${file}:${r.line} ${r.cmd}\n${r.output}`).toBe(`${file}:${r.line} ${r.cmd}\n${r.expected}`);
    });
  }
});
