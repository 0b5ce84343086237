import { fileURLToPath } from "node:url";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";

/** int8 columns come back as bigint: money must never pass through a float. */
type Types = { bigint: bigint };
export type Sql = postgres.Sql<Types>;
export type Tx = postgres.TransactionSql<Types>;
export type Db = PostgresJsDatabase;

const migrationsFolder = fileURLToPath(new URL("../../migrations", import.meta.url));

// Any constant works: it only has to be the same for every instance of the service.
const migrationLockKey = 727_274_001;

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

export interface Database {
  readonly sql: Sql;
  readonly db: Db;
  close(): Promise<void>;
}

export function connectDatabase(options: DatabaseOptions): Database {
  const sql = postgres(options.url, {
    max: options.poolSize,
    onnotice: () => {},
    connection: {
      statement_timeout: options.statementTimeoutMs,
      lock_timeout: options.lockTimeoutMs,
      application_name: "cart-service",
    },
    types: {
      bigint: postgres.BigInt,
    },
  });
  return { sql, db: drizzle(sql), close: () => sql.end({ timeout: 5 }) };
}

/**
 * Applies the committed drizzle-kit migrations. A session advisory lock on a
 * single dedicated connection makes instances that start together take turns.
 */
export async function runMigrations(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(${migrationLockKey})`;
    await migrate(drizzle(sql), { migrationsFolder });
  } finally {
    await sql.end({ timeout: 5 });
  }
}
