/**
 * Authenticated TCP between the nodes of a cluster: one connection per ordered pair of nodes,
 * length-prefixed msgpack frames, typed channels, bounded per-peer queues. See docs/raft/transport.md.
 */
export { encodeFrame, FrameDecoder, FrameError } from "./frame.js";
export { type BackoffOptions, backoffDelay, type PeerAddress } from "./peer-link.js";
export {
  CLOSE_GRACE_MS,
  DEFAULT_BACKOFF,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_QUEUE_BYTES,
  type MessageHandler,
  type PeerCallback,
  type PeerDirection,
  Transport,
  type TransportOptions,
  type TransportStats,
} from "./transport.js";
