import cluster from "node:cluster";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createApp } from "./app.js";
import { setUpAuthentication } from "./auth-setup.js";
import { runWorkers } from "./cluster.js";
import { type Config, loadConfig } from "./config.js";
import { causeOf, createLogger } from "./logger.js";
import { answerClusterMetricsRequests } from "./metrics.js";
import { startEventDelivery } from "./events/delivery.js";
import { connectDatabase, runMigrations } from "./storage/database.js";
import { startEmbeddedPostgres } from "./storage/embedded-postgres.js";
import { prepareStore } from "./store-setup.js";
import { startSweeper } from "./sweeper.js";
import { startServer } from "./transport/server.js";

const config = loadConfigOrExit();
const log = createLogger({ level: config.logLevel, format: config.logFormat });

/**
 * What SIGINT, SIGTERM and SIGHUP (a closed terminal) do: until the service
 * serves, end the start (exiting stops the embedded PostgreSQL, its exit
 * hook); then drain and stop. One listener each for the whole run: Node
 * drops its signal watcher when the last listener goes.
 */
let onStopSignal = (signal: NodeJS.Signals): void => {
  log.info("stopped while starting", { signal });
  process.exit(0);
};
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, (received) => onStopSignal(received));

const embedded = config.databaseUrl
  ? undefined
  : await startUpStep(
      "DATA_DIR",
      () =>
        startEmbeddedPostgres({
          dataDir: path.resolve(config.dataDir, "postgres"),
          database: "cart",
          persistent: true,
          log: (line) => log.warn(line),
        }),
      // It cleans up after itself when it fails.
      { embeddedStarted: false },
    );
const databaseUrl = config.databaseUrl ?? embedded!.url;
await startUpStep("DATABASE_URL", () => runMigrations(databaseUrl, { transactionPooling: config.dbTransactionPooling }));
const authentication = await startUpStep("AUTH_JWKS", () => setUpAuthentication(config, log));
if (cluster.isPrimary && config.workers > 1) {
  // The primary only supervises; the workers run this program from the top and serve.
  answerClusterMetricsRequests();
  // The supervisor's own handlers forward the signals to the workers.
  onStopSignal = () => {};
  const code = await runWorkers({ count: config.workers, env: { DATABASE_URL: databaseUrl }, log, onListening: logListening });
  await shutdownStep("stopping the embedded PostgreSQL", async () => embedded?.stop());
  log.info("stopped", { exitCode: code });
  process.exit(code);
}
const database = connectDatabase({
  url: databaseUrl,
  poolSize: config.dbPoolSize,
  statementTimeoutMs: config.dbStatementTimeoutMs,
  lockTimeoutMs: config.dbLockTimeoutMs,
  transactionPooling: config.dbTransactionPooling,
});
await startUpStep("DATABASE_URL", () => prepareStore(config, database, log));

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
const server = await startUpStep("PORT", () => startServer({
  host: config.host,
  port: config.port,
  readMaxBytes: config.readMaxBytes,
  maxTimeoutMs: config.maxTimeoutMs,
  connectionLimits: config,
  grpcServer: config.grpcServer,
  log,
  corsOrigins: config.corsOrigins,
  verifyToken: authentication.verify,
  // The demo storefront comes with the demo store.
  ...(config.seedDemoProducts && { storefront: { issueToken: authentication.issueDemoToken } }),
  ...app,
}));
// Its pid is on every log line.
if (cluster.isWorker) log.info("worker listening");
else logListening(server.port);

/** The line operators and tests wait for; with workers, the primary logs it once all listen. */
function logListening(port: number): void {
  log.info("cart service listening", {
    address: `http://${config.host}:${port}`,
    protocols: ["grpc", "grpc-web", "connect", "rest"],
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

/** The configuration, or, when a variable is invalid, one line naming every invalid one and exit code 1. */
function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    // The log settings may be among the invalid ones: the defaults log this line.
    createLogger({ format: process.stdout.isTTY && process.env.NODE_ENV !== "production" ? "pretty" : "json" }).error(oneLine(error));
    process.exit(1);
  }
}

/**
 * Runs one step of the start. Its failure ends the start with one line
 * naming the setting at fault and the cause (no stack trace: these are an
 * operator's mistakes, not bugs), after stopping the embedded PostgreSQL.
 */
async function startUpStep<T>(setting: string, step: () => Promise<T>, { embeddedStarted = true } = {}): Promise<T> {
  try {
    return await step();
  } catch (error) {
    const value = setting === "DATABASE_URL" ? ` ${redactPassword(databaseUrl)}` : setting === "PORT" ? ` ${config.port}` : "";
    log.error(`cannot start: ${setting}${value}: ${oneLine(error)}`);
    if (embeddedStarted) await shutdownStep("stopping the embedded PostgreSQL", async () => embedded?.stop());
    process.exit(1);
  }
}

/** An error's message as one bounded line. */
function oneLine(error: unknown): string {
  const message = causeOf(error);
  return message.replace(/\s*\n\s*/g, " ").slice(0, 1000);
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
  log.info("stopped", { exitCode: drained ? 0 : 1 });
  process.exit(drained ? 0 : 1);
}
onStopSignal = (signal) => void shutdown(signal);
