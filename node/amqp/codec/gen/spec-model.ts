/**
 * Reads the AMQP 0-9-1 XML spec (RabbitMQ's "stripped extended" edition) into a small model the
 * generator prints from. The XML is flat and regular (no CDATA, no entities that matter), so a
 * tag tokenizer is enough; anything unexpected throws rather than being guessed at.
 */

export interface SpecConstant {
  readonly name: string;
  readonly value: number;
  readonly errorClass: "soft-error" | "hard-error" | undefined;
}

export interface SpecField {
  /** The spec's name, e.g. `auto-delete`, `reserved-1`. */
  readonly name: string;
  /** Primitive type after resolving the domain: bit, octet, short, long, longlong, shortstr, longstr, timestamp, table. */
  readonly type: string;
  readonly reserved: boolean;
}

export interface SpecMethod {
  readonly name: string;
  readonly index: number;
  readonly synchronous: boolean;
  readonly content: boolean;
  readonly responses: readonly string[];
  readonly fields: readonly SpecField[];
  /** The peers that receive (implement) the method, from its `<chassis>` elements. */
  readonly chassis: readonly ("server" | "client")[];
}

export interface SpecClass {
  readonly name: string;
  readonly index: number;
  /** Content properties (only `basic` has any in 0-9-1). */
  readonly properties: readonly SpecField[];
  readonly methods: readonly SpecMethod[];
}

export interface SpecModel {
  readonly major: number;
  readonly minor: number;
  readonly revision: number;
  readonly constants: readonly SpecConstant[];
  readonly classes: readonly SpecClass[];
}

interface Tag {
  readonly name: string;
  readonly attrs: ReadonlyMap<string, string>;
  readonly closing: boolean;
  readonly selfClosing: boolean;
}

const PRIMITIVES = new Set([
  "bit",
  "octet",
  "short",
  "long",
  "longlong",
  "shortstr",
  "longstr",
  "timestamp",
  "table",
]);

function* tags(xml: string): Generator<Tag> {
  const stripped = xml.replace(/<!--[\s\S]*?-->/g, "").replace(/<\?[\s\S]*?\?>/g, "");
  const tagRe = /<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g;
  for (const m of stripped.matchAll(tagRe)) {
    const attrs = new Map<string, string>();
    for (const a of (m[3] ?? "").matchAll(/([a-zA-Z][\w-]*)="([^"]*)"/g)) attrs.set(a[1]!, a[2]!);
    yield { name: m[2]!, attrs, closing: m[1] === "/", selfClosing: m[4] === "/" };
  }
}

function attr(t: Tag, name: string): string {
  const v = t.attrs.get(name);
  if (v === undefined) throw new Error(`spec: <${t.name}> lacks attribute ${name}`);
  return v;
}

function int(t: Tag, name: string): number {
  const v = Number(attr(t, name));
  if (!Number.isInteger(v)) throw new Error(`spec: <${t.name} ${name}> is not an integer`);
  return v;
}

/**
 * Parses the spec XML, then any extension documents (classes repeated there get their extra
 * methods). Domains are resolved to primitive types here.
 */
export function readSpec(xml: string, ...extensions: string[]): SpecModel {
  const domains = new Map<string, string>();
  const constants: SpecConstant[] = [];
  const classes: { name: string; index: number; properties: SpecField[]; methods: SpecMethod[] }[] = [];
  let version: { major: number; minor: number; revision: number } | undefined;
  let cls: (typeof classes)[number] | undefined;
  let method:
    | {
        name: string;
        index: number;
        synchronous: boolean;
        content: boolean;
        responses: string[];
        fields: SpecField[];
        chassis: ("server" | "client")[];
      }
    | undefined;

  const resolve = (t: Tag): SpecField => {
    const name = attr(t, "name");
    const domain = t.attrs.get("domain") ?? t.attrs.get("type");
    if (domain === undefined) throw new Error(`spec: field ${name} has neither domain nor type`);
    const type = PRIMITIVES.has(domain) ? domain : domains.get(domain);
    if (type === undefined) throw new Error(`spec: field ${name} has unknown domain ${domain}`);
    return { name, type, reserved: t.attrs.get("reserved") === "1" };
  };

  for (const t of [xml, ...extensions].flatMap((doc) => [...tags(doc)])) {
    if (t.closing) {
      if (t.name === "method") {
        if (method === undefined || cls === undefined) throw new Error("spec: stray </method>");
        cls.methods.push(method);
        method = undefined;
      } else if (t.name === "class") {
        cls = undefined;
      }
      continue;
    }
    switch (t.name) {
      case "amqp":
        version = { major: int(t, "major"), minor: int(t, "minor"), revision: int(t, "revision") };
        break;
      case "constant": {
        const c = t.attrs.get("class");
        constants.push({
          name: attr(t, "name"),
          value: int(t, "value"),
          errorClass: c === "soft-error" || c === "hard-error" ? c : undefined,
        });
        break;
      }
      case "domain": {
        const type = attr(t, "type");
        if (!PRIMITIVES.has(type))
          throw new Error(`spec: domain ${attr(t, "name")} has non-primitive type ${type}`);
        domains.set(attr(t, "name"), type);
        break;
      }
      case "class": {
        // A class seen again (in an extensions document) gets the new methods appended.
        const name = attr(t, "name");
        cls = classes.find((c) => c.name === name);
        if (cls !== undefined && cls.index !== int(t, "index"))
          throw new Error(`spec: class ${name} index differs`);
        if (cls === undefined) {
          cls = { name, index: int(t, "index"), properties: [], methods: [] };
          classes.push(cls);
        }
        break;
      }
      case "method":
        if (cls === undefined) throw new Error("spec: <method> outside <class>");
        method = {
          name: attr(t, "name"),
          index: int(t, "index"),
          synchronous: t.attrs.get("synchronous") === "1",
          content: t.attrs.get("content") === "1",
          responses: [],
          fields: [],
          chassis: [],
        };
        if (t.selfClosing) {
          cls.methods.push(method);
          method = undefined;
        }
        break;
      case "response":
        if (method === undefined) throw new Error("spec: <response> outside <method>");
        method.responses.push(attr(t, "name"));
        break;
      case "field":
        if (method !== undefined) method.fields.push(resolve(t));
        else if (cls !== undefined) cls.properties.push(resolve(t));
        else throw new Error("spec: <field> outside <class>");
        break;
      case "chassis": {
        // A class's chassis says who implements the class; only a method's matters here.
        if (method === undefined) break;
        const who = attr(t, "name");
        if (who !== "server" && who !== "client") throw new Error(`spec: chassis ${who}`);
        method.chassis.push(who);
        break;
      }
      case "amqp-extensions":
        break;
      default:
        // chassis, assert, doc, rule: not needed to encode or decode
        break;
    }
  }
  if (version === undefined) throw new Error("spec: no <amqp> element");
  return { ...version, constants, classes };
}
