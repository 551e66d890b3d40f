export { type ClusterNode, type ClusterOptions, TestCluster } from "./cluster.js";
export { type HttpAnswer, HttpClient, seg } from "./http.js";
export { childEnv, type ExitStatus, killAllNodes, NodeProcess, REPO_ROOT } from "./node-process.js";
export { type PollOptions, waitFor } from "./poll.js";
export { freePorts, isPortFree } from "./ports.js";
export {
  agreedLeaderOf,
  drainQueue,
  leaderOf,
  type QueueInfo,
  queueInfo,
  tryPublish,
} from "./queues.js";
