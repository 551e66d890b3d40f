/**
 * Turns the spec model into `generated/methods.ts`: constants, one interface per method (the
 * `Method` discriminated union), and the method table the codec interprets. Pure (string in,
 * string out) so a test can check the committed file is exactly what the spec produces.
 *
 * The output is already in the repository's biome format, so `biome check` passes on it as is.
 */
import { readSpec, type SpecField, type SpecModel } from "./spec-model.js";

/** Which file the generated code is written to, relative to the repository root. */
export const GENERATED_PATH = "node/amqp/codec/generated/methods.ts";
/** The committed copy of RabbitMQ's spec (BSD-licensed, from Debian's amqp-specs package). */
export const SPEC_PATH = "node/amqp/codec/spec/amqp0-9-1.stripped.extended.xml";
/** RabbitMQ's methods missing from that XML (connection.blocked, update-secret, ...). */
export const EXTENSIONS_PATH = "node/amqp/codec/spec/rabbitmq-extensions.xml";

/**
 * Field names as the API spells them. `nowait` (confirm.select) is the one field the spec spells
 * without a hyphen; it gets the same name as every other `no-wait` so handlers need not care.
 * basic's last property is called `reserved` in 0-9-1 and was `cluster-id` in 0-8: RabbitMQ and
 * amqplib still expose it as clusterId.
 */
