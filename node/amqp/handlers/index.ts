/** Every method a client may send on a channel (other than open/close), by name. */
import { basicHandlers } from "./basic.js";
import { exchangeQueueHandlers } from "./exchange-queue.js";
import { publishHandlers } from "./publish.js";
import type { HandlerMap } from "./types.js";

export const HANDLERS: HandlerMap = { ...exchangeQueueHandlers, ...basicHandlers, ...publishHandlers };
