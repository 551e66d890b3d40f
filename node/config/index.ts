/** A node's configuration: one schema, validated and frozen. See docs/configuration.md. */
export * as defaults from "./defaults.js";
export { describeConfig, formatConfig, REDACTED, renderSettingsMarkdown, usage } from "./describe.js";
export { ConfigError } from "./errors.js";
export { type Address, type AdvertisedAddress, advertisedOf } from "./kinds.js";
export { loadConfig } from "./load.js";
export { isLoopbackAddress, loginAllowedFrom } from "./loopback.js";
export {
  type ConfigOrigins,
  type ConfigSources,
  parseConfig,
  type ResolvedConfig,
  resolveConfig,
} from "./parse.js";
export { type PeerConfig, raftPeerMap } from "./peers.js";
export {
  type AdvertisedListenConfig,
  type ListenConfig,
  type NodeConfig,
  SETTINGS,
  type Setting,
} from "./schema.js";
export { wantsHelp } from "./sources.js";
