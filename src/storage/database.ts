import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { projectPath } from "../project-root.js";

/** int8 columns come back as bigint: money must never pass through a float. */
type Types = { bigint: bigint };
export type Sql = postgres.Sql<Types>;
/** Statements inside a transaction: `sql.begin`'s, or a connection that `pipelinedTransaction` holds. */
export type Tx = postgres.TransactionSql<Types> | postgres.ReservedSql<Types>;
export type Db = PostgresJsDatabase;

const migrationsFolder = projectPath("migrations");

// Any constant works: it only has to be the same for every instance of the service.
const migrationLockKey = 727_274_001;

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  /**
   * The URL leads to a pooler in transaction mode (PgBouncer), which gives
   * each transaction whichever server connection is free: statements are not
   * prepared (a prepared statement lives on one server connection), and the
   * timeouts are set in each transaction (`set local`), not for the session.
   */
  transactionPooling?: boolean;
}

export interface Database {
  readonly sql: Sql;
  readonly db: Db;
  /**
   * Resolves once PostgreSQL answered `select 1` on a connection of its own,
   * so a pool busy with long transactions does not read as an outage. When
   * `abandoned` aborts, that connection is dropped (the ping then rejects)
   * and the next ping opens a new one: a connection whose peer vanished
   * without a word would otherwise keep every later ping waiting.
   */
  ping(abandoned: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * How connections to a lost database are retried, for calls to fail with
 * UNAVAILABLE at once during an outage and to succeed again soon after it.
 * postgres.js waits up to 30 s for a connection and backs off up to 20 s
 * between attempts, which holds calls until their deadline and delays the
 * recovery; a reachable PostgreSQL accepts a connection in milliseconds.
 */
const reconnection = {
  connect_timeout: 3,
  backoff: (attempts: number) => Math.min(0.01 * 3 ** attempts, 0.5),
};

/**
 * The pings' own client: one connection, closed when idle for a while so
 * that a ping rarely meets a connection that died unnoticed, and a
 * `statement_timeout` that lets a server too slow to answer `select 1`
 * cancel it on its own, keeping the connection.
 */
function pingClient(url: string, transactionPooling = false) {
  return postgres(url, {
    max: 1,
    ...reconnection,
    idle_timeout: 10,
    fetch_types: false,
    // Behind a pooler, a ping waits at most until its probe abandons it.
    ...(transactionPooling ? { prepare: false, connection: { application_name: "cart-service" } } : { connection: { application_name: "cart-service", statement_timeout: 2_000 } }),
  });
}

let transactionsOpen = 0;

/**
 * Transactions begun in this process and not yet over, including those still
 * waiting for a connection. postgres.js does not expose its pool; each
 * transaction holds one of its connections (single statements share them,
 * pipelined), so this against the pool size is the pool's use.
 */
export function transactionsInFlight(): number {
  return transactionsOpen;
}

async function counted<T>(transaction: () => Promise<T>): Promise<T> {
  transactionsOpen++;
  try {
    return await transaction();
  } finally {
    transactionsOpen--;
  }
}

export function connectDatabase(options: DatabaseOptions): Database {
  const timeouts = { statement_timeout: options.statementTimeoutMs, lock_timeout: options.lockTimeoutMs };
  const sql = postgres(options.url, {
    max: options.poolSize,
    ...reconnection,
    onnotice: () => {},
    // A pooler in transaction mode refuses these startup parameters (PgBouncer: "unsupported startup parameter").
    connection: { ...(!options.transactionPooling && timeouts), application_name: "cart-service" },
    prepare: !options.transactionPooling,
    types: {
      bigint: postgres.BigInt,
    },
  });
  // Counts every `sql.begin`, drizzle's transactions included (they call it); behind a pooler, each sets the timeouts first.
  const begin = sql.begin.bind(sql) as (...args: unknown[]) => Promise<unknown>;
  const setTimeouts = setLocal(timeouts);
  const beginWithTimeouts = (...args: unknown[]) => {
    const body = args.pop() as (tx: postgres.TransactionSql<Types>) => unknown;
    return begin(...args, async (tx: postgres.TransactionSql<Types>) => (await tx.unsafe(setTimeouts), body(tx)));
  };
  sql.begin = ((...args: unknown[]) => counted(() => (options.transactionPooling ? beginWithTimeouts : begin)(...args))) as Sql["begin"];
  transactionStart.set(sql, options.transactionPooling ? `begin; ${setTimeouts}` : "begin");
  let pings = pingClient(options.url, options.transactionPooling);
  return {
    sql,
    db: drizzle(sql),
    ping: async (abandoned) => {
      const client = pings;
      const dropConnection = () => {
        if (pings === client) pings = pingClient(options.url, options.transactionPooling);
        void client.end({ timeout: 0 });
      };
      abandoned.addEventListener("abort", dropConnection, { once: true });
      try {
        await client`select 1`;
      } finally {
        abandoned.removeEventListener("abort", dropConnection);
      }
    },
    close: async () => void (await Promise.all([sql.end({ timeout: 5 }), pings.end({ timeout: 5 })])),
  };
}

/** `set local` statements for these settings, for the start of a transaction. */
function setLocal(settings: Record<string, number>): string {
  return Object.entries(settings)
    .map(([name, value]) => `set local ${name} = ${Math.trunc(value)}`)
    .join("; ");
}

/** What `pipelinedTransaction` sends to begin, per pool: behind a pooler, with the timeouts (one simple query, no round trip of its own). */
const transactionStart = new WeakMap<Sql, string>();

/**
 * Applies the committed drizzle-kit migrations, all in one transaction that
 * first takes a transaction-level advisory lock: instances that start
 * together take turns, and the lock ends with the transaction, which also
 * holds through a pooler in transaction mode (a session lock would stay on
 * whichever server connection the pooler used).
 */
export async function runMigrations(url: string, options: { transactionPooling?: boolean } = {}): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, prepare: !options.transactionPooling });
  try {
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${migrationLockKey})`;
      await migrate(drizzle(inTransaction(tx, sql)), { migrationsFolder });
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** `tx` for drizzle's migrator, whose own transaction becomes the one already open; the options are its client's. */
function inTransaction(tx: postgres.TransactionSql, client: postgres.Sql): postgres.Sql {
  const overrides: Record<string | symbol, unknown> = {
    begin: (body: (sql: postgres.TransactionSql) => unknown) => body(tx),
    options: client.options,
  };
  return new Proxy(tx, { get: (target, key) => (key in overrides ? overrides[key] : Reflect.get(target, key)) }) as unknown as postgres.Sql;
}

/** What a database failure means to a caller, independent of the driver. */
export type DatabaseFailure = "conflict" | "lock_timeout" | "statement_timeout" | "unavailable" | "unstorable_text";

const failuresBySqlState: Record<string, DatabaseFailure> = {
  "40001": "conflict", // serialization_failure
  "40P01": "conflict", // deadlock_detected
  "55P03": "lock_timeout", // lock_not_available (lock_timeout)
  "57014": "statement_timeout", // query_canceled (statement_timeout)
  "53300": "unavailable", // too_many_connections
  "57P01": "unavailable", // admin_shutdown
  "57P02": "unavailable", // crash_shutdown
  "57P03": "unavailable", // cannot_connect_now
  // Text the database cannot store (a NUL character): the request's fault. Validation refuses it first; this is the backstop.
  "22021": "unstorable_text", // character_not_in_repertoire
  "22P05": "unstorable_text", // untranslatable_character
};

const connectionErrorCodes = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
]);

/** Classifies driver errors that are not bugs; undefined for everything else. */
export function classifyDatabaseError(error: unknown): DatabaseFailure | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return undefined;
  return failuresBySqlState[code] ?? (connectionErrorCodes.has(code) ? "unavailable" : undefined);
}

/** BEGIN and COMMIT for the caller to send along with its first and last statements. */
export interface TransactionBounds {
  begin: Statement;
  commit(): Statement;
}
type Statement = ReturnType<Tx["unsafe"]>;

/**
 * A statement not sent yet whose rows arrive converted: `execute()` sends it
 * (in a batch with the statements started in the same tick), awaiting it
 * gives `convert(rows)`.
 */
export interface PendingRead<T> extends PromiseLike<T> {
  execute(): unknown;
}

export function pendingRead<Rows extends readonly postgres.MaybeRow[], T>(
  statement: postgres.PendingQuery<Rows>,
  convert: (rows: postgres.RowList<Rows>) => T,
): PendingRead<T> {
  let converted: Promise<T> | undefined;
  return {
    execute: () => statement.execute(),
    then: (onResult, onFailure) => (converted ??= statement.then(convert)).then(onResult, onFailure),
  };
}

/**
 * Runs `body` in a transaction on a reserved connection, where BEGIN and
 * COMMIT cost no round trips of their own: `body` starts `begin` in the same
 * tick as its first statements and `commit()` with its last ones, and awaits
 * them together (postgres.js writes them back to back). Every statement has
 * its own Sync, so one after a failed BEGIN would run in autocommit: the
 * first batch must only read, and nothing may be written before `begin`
 * resolved. Inside the transaction a failure fails every later statement
 * (COMMIT then rolls back). Without `commit()` the transaction commits after
 * `body`; on any failure it rolls back before the connection returns to the
 * pool, except a lost connection, which the driver already dropped (releasing
 * it would hand the pool a dead connection).
 */
export function pipelinedTransaction<T>(sql: Sql, body: (tx: Tx, bounds: TransactionBounds) => Promise<T>): Promise<T> {
  return counted(() => reservedTransaction(sql, body));
}

async function reservedTransaction<T>(sql: Sql, body: (tx: Tx, bounds: TransactionBounds) => Promise<T>): Promise<T> {
  const tx = await sql.reserve();
  let committing = false;
  const commit = () => ((committing = true), tx.unsafe("commit"));
  try {
    const result = await body(tx, { begin: tx.unsafe(transactionStart.get(sql) ?? "begin"), commit });
    if (!committing) await commit();
    tx.release();
    return result;
  } catch (error) {
    if (classifyDatabaseError(error) !== "unavailable") {
      await tx.unsafe("rollback").then(() => tx.release(), () => {});
    }
    throw error;
  }
}

/**
 * Runs a transaction, retrying it a few times when PostgreSQL aborted it for
 * a serialization failure or deadlock: those are safe to repeat from scratch.
 */
export async function withConflictRetry<T>(attempt: () => Promise<T>, attempts = 3): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (tries >= attempts || classifyDatabaseError(error) !== "conflict") throw error;
    }
  }
}
