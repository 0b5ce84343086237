import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { freePort } from "../src/storage/embedded-postgres.js";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));

/** One way of running the service, e.g. the native gRPC server with one worker. */
export interface ServerConfig {
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
}

export interface RunningService {
  readonly port: number;
  /** Lines the service logged since it started listening (successful requests log nothing). */
  logLines(): number;
  /** CPU seconds and resident memory of the service and its workers, now. */
  usage(): Usage;
  stop(): Promise<void>;
}

export interface Usage {
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

/** Starts `node --import tsx src/main.ts` on a free port and waits until it listens. */
export async function startService(
  config: ServerConfig,
  databaseUrl: string,
  clockTicks: number,
  nodeArgs: readonly string[] = [],
): Promise<RunningService> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", "src/main.ts"], {
    cwd: repoRoot,
    env: { ...process.env, ...config.env, HOST: "127.0.0.1", PORT: String(port), DATABASE_URL: databaseUrl },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let lines = 0;
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    // Keep draining stdout: a full pipe would block the service.
    createInterface({ input: child.stdout! }).on("line", (line) => {
      lines++;
      if (line.includes('"cart service listening"')) {
        lines = 0;
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`${config.name}: service exited with ${code} before listening:\n${stderr}`)));
  });
  return {
    port,
    logLines: () => lines,
    usage: () => processTreeUsage(child.pid!, clockTicks),
    stop: () => stopProcess(child),
  };
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return ""; // the process exited meanwhile
  }
}

/** The process and all its descendants (cluster workers), from /proc. */
function processTree(pid: number): number[] {
  const children = readProc(pid, `task/${pid}/children`).trim().split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...children.flatMap(processTree)];
}

function processTreeUsage(pid: number, clockTicks: number): Usage {
  let ticks = 0;
  let rssKb = 0;
  for (const member of processTree(pid)) {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const stat = readProc(member, "stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
    rssKb += Number(/VmRSS:\s+(\d+)/.exec(readProc(member, "status"))?.[1] ?? 0);
  }
  return { cpuSeconds: ticks / clockTicks, rssBytes: rssKb * 1024 };
}

/** Watches a service during one measurement: CPU used and the peak resident memory. */
export class UsageMeter {
  private readonly started = performance.now();
  private readonly cpuAtStart: number;
  private peakRss: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly service: RunningService) {
    const usage = service.usage();
    this.cpuAtStart = usage.cpuSeconds;
    this.peakRss = usage.rssBytes;
    this.timer = setInterval(() => (this.peakRss = Math.max(this.peakRss, service.usage().rssBytes)), 250);
  }

  /** Cores busy on average (1.0 = one core) and the peak RSS. */
  stop(): { cpuCores: number; rssPeakBytes: number } {
    clearInterval(this.timer);
    const usage = this.service.usage();
    const seconds = (performance.now() - this.started) / 1000;
    return {
      cpuCores: (usage.cpuSeconds - this.cpuAtStart) / seconds,
      rssPeakBytes: Math.max(this.peakRss, usage.rssBytes),
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
