export {
  type AcquiredToxiproxy,
  type AcquireOptions,
  acquireToxiproxy,
  type ToxiproxySource,
} from "./acquire.js";
export { ApiError, ApiErrors } from "./errors.js";
export { parseHostPort } from "./proxy.js";
export {
  startToxiproxyServer,
  TOXIPROXY_API_VERSION,
  type ToxiproxyServer,
  type ToxiproxyServerOptions,
} from "./server.js";
export { type EndKind, sliceOffsets } from "./stages.js";
export { TOXIC_ATTRIBUTES, type ToxicConfig, type ToxicType } from "./toxic-config.js";
