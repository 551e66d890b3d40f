/**
 * Exchange routing for one virtual host (see docs/routing.md for the semantics).
 */
export { HashRing, MAX_CONSISTENT_HASH_WEIGHT, POINTS_PER_WEIGHT, parseWeight } from "./consistent-hash.js";
export { canonicalTable, fieldEquals } from "./field-values.js";
export {
  compileHeadersPattern,
  headersMatch,
  parseXMatch,
  X_MATCH_MODES,
  type XMatchMode,
} from "./headers-match.js";
export { murmur3Bytes, murmur3String } from "./murmur3.js";
export { RoutingTable } from "./routing-table.js";
export { compileTopicPattern, splitTopicKey, TopicTrie, topicMatchesNaive } from "./topic-trie.js";
export {
  type BindingInfo,
  type Destination,
  type DestinationKind,
  EXCHANGE_TYPES,
  type ExchangeOptions,
  type ExchangeType,
  type FieldTable,
  type HashableProperties,
  type RouteResult,
  RoutingError,
} from "./types.js";
export {
  HASH_PROPERTIES,
  isExchangeType,
  type ValidationError,
  validateBinding,
  validateExchange,
} from "./validate.js";
