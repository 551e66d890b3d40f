/**
 * A committed entry is applied on every replica forever after, so a malformed command must be
 * refused as data, never crash `apply` (a crash would repeat on every node at every restart).
 * This checks the shape of each command type before any handler sees it.
 */
import { WarrenError } from "../errors.js";
import type { MetaCommand } from "./types.js";

type FieldKind =
  | "string"
  | "boolean"
  | "table"
  | "number"
  | "strings"
  | "placement"
  | "observed"
  | "replacements";

const COMMON: Record<string, FieldKind> = { user: "string" };

const BINDING: Record<string, FieldKind> = {
  vhost: "string",
  source: "string",
  destinationKind: "string",
  destination: "string",
  routingKey: "string",
  arguments: "table",
  connection: "string",
};

/** For each command: its fields and their kinds. */
const SHAPES: Record<MetaCommand["type"], Record<string, FieldKind>> = {
  "vhost.create": { name: "string", description: "string", tags: "strings" },
  "vhost.delete": { name: "string" },
  "exchange.declare": {
    vhost: "string",
    name: "string",
    exchangeType: "string",
    passive: "boolean",
    durable: "boolean",
    autoDelete: "boolean",
    internal: "boolean",
    arguments: "table",
  },
  "exchange.delete": { vhost: "string", name: "string", ifUnused: "boolean" },
  "queue.declare": {
    vhost: "string",
    name: "string",
    generatedName: "string",
    passive: "boolean",
    durable: "boolean",
    exclusive: "boolean",
    autoDelete: "boolean",
    arguments: "table",
    connection: "string",
    node: "string",
    placement: "placement",
  },
  "queue.delete": {
    vhost: "string",
    name: "string",
    ifUnused: "boolean",
    ifEmpty: "boolean",
    connection: "string",
    observed: "observed",
  },
  "queue.delete-internal": { vhost: "string", name: "string", incarnation: "number", reason: "string" },
  "queue.update-placement": {
    vhost: "string",
    name: "string",
    incarnation: "number",
    members: "strings",
    leader: "string",
  },
  "queue.add-member": { vhost: "string", name: "string", node: "string" },
  "queue.remove-member": { vhost: "string", name: "string", node: "string" },
  "node.join": { node: "string", raft: "string", amqp: "string", http: "string" },
  "node.forget": { node: "string", replacements: "replacements" },
  "binding.add": BINDING,
  "binding.remove": BINDING,
  "connection.closed": { connection: "string" },
  "node.down": { node: "string" },
  "user.put": {
    name: "string",
    passwordHash: "string",
    clearPassword: "boolean",
    hashingAlgorithm: "string",
    tags: "strings",
  },
  "user.delete": { name: "string" },
  "user.bootstrap": {
    name: "string",
    passwordHash: "string",
    hashingAlgorithm: "string",
    tags: "strings",
    vhost: "string",
    configure: "string",
    write: "string",
    read: "string",
  },
  "permission.set": {
    vhost: "string",
    username: "string",
    configure: "string",
    write: "string",
    read: "string",
  },
  "permission.delete": { vhost: "string", username: "string" },
};

const REQUIRED: Record<MetaCommand["type"], readonly string[]> = {
  "vhost.create": ["name"],
  "vhost.delete": ["name"],
  "exchange.declare": ["vhost", "name", "exchangeType"],
  "exchange.delete": ["vhost", "name"],
  "queue.declare": ["vhost", "name", "node"],
  "queue.delete": ["vhost", "name"],
  "queue.delete-internal": ["vhost", "name", "incarnation", "reason"],
  "queue.update-placement": ["vhost", "name", "incarnation", "members", "leader"],
  "queue.add-member": ["vhost", "name", "node"],
  "queue.remove-member": ["vhost", "name", "node"],
  "node.join": ["node", "raft"],
  "node.forget": ["node"],
  "binding.add": ["vhost", "source", "destinationKind", "destination", "routingKey"],
  "binding.remove": ["vhost", "source", "destinationKind", "destination", "routingKey"],
  "connection.closed": ["connection"],
  "node.down": ["node"],
  "user.put": ["name"],
  "user.delete": ["name"],
  "user.bootstrap": ["name", "passwordHash", "tags", "vhost", "configure", "write", "read"],
  "permission.set": ["vhost", "username", "configure", "write", "read"],
  "permission.delete": ["vhost", "username"],
};

const ENUMS: Partial<Record<string, readonly string[]>> = {
  destinationKind: ["queue", "exchange"],
  reason: ["auto-delete", "expired"],
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === "object" &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Uint8Array) &&
    !(v instanceof Date)
  );
}

function fits(kind: FieldKind, v: unknown): boolean {
  switch (kind) {
    case "string":
      return typeof v === "string";
    case "boolean":
      return typeof v === "boolean";
    case "number":
      return typeof v === "number" && Number.isSafeInteger(v);
    case "table":
      return isPlainObject(v);
    case "strings":
      return Array.isArray(v) && v.every((s) => typeof s === "string");
    case "placement":
      return isPlainObject(v) && fits("strings", v.members) && typeof v.leader === "string";
    case "observed":
      return isPlainObject(v) && fits("number", v.consumers) && fits("number", v.messages);
    case "replacements":
      return (
        Array.isArray(v) &&
        v.every(
          (r) =>
            isPlainObject(r) &&
            typeof r.vhost === "string" &&
            typeof r.name === "string" &&
            typeof r.node === "string",
        )
      );
  }
}

/** Returns the command typed, or throws INTERNAL_ERROR naming what is wrong with it. */
export function checkCommandShape(cmd: unknown): MetaCommand {
  const bad = (why: string) => new WarrenError("INTERNAL_ERROR", `malformed metadata command: ${why}`);
  if (!isPlainObject(cmd) || typeof cmd.type !== "string" || !Object.hasOwn(SHAPES, cmd.type)) {
    throw bad(`unknown command type ${JSON.stringify(isPlainObject(cmd) ? cmd.type : typeof cmd)}`);
  }
  const type = cmd.type as MetaCommand["type"];
  const shape = SHAPES[type];
  for (const name of REQUIRED[type]) if (cmd[name] === undefined) throw bad(`${type} without '${name}'`);
  for (const [name, v] of Object.entries(cmd)) {
    if (name === "type" || v === undefined) continue;
    const kind = shape[name] ?? COMMON[name];
    if (kind === undefined) continue; // unknown fields are ignored: newer nodes may add some
    if (!fits(kind, v)) throw bad(`${type} field '${name}' is not a ${kind}`);
    const allowed = ENUMS[name];
    if (allowed !== undefined && !allowed.includes(v as string))
      throw bad(`${type} field '${name}' is ${String(v)}`);
  }
  return cmd as unknown as MetaCommand;
}
