/**
 * Free TCP ports on loopback. The kernel picks each (listen on port 0), we close the socket and
 * hand the number to a child process; a port is never handed out twice by one test process, so
 * two clusters started by the same worker cannot collide with each other.
 */
import { createServer } from "node:net";

const handedOut = new Set<number>();

function onePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen({ host, port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** `n` distinct free ports on `host`. */
export async function freePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const p = await onePort(host);
    if (p === 0 || handedOut.has(p)) continue;
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
