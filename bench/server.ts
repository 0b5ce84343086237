import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { freePort } from "../src/storage/embedded-postgres.js";
import { execute, machineBusySeconds, processTreeUsage, type Usage } from "./tools.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
/** The service as `npm run build` compiles it (main.js), and the bare echo server (bare-echo.js). */
const buildDir = path.join(repoRoot, "bench", "work", "dist");
export const serviceBundle = path.join(buildDir, "main.js");

/** One way of running the service, e.g. the native gRPC server with one worker. */
export interface ServerConfig {
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface RunningService {
  readonly port: number;
  /** Errors the service logged since it started listening. */
  loggedErrors(): number;
  /** CPU seconds and resident memory of the service and its workers, now. */
  usage(): Usage;
  stop(): Promise<void>;
}

let built: Promise<void> | undefined;

/** Compiles, once per process, the service (`node scripts/build.js`, as `npm run build`) and the bare echo server. */
export function buildServers(): Promise<void> {
  built ??= (async () => {
    const { code, stderr } = await execute(process.execPath, [path.join(repoRoot, "scripts", "build.js"), buildDir]);
    if (code !== 0) throw new Error(`building the service failed:\n${stderr}`);
    await build({
      entryPoints: [path.join(repoRoot, "bench", "bare-echo.ts")],
      outdir: buildDir,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      logLevel: "warning",
    });
  })();
  return built;
}

/** Starts the production build, `node dist/main.js`, on a free port and waits until it listens. */
export async function startService(
  config: ServerConfig,
  databaseUrl: string,
  clockTicks: number,
  nodeArgs: readonly string[] = [],
): Promise<RunningService> {
  await buildServers();
  const env = { ...config.env, DATABASE_URL: databaseUrl };
  return startNode(config.name, [...nodeArgs, serviceBundle], env, '"cart service listening"', clockTicks);
}

/** Starts the bare @grpc/grpc-js echo server (bench/bare-echo.ts) on a free port. */
export async function startBareEcho(name: string, clockTicks: number): Promise<RunningService> {
  await buildServers();
  return startNode(name, [path.join(buildDir, "bare-echo.js")], {}, "listening", clockTicks);
}

/** Runs node with `args` on a free port (HOST and PORT) until it prints a line containing `readyLine`. */
async function startNode(
  name: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  readyLine: string,
  clockTicks: number,
): Promise<RunningService> {
  const port = await freePort();
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env, HOST: "127.0.0.1", PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let errors = 0;
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  await new Promise<void>((resolve, reject) => {
    // Keep draining stdout: a full pipe would block the service.
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.includes('"level":"error"')) errors++;
      if (line.includes(readyLine)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`${name}: exited with ${code} before listening:\n${stderr}`)));
  });
  return {
    port,
    loggedErrors: () => errors,
    usage: () => processTreeUsage(child.pid!, clockTicks),
    stop: () => stopProcess(child),
  };
}

/**
 * Watches one measurement: CPU of the service and of PostgreSQL (each when
 * known) and of the whole machine, load generator included; and the
 * service's peak resident memory.
 */
export class UsageMeter {
  private readonly started = performance.now();
  private readonly atStart: { service: Usage; database: number; machine: number };
  private peakRss: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly watched: { service?: RunningService; databasePid: number | undefined },
    private readonly clockTicks: number,
  ) {
    this.atStart = { service: this.serviceUsage(), database: this.databaseCpu(), machine: machineBusySeconds(clockTicks) };
    this.peakRss = this.atStart.service.rssBytes;
    this.timer = setInterval(() => (this.peakRss = Math.max(this.peakRss, this.serviceUsage().rssBytes)), 250);
  }

  private serviceUsage(): Usage {
    return this.watched.service?.usage() ?? { cpuSeconds: 0, rssBytes: 0 };
  }

  private databaseCpu(): number {
    const pid = this.watched.databasePid;
    return pid === undefined ? 0 : processTreeUsage(pid, this.clockTicks).cpuSeconds;
  }

  /** Average cores busy (1.0 = one core), undefined for what is not watched, and the service's peak RSS. */
  stop() {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.started) / 1000;
    const service = this.serviceUsage();
    const watchesService = this.watched.service !== undefined;
    return {
      cpuCores: watchesService ? (service.cpuSeconds - this.atStart.service.cpuSeconds) / seconds : undefined,
      dbCpuCores: this.watched.databasePid === undefined ? undefined : (this.databaseCpu() - this.atStart.database) / seconds,
      machineCpuCores: (machineBusySeconds(this.clockTicks) - this.atStart.machine) / seconds,
      rssPeakBytes: watchesService ? Math.max(this.peakRss, service.rssBytes) : undefined,
    };
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A key of our own that the service trusts, and an all-scopes token signed with it (RS256, as most identity providers issue). */
export async function benchIdentity(workDir: string): Promise<{ env: Record<string, string>; authorization: string }> {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwksFile = path.join(workDir, "jwks.json");
  await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "bench", alg: "RS256" }] }));
  const issuer = "https://bench.invalid";
  const audience = "cart-service";
  const token = await new SignJWT({ scope: "carts:read carts:write carts:checkout carts:admin catalog:write" })
    .setProtectedHeader({ alg: "RS256", kid: "bench" })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject("bench")
    .setIssuedAt()
    .setExpirationTime("1d")
    .sign(privateKey);
  return { env: { AUTH_JWKS: jwksFile, AUTH_ISSUER: issuer, AUTH_AUDIENCE: audience }, authorization: `Bearer ${token}` };
}
