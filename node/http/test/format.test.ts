/**
 * The management API's shapes: properties both ways, payload encodings, binding properties
 * keys, and AMQP field values that JSON cannot carry as they are.
 */
import { describe, expect, it } from "vitest";
import {
  decodePayload,
  encodePayload,
  propertiesFromJson,
  propertiesKey,
  propertiesToJson,
  toJson,
} from "../format.js";

describe("message properties", () => {
  it("map RabbitMQ's names to AMQP basic properties and back", () => {
    const json = {
      content_type: "text/plain",
      content_encoding: "gzip",
      headers: { a: 1, nested: { b: "c" } },
      delivery_mode: 2,
      priority: 5,
      correlation_id: "c1",
      reply_to: "r",
      expiration: "60000",
      message_id: "m",
      timestamp: 1700000000,
      type: "t",
      user_id: "guest",
      app_id: "app",
    };
    const amqp = propertiesFromJson(json);
    expect(amqp).toEqual({
      contentType: "text/plain",
      contentEncoding: "gzip",
      headers: { a: 1, nested: { b: "c" } },
      deliveryMode: 2,
      priority: 5,
      correlationId: "c1",
      replyTo: "r",
      expiration: "60000",
      messageId: "m",
      timestamp: 1700000000,
      type: "t",
      userId: "guest",
      appId: "app",
    });
    expect(propertiesToJson(amqp)).toEqual(json);
  });

  it("render AMQP-only values as JSON (bigint, bytes, dates)", () => {
    expect(
      toJson({
        n: 5n,
        big: 2n ** 70n,
        bytes: new Uint8Array([1, 2]),
        when: new Date(1_700_000_000_500),
        list: [1n],
      }),
    ).toEqual({
      n: 5,
      big: "1180591620717411303424",
      bytes: "AQI=",
      when: 1700000000,
      list: [1],
    });
  });
});

describe("payloads", () => {
  it("auto gives UTF-8 text as a string and anything else as base64", () => {
    expect(encodePayload(Buffer.from("héllo"), "auto", undefined)).toEqual({
      payload: "héllo",
      payload_encoding: "string",
    });
    expect(encodePayload(new Uint8Array([0xff, 0xfe]), "auto", undefined)).toEqual({
      payload: "//4=",
      payload_encoding: "base64",
    });
    expect(encodePayload(Buffer.from("hello"), "base64", 2)).toEqual({
      payload: "aGU=",
      payload_encoding: "base64",
    });
  });

  it("decodes string and base64 payloads, refusing invalid base64", () => {
    expect(Buffer.from(decodePayload("aGk=", "base64")).toString()).toBe("hi");
    expect(Buffer.from(decodePayload("hi", "string")).toString()).toBe("hi");
    expect(() => decodePayload("a*b", "base64")).toThrow(/not valid base64/);
  });
});

describe("binding properties_key", () => {
  it("is the quoted routing key, ~ when empty, key~hash with arguments", () => {
    expect(propertiesKey("", {})).toBe("~");
    expect(propertiesKey("a.b", {})).toBe("a.b");
    expect(propertiesKey("a b/c~", {})).toBe("a%20b%2Fc%7E");
    const k = propertiesKey("rk", { "x-match": "all", b: 1 });
    expect(k).toMatch(/^rk~[A-Za-z0-9_-]{6}$/);
    // Independent of key order; different for different arguments.
    expect(propertiesKey("rk", { b: 1, "x-match": "all" })).toBe(k);
    expect(propertiesKey("rk", { b: 2, "x-match": "all" })).not.toBe(k);
    expect(propertiesKey("rk", { t: { a: 1, b: 2 } })).toBe(propertiesKey("rk", { t: { b: 2, a: 1 } }));
    expect(propertiesKey("rk", { t: { a: 1 } })).not.toBe(propertiesKey("rk", { t: { a: 2 } }));
  });
});
