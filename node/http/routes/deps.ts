/** What every route module receives from buildApp. */
import type { Broker } from "../../broker/types.js";
import type { ConsumeSessions } from "../consume-sessions.js";
import type { NodeMetrics } from "../metrics.js";

export interface RouteDeps {
  readonly broker: Broker;
  readonly sessions: ConsumeSessions;
  readonly metrics: NodeMetrics;
}

/** RabbitMQ answers PUT with 201 when it created the object and 204 when it already existed. */
export function createdOrNoContent(existed: boolean): 201 | 204 {
  return existed ? 204 : 201;
}

/** Query flags as RabbitMQ's management API reads them (`if-unused=true`). */
export function flag(v: unknown): boolean {
  return v === true || v === "true";
}
