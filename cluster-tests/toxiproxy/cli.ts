/**
 * Runs our Toxiproxy-compatible server: `tsx cluster-tests/toxiproxy/cli.ts --host 127.0.0.1 --port 8474`
 * (flags as toxiproxy-server's). Prints the API URL, stops on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { startToxiproxyServer } from "./server.js";

const { values } = parseArgs({
  options: { host: { type: "string", default: "127.0.0.1" }, port: { type: "string", default: "8474" } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${values.port}`);
  process.exit(2);
}
const server = await startToxiproxyServer({ host: values.host, port });
console.log(`toxiproxy API listening on ${server.url}`);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    void server.close().then(() => process.exit(0));
  });
}
