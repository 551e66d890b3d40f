/**
 * The per-node broker service. Build a whole node with `startNode` (node/node.ts), or a broker
 * over a started host and transport with `BrokerService.start` (see broker-service.ts).
 */
export { BrokerService, type BrokerStartOptions, defaultSettings } from "./broker-service.js";
export { type BrokerSettings, DEFAULT_NODE_DOWN_GRACE_MS } from "./context.js";
export { hashPassword, SHA256_SCHEME, verifyPassword } from "./passwords.js";
export * from "./types.js";
