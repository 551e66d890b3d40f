/** The quorum-queue state machine and its helpers. See docs/queues.md. */
export { MAX_PRIORITY_LIMIT, messageTtl, Overflow, parseQueueArguments, type QueueConfig } from "./config.js";
export { type ConsumerInfo, NO_ACK_WINDOW } from "./consumers.js";
export {
  type DeadLetteredMessage,
  type DeadLetterInput,
  deadLetterMessage,
  isDeadLetterCycle,
} from "./dead-letter.js";
export { LocalQueue } from "./local-queue.js";
export { QueueMachine, type QueueMachineOptions } from "./machine.js";
export * from "./types.js";
