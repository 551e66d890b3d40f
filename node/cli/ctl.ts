#!/usr/bin/env node
/**
 * `warren` / `npm run ctl -- <command>`: look at and poke a running cluster through the HTTP API
 * of any reachable node (see ctl-args.ts for the commands). Exit codes: 0 done; 1 the API refused
 * (the error is printed); 2 bad usage; 3 no node reachable.
 */
import { ApiClient, ApiError, UnreachableError } from "./api-client.js";
import { CTL_USAGE, type CtlArgs, parseCtlArgs } from "./ctl-args.js";
import { runCommand, UsageError } from "./ctl-commands.js";

async function main(): Promise<number> {
  let args: CtlArgs;
  try {
    args = parseCtlArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`warren: ${(err as Error).message}\n\n${CTL_USAGE}`);
    return 2;
  }
  if (args.help || args.command === "help") {
    process.stdout.write(CTL_USAGE);
    return 0;
  }
  // Membership commands wait for the Raft groups (up to --timeout) before the node answers.
  const api = new ApiClient({
    urls: args.urls,
    user: args.user,
    password: args.password,
    timeoutMs: Math.max(10_000, args.timeoutMs + 10_000),
  });
  try {
    process.stdout.write(`${await runCommand(api, args)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`warren: ${err.message}\n\n${CTL_USAGE}`);
      return 2;
    }
    if (err instanceof UnreachableError) {
      process.stderr.write(`warren: ${err.message}\n`);
      return 3;
    }
    if (err instanceof ApiError) {
      const hint =
        err.status === 401 ? " (check --user/--password; guest may log in only from loopback)" : "";
      process.stderr.write(`warren: ${err.message}${hint}\n`);
      return 1;
    }
    throw err;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`warren: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
