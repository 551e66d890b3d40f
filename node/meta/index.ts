/** The metadata group: its state machine, data types and read-only queries. */
export { MetaMachine } from "./machine.js";
export type { BindingFilter, QueueFilter } from "./queries.js";
export { queueGroupId, SERVER_NAMED_PREFIX } from "./queues.js";
export { DEFAULT_VHOST, SYSTEM_EXCHANGES } from "./store.js";
export * from "./types.js";
