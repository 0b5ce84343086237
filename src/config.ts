/** Service configuration, read once from the environment. */
export interface Config {
  readonly host: string;
  readonly port: number;
  /** PostgreSQL URL; when absent an embedded server keeps its data in `dataDir`. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly dbPoolSize: number;
  readonly dbStatementTimeoutMs: number;
  readonly dbLockTimeoutMs: number;
  readonly defaultCurrency: string;
  readonly maxLinesPerCart: number;
  readonly maxLineQuantity: number;
  /** Largest accepted request message, on every protocol. */
  readonly readMaxBytes: number;
  readonly seedDemoProducts: boolean;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name} must be an integer ≥ ${min}, got "${raw}"`);
  }
  return value;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const defaultCurrency = env.DEFAULT_CURRENCY || "USD";
  if (!/^[A-Z]{3}$/.test(defaultCurrency)) {
    throw new Error(`DEFAULT_CURRENCY must be an ISO 4217 code such as USD, got "${defaultCurrency}"`);
  }
  return {
    host: env.HOST || "0.0.0.0",
    port: integer(env, "PORT", 8080, 0),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.DATA_DIR || ".data",
    dbPoolSize: integer(env, "DB_POOL_SIZE", 10),
    dbStatementTimeoutMs: integer(env, "DB_STATEMENT_TIMEOUT_MS", 5000),
    dbLockTimeoutMs: integer(env, "DB_LOCK_TIMEOUT_MS", 3000),
    defaultCurrency,
    maxLinesPerCart: integer(env, "MAX_LINES_PER_CART", 100),
    maxLineQuantity: integer(env, "MAX_LINE_QUANTITY", 10_000),
    readMaxBytes: integer(env, "READ_MAX_BYTES", 1024 * 1024),
    seedDemoProducts: env.SEED_DEMO_PRODUCTS === "1" || env.SEED_DEMO_PRODUCTS === "true",
  };
}
