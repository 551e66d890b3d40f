/**
 * Free TCP ports on loopback for child processes. They are picked at random BELOW the kernel's
 * ephemeral range (ip_local_port_range) and checked free by binding them: a port the kernel
 * hands out for `listen(0)` is in the ephemeral range, and between the check and the child's
 * bind (seconds: tsx starts slowly on a loaded machine), or while a node is down between a kill
 * and its restart, any outgoing connection on the machine could take it as its source port and
 * the node would then fail to bind. Ports below that range are only ever taken by an explicit
 * bind. A port is never handed out twice by one test process.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

const handedOut = new Set<number>();

/** Lowest port we hand out: below the common registered services' ports that tests might meet. */
const LOWEST = 10_000;

/** The first port of the kernel's ephemeral range (Linux; 32768 elsewhere, its usual value). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST + 1000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}
const HIGHEST = ephemeralLow() - 1;

/** `n` distinct free ports on `host`. */
export async function freePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  const out: number[] = [];
  for (let attempt = 0; out.length < n; attempt++) {
    if (attempt > 10_000) throw new Error(`no ${n} free ports on ${host} in ${LOWEST}-${HIGHEST}`);
    const p = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if (handedOut.has(p) || !(await isPortFree(p, host))) continue;
    handedOut.add(p);
    out.push(p);
  }
  return out;
}

/** Whether something already listens on host:port (used to check a port really was freed). */
export function isPortFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