export function camelCase(specName: string, context: "field" | "property" = "field"): string {
  if (specName === "nowait") return "noWait";
  if (context === "property" && specName === "reserved") return "clusterId";
  return specName.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function pascal(s: string): string {
  const c = camelCase(s);
  return c.charAt(0).toUpperCase() + c.slice(1);
}

const TS_TYPES: Readonly<Record<string, string>> = {
  bit: "boolean",
  octet: "number",
  short: "number",
  long: "number",
  longlong: "number",
  shortstr: "string",
  longstr: "Buffer",
  timestamp: "Date",
  table: "FieldTable",
};

function constName(specName: string): string {
  return specName.toUpperCase().replace(/-/g, "_");
}

function fieldLiteral(f: SpecField, context: "field" | "property"): string {
  const reserved = f.reserved ? ", reserved: true" : "";
  return `{ name: "${camelCase(f.name, context)}", type: "${f.type}"${reserved} }`;
}

const HEADER = `// GENERATED FILE: do not edit. Regenerate with \`npx tsx node/amqp/codec/gen/cli.ts\`, which reads
// node/amqp/codec/spec/amqp0-9-1.stripped.extended.xml (RabbitMQ's extended AMQP 0-9-1 spec, from
// Debian's amqp-specs package: /usr/share/amqp/specs/0-9-1-rabbit/) and spec/rabbitmq-extensions.xml.
// test/generated.test.ts checks this file is exactly what the generator produces from them.
`;

/** Produces the TypeScript source of `generated/methods.ts` from the spec XML and the extensions. */
export function generate(xml: string, extensionsXml: string): string {
  return print(readSpec(xml, extensionsXml));
}

function print(spec: SpecModel): string {
  const out: string[] = [HEADER];
  const emit = (s: string) => out.push(s);
  emit(`import type { FieldTable } from "../field-value.js";\n`);
  emit(
    `export const AMQP_VERSION = { major: ${spec.major}, minor: ${spec.minor}, revision: ${spec.revision} } as const;\n`,
  );

  emit("/** Every `<constant>` of the spec: frame types, sizes, reply codes. */");
  emit("export const Constant = {");
  for (const c of spec.constants) emit(`  ${constName(c.name)}: ${c.value},`);
  emit("} as const;\n");

  emit("/** Reply codes that close a channel (soft) or the whole connection (hard), per the spec. */");
  emit("export const ErrorClass = {");
  for (const c of spec.constants) if (c.errorClass !== undefined) emit(`  ${c.value}: "${c.errorClass}",`);
  emit("} as const;\n");

  emit("export const ClassId = {");
  for (const cls of spec.classes) emit(`  ${camelCase(cls.name)}: ${cls.index},`);
  emit("} as const;\n");

  emit("/** Primitive argument types once domains are resolved. */");
  emit(
    "export type FieldType =\n" +
      [...new Set(Object.keys(TS_TYPES))].map((t) => `  | "${t}"`).join("\n") +
      ";\n",
  );

  const unionMembers: string[] = [];
  for (const cls of spec.classes) {
    for (const m of cls.methods) {
      const full = `${cls.name}.${m.name}`;
      const iface = pascal(cls.name) + pascal(m.name);
      unionMembers.push(iface);
      const traits = [
        `${cls.index}/${m.index}`,
        m.synchronous ? "synchronous" : "asynchronous",
        ...(m.content ? ["carries content"] : []),
        `${m.chassis.length === 2 ? "both ways" : m.chassis.includes("server") ? "client to server" : "server to client"}`,
        ...(m.responses.length > 0
          ? [`answered by ${m.responses.map((r) => `${cls.name}.${r}`).join(" or ")}`]
          : []),
      ];
      emit(`/** ${full} (${traits.join(", ")}). */`);
      emit(`export interface ${iface} {`);
      emit(`  name: "${full}";`);
      for (const f of m.fields) {
        if (f.reserved) continue;
        emit(`  ${camelCase(f.name)}: ${TS_TYPES[f.type]};`);
      }
      emit("}\n");
    }
  }
  emit("/** Every method of the protocol, discriminated by `name`. */");
  emit(`export type Method =\n${unionMembers.map((u) => `  | ${u}`).join("\n")};\n`);
  emit(`export type MethodName = Method["name"];\n`);

  emit("export interface FieldSpec {");
  emit("  /** camelCase; reserved fields keep a name but are written as zero and skipped on decode. */");
  emit("  readonly name: string;");
  emit("  readonly type: FieldType;");
  emit("  readonly reserved?: true;");
  emit("}\n");
  emit("export interface MethodSpec {");
  emit("  readonly name: MethodName;");
  emit("  readonly classId: number;");
  emit("  readonly methodId: number;");
  emit("  /** The sender waits for one of `responses` before sending another synchronous method. */");
  emit("  readonly synchronous: boolean;");
  emit("  /** Followed by a content header and body frames. */");
  emit("  readonly content: boolean;");
  emit("  readonly responses: readonly MethodName[];");
  emit(
    '  /** The server receives it (a spec `<chassis name="server">`): anything else from a client is 503. */',
  );
  emit("  readonly server: boolean;");
  emit("  /** The client receives it. */");
  emit("  readonly client: boolean;");
  emit("  readonly fields: readonly FieldSpec[];");
  emit("}\n");

  emit("export const METHOD_SPECS: readonly MethodSpec[] = [");
  for (const cls of spec.classes) {
    for (const m of cls.methods) {
      emit("  {");
      emit(`    name: "${cls.name}.${m.name}",`);
      emit(`    classId: ${cls.index},`);
      emit(`    methodId: ${m.index},`);
      emit(`    synchronous: ${m.synchronous},`);
      emit(`    content: ${m.content},`);
      emit(`    responses: [${m.responses.map((r) => `"${cls.name}.${r}"`).join(", ")}],`);
      emit(`    server: ${m.chassis.includes("server")},`);
      emit(`    client: ${m.chassis.includes("client")},`);
      const oneLine = `    fields: [${m.fields.map((f) => fieldLiteral(f, "field")).join(", ")}],`;
      if (m.fields.length <= 1 && oneLine.length <= 110) {
        emit(oneLine);
      } else {
        emit("    fields: [");
        for (const f of m.fields) emit(`      ${fieldLiteral(f, "field")},`);
        emit("    ],");
      }
      emit("  },");
    }
  }
  emit("];\n");

  emit("/** Content header properties per class id, in flag-bit order (only basic has content in 0-9-1). */");
  emit("export const CLASS_PROPERTIES: ReadonlyMap<number, readonly FieldSpec[]> = new Map([");
  for (const cls of spec.classes) {
    if (cls.properties.length === 0) continue;
    emit("  [");
    emit(`    ${cls.index},`);
    emit("    [");
    for (const p of cls.properties) emit(`      ${fieldLiteral(p, "property")},`);
    emit("    ],");
    emit("  ],");
  }
  emit("]);");
  return `${out.join("\n")}\n`;
}
