import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { camelCase, EXTENSIONS_PATH, GENERATED_PATH, generate, SPEC_PATH } from "../gen/generate.js";
import { CLASS_PROPERTIES, ClassId, Constant, METHOD_SPECS } from "../generated/methods.js";
import { amqplibFieldName, amqplibMethods } from "./amqplib-oracle.js";

/** Debian's amqp-specs package; present on dev machines, not on CI. */
const DEBIAN_SPEC = "/usr/share/amqp/specs/0-9-1-rabbit/amqp0-9-1.stripped.extended.xml";

function spec(name: string) {
  const s = METHOD_SPECS.find((m) => m.name === name);
  if (s === undefined) throw new Error(`no ${name}`);
  return s;
}

describe("generated method tables", () => {
  it("the committed file is exactly what the generator produces from the committed spec", () => {
    const expected = generate(readFileSync(SPEC_PATH, "utf8"), readFileSync(EXTENSIONS_PATH, "utf8"));
    expect(readFileSync(GENERATED_PATH, "utf8")).toBe(expected);
  });

  it("the committed spec is Debian's amqp-specs file, byte for byte, where that package is installed", () => {
    expect(existsSync(SPEC_PATH)).toBe(true);
    if (!existsSync(DEBIAN_SPEC)) return; // CI: the committed copy is the reference
    expect(readFileSync(SPEC_PATH)).toEqual(readFileSync(DEBIAN_SPEC));
  });

  it("names fields in camelCase, no-wait and nowait alike", () => {
    expect(camelCase("auto-delete")).toBe("autoDelete");
    expect(camelCase("no-wait")).toBe("noWait");
    expect(camelCase("nowait")).toBe("noWait");
    expect(camelCase("reply-code")).toBe("replyCode");
    expect(spec("queue.declare").fields.map((f) => f.name)).toEqual([
      "reserved1",
      "queue",
      "passive",
      "durable",
      "exclusive",
      "autoDelete",
      "noWait",
      "arguments",
    ]);
    expect(spec("confirm.select").fields).toEqual([{ name: "noWait", type: "bit" }]);
  });

  it("has every class with its id, and the spec's constants", () => {
    expect(ClassId).toEqual({
      connection: 10,
      channel: 20,
      exchange: 40,
      queue: 50,
      basic: 60,
      tx: 90,
      confirm: 85,
    });
    expect(Constant.FRAME_MIN_SIZE).toBe(4096);
    expect(Constant.FRAME_END).toBe(0xce);
    expect(Constant.FRAME_HEARTBEAT).toBe(8);
    expect(Constant.NOT_IMPLEMENTED).toBe(540);
  });

  it("marks content-carrying methods and synchronous request/response pairs", () => {
    const content = METHOD_SPECS.filter((m) => m.content).map((m) => m.name);
    expect(content.sort()).toEqual(["basic.deliver", "basic.get-ok", "basic.publish", "basic.return"]);
    expect(spec("basic.get").responses).toEqual(["basic.get-ok", "basic.get-empty"]);
    expect(spec("queue.declare").synchronous).toBe(true);
    expect(spec("basic.publish").synchronous).toBe(false);
    expect(spec("connection.update-secret").responses).toEqual(["connection.update-secret-ok"]);
  });

  it("knows who receives each method (the spec's chassis): what a server must refuse from a client", () => {
    for (const m of METHOD_SPECS) expect(m.server || m.client, m.name).toBe(true);
    const clientOnly = METHOD_SPECS.filter((m) => !m.server).map((m) => m.name);
    expect(clientOnly).toEqual(
      expect.arrayContaining([
        "connection.start",
        "connection.tune",
        "connection.blocked",
        "basic.deliver",
        "basic.return",
        "basic.get-ok",
        "queue.declare-ok",
        "confirm.select-ok",
      ]),
    );
    for (const both of [
      "basic.ack",
      "basic.nack",
      "basic.cancel",
      "channel.flow",
      "channel.close",
      "connection.close",
    ]) {
      expect(spec(both), both).toMatchObject({ server: true, client: true });
    }
    expect(spec("basic.publish")).toMatchObject({ server: true, client: false });
  });

  it("includes RabbitMQ's extensions: confirm, exchange.bind, basic.nack, connection.blocked", () => {
    expect(spec("confirm.select")).toMatchObject({ classId: 85, methodId: 10 });
    expect(spec("exchange.bind")).toMatchObject({ classId: 40, methodId: 30 });
    expect(spec("basic.nack")).toMatchObject({ classId: 60, methodId: 120 });
    expect(spec("connection.blocked")).toMatchObject({ classId: 10, methodId: 60 });
    expect(spec("connection.unblocked")).toMatchObject({ classId: 10, methodId: 61 });
  });

  it("agrees with amqplib's generated defs on every method: ids, argument types and names", () => {
    // amqplib also knows 0-8's access class (30), which 0-9-1 removed.
    const theirMethods = amqplibMethods.filter((m) => m.classId !== 30);
    expect(METHOD_SPECS.length).toBe(theirMethods.length);
    for (const theirs of theirMethods) {
      const ours = METHOD_SPECS.find((m) => m.classId === theirs.classId && m.methodId === theirs.methodId);
      expect(ours, theirs.name).toBeDefined();
      expect(
        ours!.fields.map((f) => f.type),
        theirs.name,
      ).toEqual(theirs.args.map((a) => a.type));
      ours!.fields.forEach((f, i) => {
        if (f.reserved !== true) expect(amqplibFieldName(f.name), theirs.name).toBe(theirs.args[i]!.name);
      });
    }
  });

  it("lists basic's fourteen properties in flag order, the last as clusterId", () => {
    const props = CLASS_PROPERTIES.get(60)!.map((p) => p.name);
    expect(props).toEqual([
      "contentType",
      "contentEncoding",
      "headers",
      "deliveryMode",
      "priority",
      "correlationId",
      "replyTo",
      "expiration",
      "messageId",
      "timestamp",
      "type",
      "userId",
      "appId",
      "clusterId",
    ]);
    // properties.ts reads and writes property values like arguments: right only without bits.
    for (const [, props] of CLASS_PROPERTIES) for (const p of props) expect(p.type).not.toBe("bit");
  });
});
