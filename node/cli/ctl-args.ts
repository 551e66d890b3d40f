/**
 * Command line of `warren` (the ctl CLI): a command, its positionals, and the connection flags
 * shared by every command.
 */
import { parseArgs } from "node:util";

export const DEFAULT_URLS = [
  "http://127.0.0.1:15672",
  "http://127.0.0.1:15673",
  "http://127.0.0.1:15674",
] as const;

export const CTL_USAGE = `Usage: warren <command> [options]      (from a checkout: npm run ctl -- <command> [options])

Commands:
  status                       nodes up/down, which node leads which queue, term and
                               commit/applied index of every Raft group on every node
  queues [vhost]               queues with leader, members and message counts
  declare <queue>              declare a quorum queue (durable)
  publish <routing-key> <payload>
                               publish through an exchange (default: the default exchange,
                               so the routing key is the queue name); prints whether it was routed
  get <queue>                  show messages without consuming them (they are requeued);
                               --take removes them, --count N (default 1)

Membership (RabbitMQ's rabbitmq-queues / rabbitmqctl names; _ or - both work):
  members <queue>              a quorum queue's members, leader, voters and learners
  add-member <queue> <node>    add a replica on <node>: it catches up as a learner, then votes
  delete-member <queue> <node> remove the replica on <node> (a leader there hands over first)
  grow <node> all|even         add <node> to every quorum queue (all) or to those with an even
                               number of members; --vhost-pattern, --queue-pattern (regexps)
  shrink <node>                remove <node> from every quorum queue (never the last member)
  forget-node <node>           remove <node> from the cluster (forget_cluster_node); its replicas
                               move to other nodes. Stop the node first.

Options:
  --url URL                    node to talk to (repeat, or comma-separate, for fallbacks;
                               default ${DEFAULT_URLS.join(",")})
  --user NAME, --password PW   credentials (default guest / guest)
  --vhost V                    vhost (default /)
  --exchange X                 publish: exchange (default: the default exchange)
  --count N, --take            get: how many; remove them instead of requeueing
  --timeout MS                 membership: how long to wait for the groups (default 30000)
  --json                       raw JSON instead of tables
  -h, --help                   this text
`;

export interface CtlArgs {
  readonly command: string | undefined;
  readonly positionals: readonly string[];
  readonly urls: readonly string[];
  readonly user: string;
  readonly password: string;
  readonly vhost: string;
  readonly exchange: string;
  readonly count: number;
  readonly take: boolean;
  /** Membership commands: how long the node waits for the Raft groups to reach the change. */
  readonly timeoutMs: number;
  readonly vhostPattern?: string;
  readonly queuePattern?: string;
  readonly json: boolean;
  readonly help: boolean;
}

export function parseCtlArgs(argv: readonly string[]): CtlArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      url: { type: "string", multiple: true },
      user: { type: "string" },
      password: { type: "string" },
      vhost: { type: "string" },
      exchange: { type: "string" },
      count: { type: "string" },
      take: { type: "boolean" },
      timeout: { type: "string" },
      "vhost-pattern": { type: "string" },
      "queue-pattern": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const urls = (values.url ?? [])
    .flatMap((u) => u.split(","))
    .map((u) => u.trim().replace(/\/+$/, ""))
    .filter((u) => u !== "");
  for (const u of urls) {
    if (!/^https?:\/\//.test(u)) throw new Error(`--url expects http://host:port, got "${u}"`);
  }
  const count = values.count === undefined ? 1 : Number(values.count);
  if (!Number.isInteger(count) || count < 1 || count > 10_000)
    throw new Error(`--count expects 1-10000, got "${values.count}"`);
  const timeoutMs = values.timeout === undefined ? 30_000 : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 600_000)
    throw new Error(`--timeout expects 0-600000 (ms), got "${values.timeout}"`);
  return {
    command: positionals[0],
    positionals: positionals.slice(1),
    urls: urls.length > 0 ? urls : [...DEFAULT_URLS],
    user: values.user ?? "guest",
    password: values.password ?? "guest",
    vhost: values.vhost ?? "/",
    exchange: values.exchange ?? "",
    count,
    take: values.take ?? false,
    timeoutMs,
    ...(values["vhost-pattern"] !== undefined ? { vhostPattern: values["vhost-pattern"] } : {}),
    ...(values["queue-pattern"] !== undefined ? { queuePattern: values["queue-pattern"] } : {}),
    json: values.json ?? false,
    help: values.help ?? false,
  };
}
