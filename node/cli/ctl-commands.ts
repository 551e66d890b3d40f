/**
 * The `warren` commands other than status: quick checks through the management API of any
 * reachable node. Each returns the text to print.
 */
import type { ApiClient } from "./api-client.js";
import { gatherStatus, renderStatus } from "./cluster-status.js";
import type { CtlArgs } from "./ctl-args.js";
import { MemberUsageError, runMemberCommand } from "./ctl-members.js";
import { renderTable } from "./table.js";

const seg = encodeURIComponent;

interface QueueRow {
  name: string;
  vhost: string;
  leader: string | null;
  members: string[];
  state: string;
  messages_ready: number;
  messages_unacknowledged: number;
  consumers: number;
}

interface GotMessage {
  payload: string;
  payload_encoding: string;
  redelivered: boolean;
  exchange: string;
  routing_key: string;
  message_count: number;
  properties: Record<string, unknown>;
}

export class UsageError extends Error {}

function need(args: CtlArgs, n: number, what: string): string[] {
  if (args.positionals.length < n) throw new UsageError(`${args.command}: missing ${what}`);
  return args.positionals.slice(0, n) as string[];
}

export async function runCommand(api: ApiClient, args: CtlArgs): Promise<string> {
  const json = (v: unknown) => JSON.stringify(v, null, 2);
  switch (args.command) {
    case "status": {
      const s = await gatherStatus(api);
      return args.json ? json(s) : renderStatus(s);
    }
    case "queues": {
      const vhost = args.positionals[0];
      const rows = await api.request<QueueRow[]>(
        "GET",
        vhost === undefined ? "/api/queues" : `/api/queues/${seg(vhost)}`,
      );
      if (args.json) return json(rows);
      if (rows.length === 0) return "(no queues)";
      return renderTable(
        ["VHOST", "QUEUE", "LEADER", "MEMBERS", "STATE", "READY", "UNACKED", "CONSUMERS"],
        rows.map((q) => [
          q.vhost,
          q.name,
          q.leader ?? "(none)",
          q.members.join(","),
          q.state,
          String(q.messages_ready),
          String(q.messages_unacknowledged),
          String(q.consumers),
        ]),
      );
    }
    case "declare": {
      const [queue] = need(args, 1, "<queue>");
      await api.request("PUT", `/api/queues/${seg(args.vhost)}/${seg(queue as string)}`, { durable: true });
      return `queue ${queue} declared in vhost ${args.vhost}`;
    }
    case "publish": {
      const [key, payload] = need(args, 2, "<routing-key> <payload>");
      const exchange = args.exchange === "" ? "amq.default" : args.exchange;
      const res = await api.request<{ routed: boolean; rejected?: boolean }>(
        "POST",
        `/api/exchanges/${seg(args.vhost)}/${seg(exchange)}/publish`,
        { routing_key: key, payload, payload_encoding: "string", properties: { delivery_mode: 2 } },
      );
      if (args.json) return json(res);
      if (res.rejected) return "rejected by a target queue (x-overflow reject-publish)";
      return res.routed
        ? "routed (confirmed: committed by every target queue)"
        : "not routed: no queue matched";
    }
    case "get": {
      const [queue] = need(args, 1, "<queue>");
      const msgs = await api.request<GotMessage[]>(
        "POST",
        `/api/queues/${seg(args.vhost)}/${seg(queue as string)}/get`,
        {
          count: args.count,
          ackmode: args.take ? "ack_requeue_false" : "ack_requeue_true",
          encoding: "auto",
        },
      );
      if (args.json) return json(msgs);
      if (msgs.length === 0) return `(queue ${queue} is empty)`;
      return msgs
        .map(
          (m, i) =>
            `#${i + 1} exchange=${JSON.stringify(m.exchange)} routing_key=${JSON.stringify(m.routing_key)} redelivered=${m.redelivered} remaining=${m.message_count}\n` +
            `   ${m.payload_encoding === "base64" ? "(base64) " : ""}${m.payload}`,
        )
        .join("\n");
    }
    default: {
      let out: string | undefined;
      try {
        out = await runMemberCommand(api, args);
      } catch (err) {
        if (err instanceof MemberUsageError) throw new UsageError(err.message);
        throw err;
      }
      if (out !== undefined) return out;
      throw new UsageError(
        args.command === undefined ? "no command given" : `unknown command "${args.command}"`,
      );
    }
  }
}
