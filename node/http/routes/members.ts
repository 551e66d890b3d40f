/**
 * Membership routes, a Warren extension (RabbitMQ's management API has none; these are the HTTP
 * form of `rabbitmq-queues add_member / delete_member / grow / shrink` and `rabbitmqctl
 * forget_cluster_node`). Changing membership needs the administrator tag; reading a queue's
 * members needs what reading the queue needs. Changes are recorded at once and the answer waits
 * (up to `timeout_ms`) for the Raft groups to reach them: `settled` says whether they did.
 */
import type { FastifyInstance } from "fastify";
import type { Broker, QueueMembers } from "../../broker/types.js";
import { WarrenError } from "../../errors.js";
import { vhostContext } from "../auth.js";
import { authErrors, vhostNameParams } from "../schemas.js";
import type { RouteDeps } from "./deps.js";

const nodeName = { type: "string", minLength: 1, maxLength: 255 } as const;
const timeoutMs = {
  type: "integer",
  minimum: 0,
  maximum: 600_000,
  description: "How long to wait for the Raft groups to reach the new membership (default 30000)",
} as const;

const membersSchema = {
  type: "object",
  properties: {
    vhost: { type: "string" },
    name: { type: "string" },
    members: { type: "array", items: { type: "string" }, description: "The members the metadata records" },
    leader: { type: ["string", "null"] },
    voters: { type: "array", items: { type: "string" }, description: "Voters of the queue's Raft group now" },
    learners: {
      type: "array",
      items: { type: "string" },
      description: "Members still catching up (receive the log, do not vote yet)",
    },
    settled: { type: "boolean", description: "The voters are exactly the members and no learner is left" },
  },
  required: ["vhost", "name", "members", "leader", "voters", "learners", "settled"],
} as const;

const outcomesSchema = {
  type: "array",
  items: {
    type: "object",
    properties: {
      vhost: { type: "string" },
      name: { type: "string" },
      ok: { type: "boolean" },
      error: { type: "string" },
      settled: { type: "boolean" },
    },
    required: ["vhost", "name", "ok"],
  },
} as const;

const vhostNameNodeParams = {
  type: "object",
  properties: { ...vhostNameParams.properties, node: nodeName },
  required: ["vhost", "name", "node"],
} as const;

const nodeParams = { type: "object", properties: { node: nodeName }, required: ["node"] } as const;

function formatMembers(m: QueueMembers) {
  return {
    ...m,
    members: [...m.members],
    voters: [...m.voters],
    learners: [...m.learners],
    leader: m.leader ?? null,
  };
}

/** The membership operations of a broker that has them (test doubles may not). */
function ops<K extends keyof Broker>(broker: Broker, method: K): NonNullable<Broker[K]> {
  const fn = broker[method];
  if (typeof fn !== "function")
    throw new WarrenError("NOT_IMPLEMENTED", "membership changes are not available");
  return (fn as (...args: unknown[]) => unknown).bind(broker) as NonNullable<Broker[K]>;
}

