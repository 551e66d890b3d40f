import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AmqpReplyCode, ERRORS, type WarrenCode, WarrenError } from "./errors.js";

/**
 * The AMQP 0-9-1 reply codes as the spec (amqp0-9-1.xml, "constant" elements) defines them,
 * with their class: soft errors close the channel, hard errors the connection.
 * Written out here independently of errors.ts so a typo there cannot hide.
 */
const SPEC: Record<number, { name: string; class: "soft-error" | "hard-error" }> = {
  311: { name: "CONTENT_TOO_LARGE", class: "soft-error" },
  312: { name: "NO_ROUTE", class: "soft-error" },
  313: { name: "NO_CONSUMERS", class: "soft-error" },
  320: { name: "CONNECTION_FORCED", class: "hard-error" },
  402: { name: "INVALID_PATH", class: "hard-error" },
  403: { name: "ACCESS_REFUSED", class: "soft-error" },
  404: { name: "NOT_FOUND", class: "soft-error" },
  405: { name: "RESOURCE_LOCKED", class: "soft-error" },
  406: { name: "PRECONDITION_FAILED", class: "soft-error" },
  501: { name: "FRAME_ERROR", class: "hard-error" },
  502: { name: "SYNTAX_ERROR", class: "hard-error" },
  503: { name: "COMMAND_INVALID", class: "hard-error" },
  504: { name: "CHANNEL_ERROR", class: "hard-error" },
  505: { name: "UNEXPECTED_FRAME", class: "hard-error" },
  506: { name: "RESOURCE_ERROR", class: "hard-error" },
  530: { name: "NOT_ALLOWED", class: "hard-error" },
  540: { name: "NOT_IMPLEMENTED", class: "hard-error" },
  541: { name: "INTERNAL_ERROR", class: "hard-error" },
};

/** Codes whose door deliberately uses a soft code at connection level (a refused login closes the connection). */
const HARD_BY_CONTEXT = new Set<WarrenCode>(["UNAUTHORIZED"]);

const codes = Object.keys(ERRORS) as WarrenCode[];

function documentedRows(): Map<string, string[]> {
  const md = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");
  const rows = new Map<string, string[]>();
  for (const line of md.split("\n")) {
    const m = /^\|\s*`([A-Z_]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m?.[1] && m[2] !== undefined)
      rows.set(
        m[1],
        m[2].split("|").map((c) => c.trim()),
      );
  }
  return rows;
}

describe("the error table", () => {
  it("documents every code in docs/errors.md, and documents no code that does not exist", () => {
    const rows = documentedRows();
    expect([...rows.keys()].sort()).toEqual([...codes].sort());
  });

  it("documents the AMQP reply, the closing scope and the HTTP status each code really has", () => {
    const rows = documentedRows();
    for (const code of codes) {
      const [amqpCell, scopeCell, httpCell] = rows.get(code) ?? [];
      const spec = ERRORS[code];
      const err = new WarrenError(code, "x");
      if (spec.amqp === null) {
        expect(amqpCell, code).toBe("—");
      } else {
        expect(amqpCell, code).toBe(`${err.amqp?.replyCode} ${spec.amqp.name}`);
        expect(scopeCell, code).toBe(spec.amqp.scope);
      }
      if (spec.http === null) expect(httpCell, code).toBe("—");
      else expect(httpCell?.split(" ")[0], code).toBe(String(spec.http.status));
    }
  });

  it("uses only real AMQP 0-9-1 reply codes, under their spec names", () => {
    for (const [name, replyCode] of Object.entries(AmqpReplyCode)) {
      expect(SPEC[replyCode]?.name, name).toBe(name);
    }
    for (const code of codes) {
      const amqp = new WarrenError(code, "x").amqp;
      if (amqp === undefined) continue;
      const spec = SPEC[amqp.replyCode];
      expect(spec, code).toBeDefined();
      if (!HARD_BY_CONTEXT.has(code)) expect(amqp.hard, code).toBe(spec?.class === "hard-error");
    }
  });

  it("uses HTTP error statuses only", () => {
    for (const code of codes) {
      const http = ERRORS[code].http;
      if (http !== null) expect(http.status >= 400 && http.status <= 599, code).toBe(true);
    }
  });
});

describe("WarrenError", () => {
  it("renders a channel error as RabbitMQ's reply text", () => {
    const err = new WarrenError("NOT_FOUND", "no queue 'q' in vhost '/'");
    expect(err.amqp).toEqual({
      replyCode: 404,
      replyText: "NOT_FOUND - no queue 'q' in vhost '/'",
      hard: false,
    });
  });

  it("renders an inequivalent redeclare as the management API's 400 bad_request", () => {
    const text =
      "inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'";
    const err = new WarrenError("PRECONDITION_FAILED", text);
    expect(err.http).toEqual({
      status: 400,
      headers: {},
      body: { error: "bad_request", reason: `406 PRECONDITION_FAILED - ${text}` },
    });
  });

  it("renders a missing object as 404 Object Not Found", () => {
    expect(new WarrenError("NOT_FOUND", "no queue 'q' in vhost '/'").http.body).toEqual({
      error: "Object Not Found",
      reason: "Not Found",
    });
  });

  it("asks HTTP clients to retry when there is no quorum", () => {
    expect(new WarrenError("NO_QUORUM", "no leader").http.headers["retry-after"]).toBe("1");
    expect(
      new WarrenError("NO_QUORUM", "no leader", { retryAfterSeconds: 5 }).http.headers["retry-after"],
    ).toBe("5");
    expect(new WarrenError("NO_QUORUM", "no leader").http.status).toBe(503);
  });

  it("asks for credentials on 401", () => {
    const http = new WarrenError("UNAUTHORIZED", "Not_Authorized").http;
    expect(http.status).toBe(401);
    expect(http.headers["www-authenticate"]).toContain("Basic");
  });

  it("closes the connection for hard errors", () => {
    expect(new WarrenError("FRAME_ERROR", "bad frame").amqp?.hard).toBe(true);
    expect(new WarrenError("UNAUTHORIZED", "login refused").amqp).toMatchObject({
      replyCode: 403,
      hard: true,
    });
  });

  it("cuts the reply text to 255 bytes without splitting a character", () => {
    const err = new WarrenError("NOT_FOUND", "é".repeat(300));
    const text = err.amqp?.replyText ?? "";
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(255);
    expect(text.endsWith("é")).toBe(true);
  });

  it("survives a round trip as data (what crosses msgpackr between nodes)", () => {
    const err = WarrenError.fromData(new WarrenError("RESOURCE_LOCKED", "locked").toData());
    expect(err).toBeInstanceOf(WarrenError);
    expect(err.code).toBe("RESOURCE_LOCKED");
    expect(WarrenError.fromData({ code: "NOPE" as WarrenCode, message: "m" }).code).toBe("INTERNAL_ERROR");
  });
});
