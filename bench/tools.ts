import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

/** External programs the benchmark drives. */
export interface Tools {
  readonly h2load: string;
  readonly pgbench: string;
  /** Kernel clock ticks per second, the unit of CPU times in /proc/<pid>/stat. */
  readonly clockTicks: number;
}

export class MissingToolError extends Error {}

function works(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

/** pgbench from PATH, else the newest PostgreSQL server installation's. */
function findPgbench(): string | undefined {
  if (works("pgbench", ["--version"])) return "pgbench";
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((version) => `${root}/${version}/bin/pgbench`).find((path) => existsSync(path));
}

export function findTools(): Tools {
  if (!works("h2load", ["--version"])) {
    throw new MissingToolError("h2load is missing. Install it with: apt-get install -y nghttp2-client");
  }
  const pgbench = findPgbench();
  if (!pgbench) throw new MissingToolError("pgbench is missing. Install it with: apt-get install -y postgresql-client");
  const ticks = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim());
  return { h2load: "h2load", pgbench, clockTicks: ticks > 0 ? ticks : 100 };
}

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to completion, collecting its output. */
export function execute(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The value below which `fraction` of the sorted values lie (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

function readProc(path: string): string {
  try {
    return readFileSync(`/proc/${path}`, "utf8");
  } catch {
    return ""; // the process exited meanwhile
  }
}

/** The process and all its descendants, from /proc. */
function processTree(pid: number): number[] {
  const children = readProc(`${pid}/task/${pid}/children`).trim().split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...children.flatMap(processTree)];
}

export interface Usage {
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

/**
 * CPU time and resident memory of a process and its descendants (cluster
 * workers, PostgreSQL backends). Descendants that have exited count through
 * their parent's cutime and cstime once it has reaped them.
 */
export function processTreeUsage(pid: number, clockTicks: number): Usage {
  let ticks = 0;
  let rssKb = 0;
  for (const member of processTree(pid)) {
    // Fields after the parenthesised command name; utime, stime, cutime, cstime are fields 14 to 17.
    const stat = readProc(`${member}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += fields.slice(11, 15).reduce((sum, field) => sum + Number(field), 0);
    rssKb += Number(/VmRSS:\s+(\d+)/.exec(readProc(`${member}/status`))?.[1] ?? 0);
  }
  return { cpuSeconds: ticks / clockTicks, rssBytes: rssKb * 1024 };
}

/** CPU seconds all cores of this machine spent busy since boot (user, nice, system, irq, softirq in /proc/stat). */
export function machineBusySeconds(clockTicks: number): number {
  const [, user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = readProc("stat").split("\n")[0]!.trim().split(/\s+/).map(Number);
  return (user + nice + system + irq + softirq) / clockTicks;
}

/** The PostgreSQL server (postmaster) whose command line names `dataDir`, if it runs on this machine. */
export function findPostmaster(dataDir: string): number | undefined {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .find((pid) => {
      const args = readProc(`${pid}/cmdline`).split("\0");
      return args.some((arg) => arg.endsWith("postgres")) && args.includes(dataDir);
    });
}