export function memberRoutes(app: FastifyInstance, { broker }: RouteDeps): void {
  app.get(
    "/api/queues/:vhost/:name/members",
    {
      config: { access: "management" },
      schema: {
        tags: ["membership"],
        summary: "A quorum queue's members: recorded, and as its Raft group has them (Warren extension)",
        params: vhostNameParams,
        response: { 200: membersSchema, ...authErrors },
      },
    },
    async (req) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      vhostContext(broker, req, vhost);
      return formatMembers(await ops(broker, "queueMembers")(vhost, name));
    },
  );

  app.post(
    "/api/queues/:vhost/:name/members",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["membership"],
        summary:
          "Add a member to a quorum queue (rabbitmq-queues add_member): it joins as a learner, catches up, then votes (Warren extension)",
        params: vhostNameParams,
        body: {
          type: "object",
          properties: { node: nodeName, timeout_ms: timeoutMs },
          required: ["node"],
        },
        response: { 200: membersSchema, ...authErrors },
      },
    },
    async (req) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      const body = req.body as { node: string; timeout_ms?: number };
      vhostContext(broker, req, vhost);
      const m = await ops(broker, "addQueueMember")(req.user?.name ?? "", vhost, name, body.node, {
        ...(body.timeout_ms !== undefined ? { timeoutMs: body.timeout_ms } : {}),
      });
      return formatMembers(m);
    },
  );

  app.delete(
    "/api/queues/:vhost/:name/members/:node",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["membership"],
        summary:
          "Remove a member from a quorum queue (rabbitmq-queues delete_member); a leader on that node hands over first (Warren extension)",
        params: vhostNameNodeParams,
        querystring: { type: "object", properties: { timeout_ms: timeoutMs } },
        response: { 200: membersSchema, ...authErrors },
      },
    },
    async (req) => {
      const { vhost, name, node } = req.params as { vhost: string; name: string; node: string };
      const query = req.query as { timeout_ms?: number };
      vhostContext(broker, req, vhost);
      const m = await ops(broker, "deleteQueueMember")(req.user?.name ?? "", vhost, name, node, {
        ...(query.timeout_ms !== undefined ? { timeoutMs: query.timeout_ms } : {}),
      });
      return formatMembers(m);
    },
  );

  app.post(
    "/api/nodes/:node/grow",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["membership"],
        summary:
          "Add the node to every quorum queue (`all`) or to those with an even number of members (rabbitmq-queues grow; Warren extension)",
        params: nodeParams,
        body: {
          type: "object",
          properties: {
            strategy: { type: "string", enum: ["all", "even"] },
            vhost_pattern: { type: "string", description: "Regular expression over vhost names" },
            queue_pattern: { type: "string", description: "Regular expression over queue names" },
            timeout_ms: timeoutMs,
          },
          required: ["strategy"],
        },
        response: { 200: outcomesSchema, ...authErrors },
      },
    },
    async (req) => {
      const { node } = req.params as { node: string };
      const b = req.body as {
        strategy: "all" | "even";
        vhost_pattern?: string;
        queue_pattern?: string;
        timeout_ms?: number;
      };
      return ops(broker, "growQueues")(req.user?.name ?? "", node, {
        strategy: b.strategy,
        ...(b.vhost_pattern !== undefined ? { vhostPattern: b.vhost_pattern } : {}),
        ...(b.queue_pattern !== undefined ? { queuePattern: b.queue_pattern } : {}),
        ...(b.timeout_ms !== undefined ? { timeoutMs: b.timeout_ms } : {}),
      });
    },
  );

  app.post(
    "/api/nodes/:node/shrink",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["membership"],
        summary:
          "Remove the node from every quorum queue it is a member of, never the last member (rabbitmq-queues shrink; Warren extension)",
        params: nodeParams,
        body: { type: "object", properties: { timeout_ms: timeoutMs } },
        response: { 200: outcomesSchema, ...authErrors },
      },
    },
    async (req) => {
      const { node } = req.params as { node: string };
      const b = req.body as { timeout_ms?: number };
      return ops(broker, "shrinkQueues")(req.user?.name ?? "", node, {
        ...(b.timeout_ms !== undefined ? { timeoutMs: b.timeout_ms } : {}),
      });
    },
  );

  app.delete(
    "/api/nodes/:node",
    {
      config: { access: "administrator" },
      schema: {
        tags: ["membership"],
        summary:
          "Remove a node from the cluster (rabbitmqctl forget_cluster_node): it leaves every group, its replicas move to other nodes (Warren extension)",
        params: nodeParams,
        response: {
          200: {
            type: "object",
            properties: { queues: { type: "integer", description: "Quorum queues it was a member of" } },
            required: ["queues"],
          },
          ...authErrors,
        },
      },
    },
    async (req) => {
      const { node } = req.params as { node: string };
      return ops(broker, "forgetNode")(req.user?.name ?? "", node);
    },
  );
}
