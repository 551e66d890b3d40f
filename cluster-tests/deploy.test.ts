/**
 * The deploy files, validated without a Docker engine (docs/deploy.md): the compose file parses
 * and follows the Compose rules we rely on, every file it references exists, the three nodes'
 * configurations agree with each other and with the Toxiproxy proxies between them, the
 * Dockerfile passes dockerfile-utils and our rules, and the exact command the image runs starts
 * a node outside Docker that answers /health and exits 0 on SIGTERM.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { validate } from "dockerfile-utils";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  COMPOSE_SERVICE_KEYS,
  COMPOSE_TOP_LEVEL,
  DEPENDS_ON_CONDITIONS,
  envPairs,
  execForm,
  hostPort,
  type Instruction,
  parseEnvFile,
  publishedPorts,
  RESTART_POLICIES,
  readInstructions,
  stages,
} from "../deploy/checks.js";
import type { NodeConfig } from "../node/config/index.js";
import { resolveConfig } from "../node/config/index.js";
import { REPO_ROOT } from "./harness/node-process.js";
import { waitFor } from "./harness/poll.js";
import { freePorts } from "./harness/ports.js";

const COMPOSE_FILE = "docker-compose.cluster.yml";
const SECRET_ENV_FILE = "deploy/cluster.env";
const repo = (p: string): string => join(REPO_ROOT, p.replace(/^\.\//, ""));
const read = (p: string): string => readFileSync(repo(p), "utf8");

type Service = Record<string, unknown> & {
  image?: string;
  build?: { context: string; dockerfile?: string };
  env_file?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
  profiles?: string[];
};
const compose = parse(read(COMPOSE_FILE), { merge: true }) as Record<string, unknown> & {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = Object.entries(compose.services);
const warrenNodes = services.filter(([, s]) => s.environment?.WARREN_CONFIG !== undefined);
/** The nodes a plain `up` starts (the cluster's first nodes); the others join it later. */
const founders = warrenNodes.filter(([, s]) => s.profiles === undefined);
const joiners = warrenNodes.filter(([, s]) => s.profiles !== undefined);
const dockerfile = readInstructions(read("deploy/Dockerfile"));
const runtime = stages(dockerfile).at(-1) ?? [];
const toxiproxyConfig = JSON.parse(read("deploy/toxiproxy.json")) as Array<{
  name: string;
  listen: string;
  upstream: string;
}>;

/** Environment files: the real secret file is gitignored, so CI reads its documented example. */
function envFileText(path: string): string {
  if (existsSync(repo(path))) return read(path);
  return read(`${path}.example`);
}

/** The file a container path is bind-mounted from, if any. */
function hostPathOf(service: Service, containerPath: string): string | undefined {
  for (const v of service.volumes ?? []) {
    const [src, dst] = v.split(":");
    if (dst === containerPath && src !== undefined && src.startsWith(".")) return src;
  }
  return undefined;
}

/** What a node's process sees in its container: image ENV, env files, the service environment. */
function containerEnv(service: Service): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of runtime) if (ins.keyword === "ENV") Object.assign(env, envPairs(ins.args));
  for (const f of service.env_file ?? []) Object.assign(env, parseEnvFile(envFileText(f)));
  Object.assign(env, service.environment ?? {});
  return env;
}

/** The node's configuration resolved by the node's own code, reading files through the mounts. */
function nodeConfig(service: Service): NodeConfig {
  return resolveConfig({
    argv: [],
    env: containerEnv(service),
    readFile: (p) => {
      const src = hostPathOf(service, p);
      if (src === undefined) throw new Error(`${p} is not mounted into the container`);
      return read(src);
    },
  }).config;
}

function proxyListeningOn(port: number) {
  return toxiproxyConfig.find((p) => hostPort(p.listen).port === port);
}

