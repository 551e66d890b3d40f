/**
 * Content properties as the broker stores them. The codec decodes basic's properties straight
 * into MessageProperties' shape; only 0-8's deprecated cluster-id is dropped (RabbitMQ ignores it).
 */
import type { MessageProperties } from "../queue/types.js";
import type { ContentProperties } from "./codec/index.js";

export function toMessageProperties(p: ContentProperties): MessageProperties {
  if (p.clusterId === undefined) return p;
  const { clusterId: _dropped, ...rest } = p;
  return rest;
}
