import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../src/storage/embedded-postgres.js";

/** Debian's package (`apt-get install pgbouncer`, what .ci/run installs). */
export const pgbouncerBinary = "/usr/sbin/pgbouncer";
export const pgbouncerInstalled = existsSync(pgbouncerBinary);

export interface PgBouncer {
  /** The URL of `databaseUrl`'s database through PgBouncer. */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer in transaction pooling mode on a free loopback port in
 * front of `databaseUrl`'s database, and waits until it accepts connections.
 * PgBouncer refuses to run as root, so as root it runs as `nobody`.
 */
export async function startPgBouncer(databaseUrl: string, poolSize = 5): Promise<PgBouncer> {
  const target = new URL(databaseUrl);
  const port = await freePort();
  const folder = await mkdtemp(path.join(os.tmpdir(), "cart-pgbouncer-"));
  await chmod(folder, 0o755);
  const user = decodeURIComponent(target.username) || "postgres";
  const password = decodeURIComponent(target.password);
  const database = target.pathname.slice(1);
  const serverPassword = password ? ` password=${password}` : "";
  await writeFile(path.join(folder, "users.txt"), `"${user}" "${password}"\n`, { mode: 0o644 });
  await writeFile(
    path.join(folder, "pgbouncer.ini"),
    [
      "[databases]",
      `${database} = host=${target.hostname} port=${target.port || 5432} dbname=${database} user=${user}${serverPassword}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${path.join(folder, "users.txt")}`,
      "pool_mode = transaction",
      `default_pool_size = ${poolSize}`,
      "max_client_conn = 500",
      "ignore_startup_parameters = extra_float_digits",
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  const asRoot = process.getuid?.() === 0;
  const child = spawn(pgbouncerBinary, [...(asRoot ? ["-u", "nobody"] : []), path.join(folder, "pgbouncer.ini")], { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const check = () => (output.join("").includes("process up") ? resolve() : undefined);
    child.stdout!.on("data", check);
    child.stderr!.on("data", check);
    child.once("exit", (code) => reject(new Error(`pgbouncer exited with ${code}: ${output.join("")}`)));
  });
  const auth = password ? `${encodeURIComponent(user)}:${encodeURIComponent(password)}` : encodeURIComponent(user);
  return {
    url: `postgres://${auth}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      await stopChild(child);
      await rm(folder, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  await exited;
}
