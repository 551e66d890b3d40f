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

Options:
  --url URL                    node to talk to (repeat, or comma-separate, for fallbacks;
                               default ${DEFAULT_URLS.join(",")})
  --user NAME, --password PW   credentials (default guest / guest)
  --vhost V                    vhost (default /)
  --exchange X                 publish: exchange (default: the default exchange)
  --count N, --take            get: how many; remove them instead of requeueing
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
    json: values.json ?? false,
    help: values.help ?? false,
  };
}
