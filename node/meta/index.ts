/** The metadata group: its state machine, data types and read-only queries. */
export { MetaMachine } from "./machine.js";
export type { BindingFilter, PermissionKind, QueueFilter } from "./queries.js";
export { queueGroupId, SERVER_NAMED_PREFIX } from "./queues.js";
export { unwrapReply } from "./reply.js";
export { DEFAULT_VHOST, SYSTEM_EXCHANGES } from "./store.js";
export * from "./types.js";
export { DEFAULT_HASHING_ALGORITHM } from "./users.js";