describe("docker-compose.cluster.yml", () => {
  it("uses only Compose keys we know and references services, volumes and files that exist", () => {
    for (const key of Object.keys(compose)) {
      expect(COMPOSE_TOP_LEVEL.has(key) || key.startsWith("x-"), `top-level key ${key}`).toBe(true);
    }
    const declaredVolumes = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, s] of services) {
      for (const key of Object.keys(s)) expect(COMPOSE_SERVICE_KEYS.has(key), `${name}.${key}`).toBe(true);
      expect(s.image ?? s.build, `${name} has an image or a build`).toBeDefined();
      if (s.image !== undefined) expect(s.image, `${name} pins its image`).toMatch(/:(?!latest$)[\w.-]+$/);
      if (s.build !== undefined) {
        expect(existsSync(repo(s.build.context)), `${name} build context`).toBe(true);
        expect(existsSync(join(repo(s.build.context), s.build.dockerfile ?? "Dockerfile"))).toBe(true);
      }
      if (s.restart !== undefined) expect(RESTART_POLICIES.has(s.restart)).toBe(true);
      for (const f of s.env_file ?? []) {
        if (f === SECRET_ENV_FILE) {
          // The secret file itself is never in the repo: its example is, and git ignores it.
          expect(existsSync(repo(`${f}.example`)), `${f}.example`).toBe(true);
          expect(read(".gitignore").split("\n")).toContain(f);
          expect(read(".dockerignore").split("\n")).toContain(f);
        } else {
          expect(existsSync(repo(f)), `${name} env_file ${f}`).toBe(true);
        }
      }
      for (const v of s.volumes ?? []) {
        const [src] = v.split(":");
        if (src?.startsWith(".")) expect(existsSync(repo(src)), `${name} mounts ${src}`).toBe(true);
        else expect(declaredVolumes.has(src ?? ""), `${name} uses declared volume ${src}`).toBe(true);
      }
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
        expect(DEPENDS_ON_CONDITIONS.has(condition)).toBe(true);
        if (condition === "service_healthy") expect(compose.services[dep]?.healthcheck).toBeDefined();
      }
      expect(s.healthcheck?.test[0], `${name} has an exec-form healthcheck`).toBe("CMD");
    }
  });

  it("publishes every host port once", () => {
    const seen = new Map<number, string>();
    for (const [name, s] of services) {
      for (const spec of s.ports ?? []) {
        for (const { host } of publishedPorts(spec)) {
          expect(seen.get(host), `host port ${host} of ${name}`).toBeUndefined();
          seen.set(host, name);
        }
      }
    }
    expect(seen.size).toBeGreaterThanOrEqual(3 * 2 + 1);
  });

  it("runs three nodes whose configurations agree, with every Raft link through its own Toxiproxy proxy", () => {
    expect(founders.map(([n]) => n)).toEqual(["n1", "n2", "n3"]);
    const configs = new Map(founders.map(([name, s]) => [name, nodeConfig(s)]));
    const secrets = new Set([...configs.values()].map((c) => c.clusterSecret));
    expect(secrets.size, "one cluster secret").toBe(1);
    for (const [name, s] of founders) {
      const c = configs.get(name)!;
      expect(c.join, `${name} is one of the first nodes`).toBe(false);
      for (const door of ["amqp", "http", "raft"] as const) {
        expect(c[door].advertise, `${name} advertises its service name for ${door}`).toEqual({ host: name });
      }
      expect(c.nodeId).toBe(name);
      expect(c.dataDir, "data in the image's volume").toBe("/var/lib/warren");
      expect(s.volumes?.some((v) => v.endsWith(":/var/lib/warren"))).toBe(true);
      const published = new Set((s.ports ?? []).flatMap(publishedPorts).map((p) => p.container));
      expect(
        published.has(c.amqp.port) && published.has(c.http.port),
        `${name} publishes AMQP and HTTP`,
      ).toBe(true);
      expect(c.peers.map((p) => p.id).sort()).toEqual([...configs.keys()].filter((n) => n !== name));
      for (const peer of c.peers) {
        const target = configs.get(peer.id)!;
        expect(peer.raft.host, `${name} reaches ${peer.id} through toxiproxy`).toBe("toxiproxy");
        const proxy = proxyListeningOn(peer.raft.port);
        expect(proxy?.name).toBe(`${name}_to_${peer.id}`);
        expect(proxy?.upstream).toBe(`${peer.id}:${target.raft.port}`);
        expect(peer.amqp).toEqual({ host: peer.id, port: target.amqp.port });
        expect(peer.http).toEqual({ host: peer.id, port: target.http.port });
      }
    }
    // Client links: a proxy per node and door, published by the toxiproxy service.
    const toxiPublished = new Set(
      (compose.services.toxiproxy?.ports ?? []).flatMap(publishedPorts).map((p) => p.host),
    );
    for (const [name] of founders) {
      const c = configs.get(name)!;
      for (const [door, port] of [
        ["amqp", c.amqp.port],
        ["http", c.http.port],
      ] as const) {
        const proxy = toxiproxyConfig.find((p) => p.name === `${name}_${door}`);
        expect(proxy?.upstream).toBe(`${name}:${port}`);
        expect(toxiPublished.has(hostPort(proxy!.listen).port)).toBe(true);
      }
    }
    expect(new Set(toxiproxyConfig.map((p) => hostPort(p.listen).port)).size).toBe(toxiproxyConfig.length);
  });

  it("offers a fourth node, started on demand, that joins bound to 0.0.0.0 and advertising its service name", () => {
    expect(joiners.map(([n, s]) => [n, s.profiles])).toEqual([["n4", ["join"]]]);
    const founderConfigs = new Map(founders.map(([name, s]) => [name, nodeConfig(s)]));
    for (const [name, s] of joiners) {
      const c = nodeConfig(s);
      expect(c.nodeId).toBe(name);
      expect(c.join).toBe(true);
      expect(c.clusterSecret).toBe([...founderConfigs.values()][0]!.clusterSecret);
      expect(c.dataDir).toBe("/var/lib/warren");
      expect(s.volumes?.some((v) => v.endsWith(":/var/lib/warren"))).toBe(true);
      // Its peers dial what it records: its service name on its Raft port, not the 0.0.0.0 it binds.
      expect(c.raft.host).toBe("0.0.0.0");
      expect(c.raft.advertise).toEqual({ host: name });
      expect(c.amqp.advertise).toEqual({ host: name });
      expect(c.http.advertise).toEqual({ host: name });
      const published = new Set((s.ports ?? []).flatMap(publishedPorts).map((p) => p.container));
      expect(published.has(c.amqp.port) && published.has(c.http.port)).toBe(true);
      // It reaches every first node directly (the Toxiproxy proxies are per pair of first nodes).
      expect(c.peers.map((p) => p.id)).toEqual([...founderConfigs.keys()]);
      for (const peer of c.peers) {
        const target = founderConfigs.get(peer.id)!;
        expect(peer.raft).toEqual({ host: peer.id, port: target.raft.port });
        expect(peer.amqp).toEqual({ host: peer.id, port: target.amqp.port });
        expect(peer.http).toEqual({ host: peer.id, port: target.http.port });
      }
    }
  });

  const composeCli = ["docker-compose"].find(
    (c) => spawnSync(c, ["version"], { stdio: "ignore" }).status === 0,
  );
  it(`passes \`docker-compose config -q\` when docker-compose is installed (${composeCli ?? "not installed"})`, () => {
    if (composeCli === undefined) return; // the checks above stand in for it
    // The secret file is gitignored: validate a copy of the project with the example in its place.
    const dir = mkdtempSync(join(tmpdir(), "warren-compose-"));
    try {
      copyFileSync(repo(COMPOSE_FILE), join(dir, COMPOSE_FILE));
      spawnSync("cp", ["-r", repo("deploy"), join(dir, "deploy")]);
      if (!existsSync(join(dir, SECRET_ENV_FILE)))
        copyFileSync(repo(`${SECRET_ENV_FILE}.example`), join(dir, SECRET_ENV_FILE));
      const r = spawnSync(composeCli, ["-f", join(dir, COMPOSE_FILE), "config", "-q"], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("deploy/Dockerfile", () => {
  const text = read("deploy/Dockerfile");
  const of = (keyword: string, stage: readonly Instruction[] = runtime) =>
    stage.filter((i) => i.keyword === keyword);

  it("passes dockerfile-utils validation", () => {
    expect(validate(text)).toEqual([]);
  });

  it("builds in a stage of its own and ships production dependencies and dist/ only", () => {
    const all = stages(dockerfile);
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const [from] of all) {
      const image = from!.args.split(/\s+/)[0]!;
      expect(image, "base images are pinned, never latest").toMatch(/^[\w./-]+:(?!latest$)[\w.-]+$/);
    }
    const build = all[0]!;
    expect(of("RUN", build).map((i) => i.args)).toEqual(expect.arrayContaining(["npm ci", "npm run build"]));
    expect(of("RUN").some((i) => i.args.startsWith("npm ci --omit=dev"))).toBe(true);
    expect(of("COPY").some((i) => /--from=\S+\s+\/app\/dist\s/.test(i.args))).toBe(true);
  });

  it("runs as a non-root user with a /health healthcheck, a data volume and the node's ports", () => {
    const user = of("USER").at(-1)?.args;
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user?.split(":")[0]);
    const health = of("HEALTHCHECK").at(-1)?.args ?? "";
    expect(health).toMatch(/\/health/);
    expect(of("VOLUME").flatMap((i) => execForm(i.args))).toContain("/var/lib/warren");
    const env = Object.assign({}, ...of("ENV").map((i) => envPairs(i.args))) as Record<string, string>;
    expect(env.WARREN_DATA_DIR).toBe("/var/lib/warren");
    const exposed = of("EXPOSE").flatMap((i) => i.args.split(/\s+/).map(Number));
    for (const [, s] of warrenNodes) {
      const c = nodeConfig(s);
      expect(exposed).toEqual(expect.arrayContaining([c.amqp.port, c.http.port, c.raft.port]));
    }
    expect(execForm(of("CMD").at(-1)?.args ?? "[]")).toEqual(["node", "dist/node/main.js"]);
    expect(of("ENTRYPOINT")).toEqual([]);
  });
});

describe("the image's command outside Docker", () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("starts n1 as compose configures it (adapted to loopback and a temp dir), answers /health, exits 0 on SIGTERM", async () => {
    // The image's /app: package.json, production node_modules (ours), and dist/ from `npm run build`.
    const app = mkdtempSync(join(tmpdir(), "warren-image-"));
    dirs.push(app);
    copyFileSync(repo("package.json"), join(app, "package.json"));
    symlinkSync(repo("node_modules"), join(app, "node_modules"), "dir");
    const tsc = spawnSync(
      process.execPath,
      [
        repo("node_modules/typescript/bin/tsc"),
        "-p",
        repo("tsconfig.build.json"),
        "--outDir",
        join(app, "dist"),
      ],
      { encoding: "utf8" },
    );
    const main = join(app, "dist/node/main.js");
    expect(existsSync(main), `the build emitted dist/node/main.js\n${tsc.stdout}`).toBe(true);

    const [, n1] = warrenNodes[0]!;
    const config = JSON.parse(read(hostPathOf(n1, n1.environment!.WARREN_CONFIG!)!)) as Record<
      string,
      unknown
    > & {
      peers: Record<string, Record<string, string>>;
    };
    const [amqp, http, raft, ...peerPorts] = await freePorts(3 + 3 * Object.keys(config.peers).length);
    const loop = (port: number | undefined) => ({ host: "127.0.0.1", port: port! });
    config.amqp = loop(amqp);
    config.http = loop(http);
    config.raft = loop(raft);
    for (const peer of Object.values(config.peers)) {
      // Nothing listens there: the node must come up and stop cleanly while its peers are away.
      for (const key of ["raft", "amqp", "http"]) peer[key] = `127.0.0.1:${peerPorts.shift()}`;
    }
    const configPath = join(app, "n1.json");
    writeFileSync(configPath, JSON.stringify(config));
    const env = { ...containerEnv(n1), WARREN_CONFIG: configPath, WARREN_DATA_DIR: join(app, "data") };

    const cmd = execForm(runtime.filter((i) => i.keyword === "CMD").at(-1)!.args);
    expect(cmd[0]).toBe("node");
    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("WARREN_")) base[k] = v;
    const child = spawn(process.execPath, cmd.slice(1), {
      cwd: app,
      env: { ...base, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c: Buffer) => {
      output = (output + c.toString()).slice(-20_000);
    });
    child.stderr.on("data", (c: Buffer) => {
      output = (output + c.toString()).slice(-20_000);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once("exit", (code, signal) => resolve({ code, signal })),
    );
    try {
      const health = await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`exited ${child.exitCode}: ${output}`);
          const r = await fetch(`http://127.0.0.1:${http}/health`);
          return r.ok ? ((await r.json()) as { status: string; node: string }) : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: "/health of the image command" },
      );
      expect(health).toEqual({ status: "ok", node: "n1" });
      child.kill("SIGTERM");
      const status = await Promise.race([
        exited,
        waitFor(() => false, { timeoutMs: 20_000, intervalMs: 200, what: "exit after SIGTERM" }),
      ]);
      expect(status, output).toEqual({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
