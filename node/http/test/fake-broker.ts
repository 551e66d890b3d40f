/**
 * A small in-memory test double of `Broker` for the door's own behaviour: authentication, tag
 * checks and the mapping of broker errors to HTTP. Everything it does not define rejects, so a
 * test states exactly which broker behaviour it relies on (`overrides`).
 */
import type { Broker, GroupStatus, QueueInfo } from "../../broker/types.js";
import { WarrenError } from "../../errors.js";
import type { UserRecord, VHostRecord } from "../../meta/index.js";

const USERS: Record<string, { password: string; tags: string[] }> = {
  admin: { password: "admin-pw", tags: ["administrator"] },
  manager: { password: "manager-pw", tags: ["management"] },
  nobody: { password: "nobody-pw", tags: [] },
};

const vhost = (name: string): VHostRecord => ({
  name,
  description: "",
  tags: [],
  createdIndex: 1,
  createdAt: 0,
});

export function user(name: string): UserRecord {
  return {
    name,
    passwordHash: "hash",
    hashingAlgorithm: "rabbit_password_hashing_sha256",
    tags: USERS[name]?.tags ?? [],
    createdIndex: 1,
  };
}

export function basic(name: string, password = USERS[name]?.password ?? "x"): string {
  return `Basic ${Buffer.from(`${name}:${password}`).toString("base64")}`;
}

export function fakeBroker(overrides: Partial<Broker> = {}): Broker {
  const missing = (method: string) => () => {
    throw new WarrenError("INTERNAL_ERROR", `fake broker: ${method} not defined by this test`);
  };
  const base: Broker = new Proxy({} as Broker, {
    get(_t, prop) {
      // Not a thenable, not an iterable: only named methods are "missing".
      if (typeof prop !== "string" || prop === "then") return undefined;
      return missing(prop);
    },
  });
  const defaults: Partial<Broker> = {
    nodeId: "n1",
    async authenticate(name, password) {
      const u = USERS[name];
      if (!u || u.password !== password)
        throw new WarrenError("ACCESS_REFUSED", `login refused for user '${name}'`);
      return user(name);
    },
    authorize() {},
    checkVhostAccess(u, v) {
      if (u !== "manager" || v !== "/")
        throw new WarrenError("NOT_ALLOWED", `access to vhost '${v}' refused for user '${u}'`);
    },
    listVhosts: () => [vhost("/"), vhost("other")],
    listPermissions: (f) =>
      f?.user === "manager"
        ? [{ vhost: "/", user: "manager", configure: ".*", write: ".*", read: ".*" }]
        : [],
    listExchanges: () => [],
    getExchange: () => undefined,
    listQueues: async (): Promise<readonly QueueInfo[]> => [],
    getQueue: async () => undefined,
    groupStatuses: (): readonly GroupStatus[] => [],
    isReady: () => true,
    isBlocked: () => false,
    listBindings: () => [],
  };
  return Object.assign(Object.create(base) as Broker, defaults, overrides);
}
