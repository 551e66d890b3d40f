/**
 * Toxic definitions as the API sees them: types, their attributes with Toxiproxy's JSON names,
 * defaults (a missing attribute is 0, as Go's zero value) and validation.
 */
import { ApiErrors } from "./errors.js";

export const TOXIC_ATTRIBUTES = {
  latency: ["latency", "jitter"],
  bandwidth: ["rate"],
  timeout: ["timeout"],
  reset_peer: ["timeout"],
  slow_close: ["delay"],
  limit_data: ["bytes"],
  slicer: ["average_size", "size_variation", "delay"],
} as const;

export type ToxicType = keyof typeof TOXIC_ATTRIBUTES;
export type Stream = "upstream" | "downstream";
export type Attributes = Readonly<Record<string, number>>;

/** One toxic of a proxy, exactly what GET /proxies/{p}/toxics/{t} returns. */
export interface ToxicConfig {
  readonly name: string;
  readonly type: ToxicType;
  readonly stream: Stream;
  readonly toxicity: number;
  readonly attributes: Attributes;
}

function isToxicType(t: unknown): t is ToxicType {
  return typeof t === "string" && Object.hasOwn(TOXIC_ATTRIBUTES, t);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Decodes attributes for `type`: known keys must be integers (Go decodes them into int64, so a
 * string or a fraction is a bad request body); unknown keys are ignored, as encoding/json does.
 */
export function parseAttributes(type: ToxicType, raw: unknown, base?: Attributes): Attributes {
  if (raw !== undefined && raw !== null && !isObject(raw)) {
    throw ApiErrors.badRequestBody.withDetail("attributes must be an object");
  }
  const out: Record<string, number> = {};
  for (const key of TOXIC_ATTRIBUTES[type]) {
    const v = raw?.[key];
    if (v === undefined || v === null) {
      out[key] = base?.[key] ?? 0;
      continue;
    }
    if (typeof v !== "number" || !Number.isInteger(v)) {
      throw ApiErrors.badRequestBody.withDetail(`attribute ${key} must be an integer`);
    }
    out[key] = v;
  }
  if (type === "slicer") {
    // Toxiproxy's slicer draws rand.Intn(2*size_variation), which panics unless it is positive
    // whenever a split happens; we refuse the values that could make that happen instead.
    const avg = out.average_size ?? 0;
    const variation = out.size_variation ?? 0;
    if (avg <= 0 || variation < 0 || variation >= avg) {
      throw ApiErrors.badRequestBody.withDetail("slicer needs average_size > size_variation >= 0");
    }
  }
  return out;
}

function parseToxicity(v: unknown, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw ApiErrors.badRequestBody.withDetail("toxicity must be a number");
  }
  return v;
}

/** POST /proxies/{p}/toxics: defaults are stream downstream, toxicity 1, name `${type}_${stream}`. */
export function parseNewToxic(body: unknown): ToxicConfig {
  if (!isObject(body)) throw ApiErrors.badRequestBody.withDetail("expected a JSON object");
  const stream = body.stream ?? "downstream";
  if (stream !== "upstream" && stream !== "downstream") throw ApiErrors.invalidStream;
  if (!isToxicType(body.type)) throw ApiErrors.invalidToxicType;
  const type = body.type;
  const name = typeof body.name === "string" && body.name !== "" ? body.name : `${type}_${stream}`;
  return {
    name,
    type,
    stream,
    toxicity: parseToxicity(body.toxicity, 1),
    attributes: parseAttributes(type, body.attributes),
  };
}

/** POST /proxies/{p}/toxics/{t}: only `attributes` (merged) and `toxicity` change. */
export function parseToxicUpdate(current: ToxicConfig, body: unknown): ToxicConfig {
  if (!isObject(body)) throw ApiErrors.badRequestBody.withDetail("expected a JSON object");
  return {
    ...current,
    toxicity: parseToxicity(body.toxicity, current.toxicity),
    attributes: parseAttributes(current.type, body.attributes, current.attributes),
  };
}
