import { describe, expect, it } from "vitest";
import { isLoopbackAddress, loginAllowedFrom } from "./loopback.js";
import { parseConfig } from "./parse.js";

describe("loopback_users (RabbitMQ): guest only from loopback", () => {
  const { loopbackUsers } = parseConfig({ argv: [], env: {} }).auth;

  it("guest may log in from loopback addresses only", () => {
    for (const a of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"]) {
      expect(loginAllowedFrom("guest", a, loopbackUsers), a).toBe(true);
    }
    for (const a of [
      "10.0.0.5",
      "::ffff:10.0.0.5",
      "fe80::1",
      "::",
      "::11",
      "128.0.0.1",
      "localhost",
      undefined,
    ]) {
      expect(loginAllowedFrom("guest", a, loopbackUsers), String(a)).toBe(false);
    }
  });

  it("other users may log in from anywhere, and `none` lifts the rule", () => {
    expect(loginAllowedFrom("alice", "10.0.0.5", loopbackUsers)).toBe(true);
    const none = parseConfig({ argv: ["--auth-loopback-users", "none"], env: {} }).auth.loopbackUsers;
    expect(none).toEqual([]);
    expect(loginAllowedFrom("guest", "10.0.0.5", none)).toBe(true);
  });

  it("isLoopbackAddress", () => {
    expect(isLoopbackAddress("127.0.0.1")).toBe(true);
    expect(isLoopbackAddress("192.168.1.1")).toBe(false);
  });
});
