/**
 * Regenerates node/amqp/codec/generated/methods.ts from the spec XML.
 *
 *   npx tsx node/amqp/codec/gen/cli.ts [spec.xml]
 *
 * Without an argument it reads the committed copy (node/amqp/codec/spec/); pass Debian's
 * /usr/share/amqp/specs/0-9-1-rabbit/amqp0-9-1.stripped.extended.xml to check against upstream.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { EXTENSIONS_PATH, GENERATED_PATH, generate, SPEC_PATH } from "./generate.js";

const specPath = process.argv[2] ?? SPEC_PATH;
const source = generate(readFileSync(specPath, "utf8"), readFileSync(EXTENSIONS_PATH, "utf8"));
writeFileSync(GENERATED_PATH, source);
console.log(`wrote ${GENERATED_PATH} (${source.length} bytes) from ${specPath}`);
