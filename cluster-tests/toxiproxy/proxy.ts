/**
 * One proxy: a listener, the connections it accepted (each a pair of links) and its toxics.
 * Toxics apply to new and existing connections; disabling closes the listener and every
 * connection, as Toxiproxy's Stop does.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { Link } from "./link.js";
import type { EndKind } from "./stages.js";
import type { ToxicConfig } from "./toxic-config.js";

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** "host:port" or "[v6]:port"; an empty host means all interfaces, as Go's net.Listen. */
export function parseHostPort(s: string): HostPort {
  const i = s.lastIndexOf(":");
  const port = Number(s.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`invalid address ${JSON.stringify(s)} (want host:port)`);
  }
  let host = s.slice(0, i);
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { host: host === "" ? "0.0.0.0" : host, port };
}

function formatHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

class Connection {
  private readonly up: Link;
  private readonly down: Link;
  private ended = 0;
  private closed = false;

  constructor(
    private readonly client: Socket,
    private readonly server: Socket,
    toxics: readonly ToxicConfig[],
    random: () => number,
    now: () => number,
    private readonly onClosed: (c: Connection) => void,
  ) {
    this.up = new Link({
      source: client,
      sink: server,
      random,
      now,
      onEnd: (h) => this.end(h, server, client),
    });
    this.down = new Link({
      source: server,
      sink: client,
      random,
      now,
      onEnd: (h) => this.end(h, client, server),
    });
    for (const t of toxics) this.link(t).add(t);
    const fail = (): void => this.destroy();
    client.on("error", fail).on("close", fail);
    server.on("error", fail).on("close", fail);
  }

  link(t: ToxicConfig): Link {
    return t.stream === "upstream" ? this.up : this.down;
  }

  private end(how: EndKind, sink: Socket, other: Socket): void {
    if (how === "reset") {
      // Toxiproxy sets SO_LINGER 0 on both sockets of the link before closing: both peers see an RST.
      sink.resetAndDestroy();
      other.resetAndDestroy();
      this.destroy();
      return;
    }
    sink.end();
    if (how === "close") {
      other.end();
      this.up.stop();
      this.down.stop();
    }
    if (how === "close" || ++this.ended === 2) {
      // Let what was written drain, then let go of both sockets.
      for (const s of [sink, other]) {
        if (s.writableFinished) s.destroy();
        else s.once("finish", () => s.destroy());
      }
    }
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.up.stop();
    this.down.stop();
    this.client.destroy();
    this.server.destroy();
    this.onClosed(this);
  }
}

export class ProxyRuntime {
  private server: Server | undefined;
  private readonly connections = new Set<Connection>();
  /** In creation order: the chain order of each direction. */
  readonly toxics: ToxicConfig[] = [];

  constructor(
    readonly name: string,
    public listen: string,
    public upstream: string,
    private readonly random: () => number,
    private readonly now: () => number,
  ) {}

  get enabled(): boolean {
    return this.server !== undefined;
  }

  /** Listens on `listen`; the reported address then carries the port actually bound. */
  async start(): Promise<void> {
    if (this.server !== undefined) return;
    const { host, port } = parseHostPort(this.listen);
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: false }, (c) => this.accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host, port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr !== null && typeof addr === "object") this.listen = formatHostPort(host, addr.port);
    this.server = server;
  }

  /** Stops listening and cuts every connection. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    for (const c of [...this.connections]) c.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.setNoDelay(true);
    let target: HostPort;
    try {
      target = parseHostPort(this.upstream);
    } catch {
      client.destroy();
      return;
    }
    const server = connect({ host: target.host, port: target.port, allowHalfOpen: true });
    server.setNoDelay(true);
    const conn = new Connection(client, server, this.toxics, this.random, this.now, (c) =>
      this.connections.delete(c),
    );
    this.connections.add(conn);
  }

  addToxic(t: ToxicConfig): void {
    this.toxics.push(t);
    for (const c of this.connections) c.link(t).add(t);
  }

  updateToxic(t: ToxicConfig): void {
    const i = this.toxics.findIndex((x) => x.name === t.name);
    if (i < 0) return;
    this.toxics[i] = t;
    for (const c of this.connections) c.link(t).update(t);
  }

  removeToxic(name: string): void {
    const i = this.toxics.findIndex((x) => x.name === name);
    const t = this.toxics[i];
    if (t === undefined) return;
    this.toxics.splice(i, 1);
    for (const c of this.connections) c.link(t).remove(name);
  }

  toJSON(): { name: string; listen: string; upstream: string; enabled: boolean; toxics: ToxicConfig[] } {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      toxics: [
        ...this.toxics.filter((t) => t.stream === "upstream"),
        ...this.toxics.filter((t) => t.stream !== "upstream"),
      ],
    };
  }
}
