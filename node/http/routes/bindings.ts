/**
 * `/api/bindings`: list per vhost, create (POST, answers 201 with `Location: <properties_key>`),
 * read and delete by `properties_key`, for exchange->queue (`/e/{source}/q/{queue}`) and
 * exchange->exchange (`/e/{source}/e/{destination}`) bindings.
 *
 * RabbitMQ's rule for (un)binding: write on the destination, read on the source.
 * Lists include the default exchange's implicit bindings (source "", one per queue), as RabbitMQ's.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Broker, ClientContext } from "../../broker/types.js";
import type { BindingRecord, DestinationKind } from "../../meta/index.js";
import { vhostContext, visibleVhosts } from "../auth.js";
import { notFound } from "../errors.js";
import { exchangeFromPath, formatBinding, propertiesKey } from "../format.js";
import {
  argumentsSchema,
  authErrors,
  bindingSchema,
  emptyResponse,
  vhostNameParams,
  vhostParams,
} from "../schemas.js";
import type { RouteDeps } from "./deps.js";

const KINDS = [
  { letter: "q", kind: "queue" },
  { letter: "e", kind: "exchange" },
] as const satisfies readonly { letter: string; kind: DestinationKind }[];

const pairParams = {
  type: "object",
  properties: {
    vhost: { type: "string", minLength: 1 },
    source: { type: "string", minLength: 1 },
    destination: { type: "string", minLength: 1 },
  },
  required: ["vhost", "source", "destination"],
} as const;

const propsParams = {
  type: "object",
  properties: { ...pairParams.properties, props: { type: "string", minLength: 1 } },
  required: [...pairParams.required, "props"],
} as const;

interface PairParams {
  vhost: string;
  source: string;
  destination: string;
  props?: string;
}

const listResponse = { 200: { type: "array", items: bindingSchema }, ...authErrors } as const;

/** The vhost context (404 for an unknown vhost) and the params with `amq.default` resolved. */
function pairContext(broker: Broker, req: FastifyRequest): { ctx: ClientContext; p: PairParams } {
  const p = req.params as PairParams;
  const ctx = vhostContext(broker, req, p.vhost);
  return { ctx, p: { ...p, source: exchangeFromPath(p.source) } };
}

function findByProps(broker: Broker, p: PairParams, kind: DestinationKind): BindingRecord {
  const found = broker
    .listBindings({ vhost: p.vhost, source: p.source, destinationKind: kind, destination: p.destination })
    .find(
      (b) =>
        propertiesKey(b.routingKey, b.arguments) === p.props ||
        decodeSafe(propertiesKey(b.routingKey, b.arguments)) === p.props,
    );
  if (!found) throw notFound();
  return found;
}

