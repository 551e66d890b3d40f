/**
 * What process tests do with a queue over a node's HTTP API: read its state, wait for its
 * leader, publish with a confirm, and consume-and-ack until every confirmed payload arrived.
 */
import type { HttpClient } from "./http.js";
import { seg } from "./http.js";
import { waitFor } from "./poll.js";

export interface QueueInfo {
  leader: string | null;
  members: string[];
  messages: number;
  consumers: number;
}

interface Message {
  payload: string;
  delivery_id?: string;
}

export async function queueInfo(via: HttpClient, vhost: string, name: string): Promise<QueueInfo> {
  const res = await via.get<QueueInfo>(`/api/queues/${seg(vhost)}/${seg(name)}`);
  if (res.status !== 200)
    throw new Error(`GET queue ${name} via ${via.baseUrl}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The queue's leader as `via` sees it, other than `not` (polls: right after a change there may be none). */
export function leaderOf(via: HttpClient, name: string, timeoutMs: number, not?: string): Promise<string> {
  return waitFor(
    async () => {
      const leader = (await queueInfo(via, "/", name)).leader;
      return leader !== null && leader !== not ? leader : undefined;
    },
    { timeoutMs, what: `a leader of ${name}${not ? ` other than ${not}` : ""}` },
  );
}

/** The leader every listed node names (polls until they agree). */
export function agreedLeaderOf(
  vias: readonly HttpClient[],
  name: string,
  timeoutMs: number,
): Promise<string> {
  return waitFor(
    async () => {
      const views = await Promise.all(vias.map(async (v) => (await queueInfo(v, "/", name)).leader));
      const first = views[0];
      return typeof first === "string" && views.every((v) => v === first) ? first : undefined;
    },
    { timeoutMs, what: `every node to agree on the leader of ${name}` },
  );
}

/** Publish one persistent message to `queue` on vhost `/`; true only when the broker confirmed it (routed after commit). */
export async function tryPublish(via: HttpClient, queue: string, payload: string): Promise<boolean> {
  try {
    const res = await via.post<{ routed?: boolean }>(`/api/exchanges/${seg("/")}/amq.default/publish`, {
      routing_key: queue,
      payload,
      payload_encoding: "string",
      properties: { delivery_mode: 2 },
    });
    return res.status === 200 && res.body.routed === true;
  } catch {
    return false; // refused, reset, timed out: the node went away under us; not confirmed.
  }
}

/**
 * Consume and ack `queue` (vhost `/`) through `via` until every payload of `expected` arrived;
 * returns every payload seen. Fails naming what is missing.
 */
export async function drainQueue(
  via: HttpClient,
  queue: string,
  expected: ReadonlySet<string>,
  timeoutMs = 30_000,
): Promise<Set<string>> {
  const seen = new Set<string>();
  const path = `/api/queues/${seg("/")}/${seg(queue)}`;
  await waitFor(
    async () => {
      const res = await via.post<Message[]>(`${path}/consume`, { max: 500, wait_ms: 1000 });
      if (res.status !== 200) throw new Error(`consume: ${res.status} ${JSON.stringify(res.body)}`);
      const ids = res.body.map((m) => m.delivery_id);
      if (ids.length > 0) {
        const ack = await via.post(`${path}/ack`, { delivery_ids: ids });
        if (ack.status !== 200) throw new Error(`ack: ${ack.status}`);
      }
      for (const m of res.body) seen.add(m.payload);
      return [...expected].every((p) => seen.has(p));
    },
    { timeoutMs, what: `every confirmed message of ${queue} via ${via.baseUrl}` },
  ).catch((err: Error) => {
    const missing = [...expected].filter((p) => !seen.has(p));
    throw new Error(`${err.message}; ${missing.length} missing, e.g. ${missing.slice(0, 5).join(", ")}`);
  });
  return seen;
}
