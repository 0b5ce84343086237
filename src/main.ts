import cluster from "node:cluster";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createApp } from "./app.js";
import { setUpAuthentication } from "./auth-setup.js";
import { runWorkers } from "./cluster.js";
import { loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { answerClusterMetricsRequests } from "./metrics.js";
import { startEventDelivery } from "./events/delivery.js";
import { connectDatabase, runMigrations } from "./storage/database.js";
import { startEmbeddedPostgres } from "./storage/embedded-postgres.js";
import { prepareStore } from "./store-setup.js";
import { startSweeper } from "./sweeper.js";
import { startServer } from "./transport/server.js";

const config = loadConfig();
const log = createLogger({ level: config.logLevel, format: config.logFormat });

const embedded = config.databaseUrl
  ? undefined
  : await startEmbeddedPostgres({
      dataDir: path.resolve(config.dataDir, "postgres"),
      database: "cart",
      persistent: true,
      log: (line) => log.error(line),
    });
const databaseUrl = config.databaseUrl ?? embedded!.url;
await runMigrations(databaseUrl);
const authentication = await setUpAuthentication(config, log);
if (cluster.isPrimary && config.workers > 1) {
  // The primary only supervises; the workers run this program from the top and serve.
  answerClusterMetricsRequests();
  const code = await runWorkers({ count: config.workers, env: { DATABASE_URL: databaseUrl }, log, onListening: logListening });
  await shutdownStep("stopping the embedded PostgreSQL", async () => embedded?.stop());
  process.exit(code);
}
const database = connectDatabase({
  url: databaseUrl,
  poolSize: config.dbPoolSize,
  statementTimeoutMs: config.dbStatementTimeoutMs,
  lockTimeoutMs: config.dbLockTimeoutMs,
});
await prepareStore(config, database, log);

const app = createApp(config, database, log, authentication.verify);
const stopIdempotencySweeper = startSweeper({
  name: "idempotency",
  intervalMs: 10 * 60_000,
  sweep: () => app.idempotencyRecords.deleteExpired(new Date()),
  log,
  metrics: app.metrics,
});
// Every process sweeps: SKIP LOCKED keeps their passes from doing the same work.
const cartSweeper = (name: string, sweep: () => Promise<number>) =>
  startSweeper({ name, intervalMs: config.cartSweepIntervalMs, sweep, log, metrics: app.metrics });
const retentionMs = config.expiredCartRetentionMs;
const stopCartSweepers = [
  cartSweeper("cart_expiry", () => app.cartExpiry.expireDue()),
  ...(retentionMs === undefined ? [] : [cartSweeper("expired_cart_deletion", () => app.cartExpiry.deleteExpiredLongerThan(retentionMs))]),
];
const stopEventDelivery = await startEventDelivery({ config, sql: database.sql, ...app, log });
const server = await startServer({
  host: config.host,
  port: config.port,
  readMaxBytes: config.readMaxBytes,
  maxTimeoutMs: config.maxTimeoutMs,
  grpcServer: config.grpcServer,
  log,
  corsOrigins: config.corsOrigins,
  // The demo storefront comes with the demo store.
  ...(config.seedDemoProducts && { storefront: { issueToken: authentication.issueDemoToken } }),
  ...app,
});
// Its pid is on every log line.
if (cluster.isWorker) log.info("worker listening");
else logListening(server.port);

/** The line operators and tests wait for; with workers, the primary logs it once all listen. */
function logListening(port: number): void {
  log.info("cart service listening", {
    address: `http://${config.host}:${port}`,
    protocols: ["grpc", "grpc-web", "connect"],
    grpcServer: config.grpcServer,
    workers: config.workers,
    database: embedded
      ? `embedded PostgreSQL, data in ${path.resolve(config.dataDir, "postgres")}`
      : redactPassword(databaseUrl),
  });
  void authentication.announce(port);
}

/** The URL without its password; textual, because socket URLs (`postgres://user@/db?host=/run/postgresql`) are not WHATWG URLs. */
function redactPassword(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/i, "$1:***@");
}

/** Runs one step of the shutdown, logging its failure rather than leaving the rest undone; resolves with whether it succeeded. */
async function shutdownStep(step: string, run: () => Promise<unknown>): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (error) {
    log.error("shutdown step failed", { step, cause: String((error as Error | undefined)?.stack ?? error) });
    return false;
  }
}

let stopping = false;
/**
 * Drains the server and lets the sweeper passes under way end, both within
 * SHUTDOWN_GRACE_MS, then closes the pool and stops the embedded PostgreSQL.
 * Exits 0 once the drain is over, even if a later step failed (logged):
 * every call was answered or cut off by then, and PostgreSQL keeps what was
 * committed. Exits 1 if draining failed.
 */
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const graceEndsAt = performance.now() + config.shutdownGraceMs;
  log.info("shutting down", { signal, graceMs: config.shutdownGraceMs });
  // Passes under way end meanwhile (they never reject); none starts afterwards.
  const sweepersStopped = Promise.all([stopIdempotencySweeper(), ...stopCartSweepers.map((stop) => stop()), stopEventDelivery()]).then(
    () => true,
  );
  const drained = await shutdownStep("draining the server", async () => {
    if (!(await server.close(config.shutdownGraceMs))) {
      log.error("calls still running when SHUTDOWN_GRACE_MS ran out were cut off", { graceMs: config.shutdownGraceMs });
    }
  });
  // Bounded: a pass stuck on a connection that died unnoticed must not hold the process.
  if (!(await Promise.race([sweepersStopped, sleep(Math.max(0, graceEndsAt - performance.now()), false, { ref: false })]))) {
    log.warn("sweeper passes still running when SHUTDOWN_GRACE_MS ran out are cut off", { graceMs: config.shutdownGraceMs });
  }
  await shutdownStep("closing the database pool", () => database.close());
  await shutdownStep("stopping the embedded PostgreSQL", async () => embedded?.stop());
  process.exit(drained ? 0 : 1);
}
process.on("SIGINT", () => void shutdown("SIGINT"));
process.on("SIGTERM", () => void shutdown("SIGTERM"));