/** fastify decodes path params once; the stored key is quoted, so compare both forms. */
function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function bindingRoutes(app: FastifyInstance, { broker }: RouteDeps): void {
  app.get(
    "/api/bindings",
    {
      config: { access: "management" },
      schema: { tags: ["bindings"], summary: "All bindings", response: listResponse },
    },
    async (req) => {
      return [...visibleVhosts(broker, req)].flatMap((vhost) =>
        broker.listBindings({ vhost }).map(formatBinding),
      );
    },
  );

  app.get(
    "/api/bindings/:vhost",
    {
      config: { access: "management" },
      schema: {
        tags: ["bindings"],
        summary: "Bindings of a vhost",
        params: vhostParams,
        response: listResponse,
      },
    },
    async (req) => {
      const { vhost } = req.params as { vhost: string };
      vhostContext(broker, req, vhost);
      return broker.listBindings({ vhost }).map(formatBinding);
    },
  );

  app.get(
    "/api/queues/:vhost/:name/bindings",
    {
      config: { access: "management" },
      schema: {
        tags: ["bindings"],
        summary: "Bindings whose destination is this queue",
        params: vhostNameParams,
        response: listResponse,
      },
    },
    async (req) => {
      const { vhost, name } = req.params as { vhost: string; name: string };
      vhostContext(broker, req, vhost);
      return broker.listBindings({ vhost, destinationKind: "queue", destination: name }).map(formatBinding);
    },
  );

  for (const side of ["source", "destination"] as const) {
    app.get(
      `/api/exchanges/:vhost/:name/bindings/${side}`,
      {
        config: { access: "management" },
        schema: {
          tags: ["bindings"],
          summary: `Bindings in which this exchange is the ${side}`,
          params: vhostNameParams,
          response: listResponse,
        },
      },
      async (req) => {
        const { vhost, name } = req.params as { vhost: string; name: string };
        vhostContext(broker, req, vhost);
        const exchange = exchangeFromPath(name);
        if (!broker.getExchange(vhost, exchange)) throw notFound();
        const filter =
          side === "source"
            ? { vhost, source: exchange }
            : { vhost, destinationKind: "exchange" as const, destination: exchange };
        return broker.listBindings(filter).map(formatBinding);
      },
    );
  }

  for (const { letter, kind } of KINDS) {
    const base = `/api/bindings/:vhost/e/:source/${letter}/:destination`;
    const what = kind === "queue" ? "exchange->queue" : "exchange->exchange";

    app.get(
      base,
      {
        config: { access: "management" },
        schema: {
          tags: ["bindings"],
          summary: `The ${what} bindings between two objects`,
          params: pairParams,
          response: listResponse,
        },
      },
      async (req) => {
        const { p } = pairContext(broker, req);
        return broker
          .listBindings({
            vhost: p.vhost,
            source: p.source,
            destinationKind: kind,
            destination: p.destination,
          })
          .map(formatBinding);
      },
    );

    app.post(
      base,
      {
        config: { access: "management" },
        schema: {
          tags: ["bindings"],
          summary: `Create a ${what} binding; 201 with Location: the binding's properties_key`,
          params: pairParams,
          body: {
            type: "object",
            properties: { routing_key: { type: "string", default: "" }, arguments: argumentsSchema },
          },
          response: { 201: emptyResponse, ...authErrors },
        },
      },
      async (req, reply) => {
        const { ctx, p } = pairContext(broker, req);
        const body = (req.body ?? {}) as { routing_key?: string; arguments?: Record<string, unknown> };
        broker.authorize(ctx, "write", { kind, name: p.destination });
        broker.authorize(ctx, "read", { kind: "exchange", name: p.source });
        const routingKey = body.routing_key ?? "";
        const args = body.arguments ?? {};
        await broker.bind(ctx, {
          source: p.source,
          destinationKind: kind,
          destination: p.destination,
          routingKey,
          arguments: args,
        });
        return reply.code(201).header("location", propertiesKey(routingKey, args)).send();
      },
    );

    app.get(
      `${base}/:props`,
      {
        config: { access: "management" },
        schema: {
          tags: ["bindings"],
          summary: `One ${what} binding by properties_key`,
          params: propsParams,
          response: { 200: bindingSchema, ...authErrors },
        },
      },
      async (req) => {
        const { p } = pairContext(broker, req);
        return formatBinding(findByProps(broker, p, kind));
      },
    );

    app.delete(
      `${base}/:props`,
      {
        config: { access: "management" },
        schema: {
          tags: ["bindings"],
          summary: `Delete a ${what} binding by properties_key`,
          params: propsParams,
          response: { 204: emptyResponse, ...authErrors },
        },
      },
      async (req, reply) => {
        const { ctx, p } = pairContext(broker, req);
        const b = findByProps(broker, p, kind);
        broker.authorize(ctx, "write", { kind, name: p.destination });
        broker.authorize(ctx, "read", { kind: "exchange", name: p.source });
        await broker.unbind(ctx, {
          source: b.source,
          destinationKind: kind,
          destination: b.destination,
          routingKey: b.routingKey,
          arguments: b.arguments,
        });
        return reply.code(204).send();
      },
    );
  }
}
