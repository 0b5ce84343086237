import { currencyExponent } from "./domain/currency.js";
import { type LogFormat, logFormats, type LogLevel, logLevels } from "./logger.js";

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
  /**
   * DATABASE_URL leads to a pooler in transaction mode (PgBouncer
   * `pool_mode = transaction`), which hands each transaction whichever server
   * connection is free: no prepared statements, no session state.
   */
  readonly dbTransactionPooling: boolean;
  readonly defaultCurrency: string;
  /** Region of carts created without region_id and currency; ensured at startup (tax-free, any country, defaultCurrency) when missing. */
  readonly defaultRegionId: string;
  /** Sales channel of carts created without one; ensured at startup when missing. */
  readonly defaultSalesChannelId: string;
  readonly maxLinesPerCart: number;
  readonly maxLineQuantity: number;
  /** How long an active cart with lines lives after its last change. */
  readonly cartLifetimeMs: number;
  /** How long an active empty cart lives after its last change. */
  readonly emptyCartLifetimeMs: number;
  /** How often the expiry sweeper runs. */
  readonly cartSweepIntervalMs: number;
  /** Carts per statement of the expiry sweeper. */
  readonly cartSweepBatchSize: number;
  /** How long expired carts are kept before they are deleted; undefined: forever. */
  readonly expiredCartRetentionMs: number | undefined;
  /** Largest accepted request message, on every protocol. */
  readonly readMaxBytes: number;
  readonly seedDemoProducts: boolean;
  /** Processes serving the one port (node:cluster); 1 serves from the main process. */
  readonly workers: number;
  /** How long calls in flight at SIGTERM/SIGINT get to finish before their connections are cut. */
  readonly shutdownGraceMs: number;
  /** Longest the service works on one unary call: a call's deadline counts only up to this. */
  readonly maxTimeoutMs: number;
  /** How long a new connection gets to show its protocol (its first bytes; on HTTP/2, its first request's headers). */
  readonly protocolDetectionTimeoutMs: number;
  /** How long an HTTP/1.1 request's headers may take to arrive. */
  readonly http1HeadersTimeoutMs: number;
  /** How long a whole HTTP/1.1 request, body included, may take to arrive. */
  readonly http1RequestTimeoutMs: number;
  /** How long an HTTP/2 connection may go without traffic before the service sends GOAWAY. */
  readonly http2IdleTimeoutMs: number;
  /** Open connections per process; more are closed as they are accepted. */
  readonly maxConnections: number;
  /** JWKS file path or http(s) URL that verifies bearer tokens; absent: development mode with a local key. */
  readonly authJwks: string | undefined;
  readonly authIssuer: string | undefined;
  readonly authAudience: string;
  readonly authClockToleranceSeconds: number;
  /** How long idempotency keys are remembered. */
  readonly idempotencyRetentionMs: number;
  /**
   * Which stack serves gRPC with protobuf messages: "native" (@grpc/grpc-js,
   * several times faster) or "connect" (connect-node, like every other
   * protocol). Both run the same handlers and interceptors.
   */
  readonly grpcServer: "native" | "connect";
  /** Browser origins (`https://shop.example.com`) allowed to call the service cross-origin; `["*"]` for any. */
  readonly corsOrigins: readonly string[];
  /** The NATS JetStream the event relay publishes to; undefined: no relay runs (events stay in the outbox, see README "Events"). */
  readonly eventsNats: EventsNatsConfig | undefined;
  /** How long cart events stay in the outbox (once sent, when a relay runs). */
  readonly eventsRetentionMs: number;
  /** WatchCart and WatchEvents streams one process serves at once. */
  readonly eventsMaxWatchers: number;
  /** The least severe level logged. */
  readonly logLevel: LogLevel;
  /** Pretty lines for a developer's terminal, else JSON lines. */
  readonly logFormat: LogFormat;
}

/** Every invalid variable at once, so that one start names them all. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
  }
}

/** The environment, and where a helper reports an invalid value (it then returns the fallback, so the rest is still checked). */
interface Source {
  readonly env: NodeJS.ProcessEnv;
  invalid<T>(problem: string, fallback: T): T;
}

export const eventFormats = ["json", "protobuf"] as const;

export interface EventsNatsConfig {
  /** Server URLs (nats://host:port), the client tries them in turn. */
  readonly servers: readonly string[];
  /** The JetStream stream; created (on `${subjectPrefix}.>`) when missing. */
  readonly stream: string;
  /** Subjects are `${subjectPrefix}.${type}`, e.g. cart.events.order.placed. */
  readonly subjectPrefix: string;
  /** CloudEvents content mode: structured JSON, or binary with the protobuf message as the body. */
  readonly format: (typeof eventFormats)[number];
  /** Events claimed per relay transaction. */
  readonly batchSize: number;
}

function natsServers(from: Source, name: string): string[] | undefined {
  const raw = from.env[name];
  if (!raw) return undefined;
  const servers = raw.split(",").map((entry) => entry.trim());
  for (const server of servers) {
    const url = URL.canParse(server) ? new URL(server) : undefined;
    if (!url || !["nats:", "tls:"].includes(url.protocol) || !url.hostname || servers.length > 16) {
      return from.invalid(`${name} must be up to 16 comma-separated URLs such as nats://127.0.0.1:4222, got "${raw}"`, undefined);
    }
  }
  return servers;
}

function matching(from: Source, name: string, fallback: string, pattern: RegExp, described: string): string {
  const value = from.env[name] || fallback;
  if (!pattern.test(value)) return from.invalid(`${name} must be ${described}, got "${value}"`, fallback);
  return value;
}

/** Read, and so checked, even without EVENTS_NATS_URL: a mistake shows before the relay is turned on. */
function eventsNats(from: Source): EventsNatsConfig | undefined {
  const servers = natsServers(from, "EVENTS_NATS_URL");
  const settings = {
    stream: matching(from, "EVENTS_NATS_STREAM", "CART_EVENTS", /^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, '_' or '-'"),
    subjectPrefix: matching(
      from,
      "EVENTS_NATS_SUBJECT_PREFIX",
      "cart.events",
      /^(?=.{1,100}$)[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
      "up to 100 characters: dot-separated tokens of letters, digits, '_' or '-'",
    ),
    format: choice(from, "EVENTS_NATS_FORMAT", eventFormats, "json"),
    batchSize: integer(from, "EVENTS_RELAY_BATCH_SIZE", 100, 1, 1000),
  };
  return servers && { servers, ...settings };
}

/**
 * A store id (region, sales channel). Region ids leave room for the
 * "-<currency>" suffix of the regions made for other currencies.
 */
function storeId(from: Source, name: string, maxLength: number): string {
  const value = from.env[name] || "default";
  if (!new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${maxLength - 1}}$`).test(value)) {
    return from.invalid(`${name} must be 1-${maxLength} letters, digits, '.', '_' or '-' starting with a letter or digit, got "${value}"`, "default");
  }
  return value;
}

/** The longest cart lifetime and idempotency retention: far beyond any use, and a date PostgreSQL and JavaScript both hold. */
const maxRetentionHours = 10 * 365 * 24;
/** The longest shutdown grace and call deadline; a timer longer than 2^31-1 ms would fire at once. */
const maxWaitMs = 3_600_000;

function integer(from: Source, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const raw = from.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    return from.invalid(`${name} must be an integer ${range}, got "${raw}"`, fallback);
  }
  return value;
}

/**
 * A comma-separated list of origins, each normalized as browsers send it in
 * `Origin` (lower-case scheme and host, no default port, no path), or `*`
 * alone. Anything else is refused: a path or a typo would never match.
 */
function originList(from: Source, name: string): string[] {
  const entries = (from.env[name] ?? "").split(",").map((entry) => entry.trim()).filter(Boolean);
  if (entries.includes("*")) {
    if (entries.length > 1) return from.invalid(`${name} must be "*" alone or a list of origins, got "${from.env[name]}"`, []);
    return entries;
  }
  return entries.flatMap((entry) => {
    const url = URL.canParse(entry) ? new URL(entry) : undefined;
    if (!url || !["http:", "https:"].includes(url.protocol) || url.href !== `${url.origin}/`) {
      return from.invalid(`${name} entries must be origins such as https://shop.example.com (scheme, host, optional port; no path), got "${entry}"`, []);
    }
    return [url.origin];
  });
}

/** One of a few named values; anything else is refused with the list. */
function choice<T extends string>(from: Source, name: string, allowed: readonly T[], fallback: T): T {
  const raw = from.env[name] || fallback;
  if (!(allowed as readonly string[]).includes(raw)) return from.invalid(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`, fallback);
  return raw as T;
}

/** A yes/no switch; anything else is refused rather than read as "no". */
function flag(from: Source, name: string, fallback = false): boolean {
  const raw = from.env[name] ?? "";
  if (raw === "") return fallback;
  if (["0", "false"].includes(raw)) return false;
  if (["1", "true"].includes(raw)) return true;
  return from.invalid(`${name} must be 1, true, 0 or false, got "${raw}"`, fallback);
}

/**
 * A PostgreSQL URL as postgres.js reads it: `postgres://` or `postgresql://`,
 * host optional (a socket folder may come as `?host=/run/postgresql`).
 */
function databaseUrl(from: Source, name: string): string | undefined {
  const raw = from.env[name] || undefined;
  if (raw !== undefined && !/^postgres(ql)?:\/\/[^\s]*$/.test(raw)) {
    return from.invalid(`${name} must be a URL such as postgres://user:password@host:5432/database (the value is not shown: it may hold a password)`, undefined);
  }
  return raw;
}

/** `stdoutIsTerminal` picks the default log format: pretty for a developer's terminal outside production, JSON for pipes and log shippers. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, stdoutIsTerminal = process.stdout.isTTY === true): Config {
  const problems: string[] = [];
  const from: Source = {
    env,
    invalid: (problem, fallback) => {
      problems.push(problem);
      return fallback;
    },
  };
  const defaultCurrency = env.DEFAULT_CURRENCY || "USD";
  try {
    currencyExponent(defaultCurrency);
  } catch {
    problems.push(`DEFAULT_CURRENCY must be a supported ISO 4217 code such as USD, got "${defaultCurrency}"`);
  }
  const production = env.NODE_ENV === "production";
  const authJwks = env.AUTH_JWKS || undefined;
  if (production && !authJwks) {
    problems.push("NODE_ENV=production requires AUTH_JWKS (a JWKS file path or URL); development keys are never used in production");
  }
  const grpcServer = choice(from, "GRPC_SERVER", ["native", "connect"], "native");
  if (authJwks && !env.AUTH_ISSUER) {
    problems.push("AUTH_ISSUER must name the token issuer when AUTH_JWKS is set");
  }
  const http1HeadersTimeoutMs = integer(from, "HTTP1_HEADERS_TIMEOUT_MS", 10_000, 100, 600_000);
  const http1RequestTimeoutMs = integer(from, "HTTP1_REQUEST_TIMEOUT_MS", 30_000, 100, 600_000);
  if (http1HeadersTimeoutMs > http1RequestTimeoutMs) {
    problems.push(`HTTP1_HEADERS_TIMEOUT_MS (${http1HeadersTimeoutMs}) must not exceed HTTP1_REQUEST_TIMEOUT_MS (${http1RequestTimeoutMs}): the headers are part of the request`);
  }
  const config: Config = {
    host: env.HOST || "0.0.0.0",
    port: integer(from, "PORT", 8080, 0, 65_535),
    databaseUrl: databaseUrl(from, "DATABASE_URL"),
    dataDir: env.DATA_DIR || ".data",
    dbPoolSize: integer(from, "DB_POOL_SIZE", 10),
    dbStatementTimeoutMs: integer(from, "DB_STATEMENT_TIMEOUT_MS", 5000),
    dbLockTimeoutMs: integer(from, "DB_LOCK_TIMEOUT_MS", 3000),
    dbTransactionPooling: flag(from, "DB_TRANSACTION_POOLING"),
    defaultCurrency,
    defaultRegionId: storeId(from, "DEFAULT_REGION_ID", 60),
    defaultSalesChannelId: storeId(from, "DEFAULT_SALES_CHANNEL_ID", 64),
    maxLinesPerCart: integer(from, "MAX_LINES_PER_CART", 100),
    maxLineQuantity: integer(from, "MAX_LINE_QUANTITY", 10_000),
    cartLifetimeMs: integer(from, "CART_TTL_HOURS", 30 * 24, 1, maxRetentionHours) * 3_600_000,
    emptyCartLifetimeMs: integer(from, "EMPTY_CART_TTL_HOURS", 6, 1, maxRetentionHours) * 3_600_000,
    cartSweepIntervalMs: integer(from, "CART_SWEEP_INTERVAL_SECONDS", 60, 1, 86_400) * 1000,
    cartSweepBatchSize: integer(from, "CART_SWEEP_BATCH_SIZE", 500, 1, 10_000),
    // 0 keeps expired carts forever.
    expiredCartRetentionMs: integer(from, "EXPIRED_CART_RETENTION_DAYS", 0, 0, 36_500) * 86_400_000 || undefined,
    readMaxBytes: integer(from, "READ_MAX_BYTES", 1024 * 1024),
    seedDemoProducts: flag(from, "SEED_DEMO_PRODUCTS"),
    workers: integer(from, "WORKERS", 1),
    shutdownGraceMs: integer(from, "SHUTDOWN_GRACE_MS", 10_000, 0, maxWaitMs),
    maxTimeoutMs: integer(from, "MAX_TIMEOUT_MS", 10_000, 1, maxWaitMs),
    protocolDetectionTimeoutMs: integer(from, "PROTOCOL_DETECTION_TIMEOUT_MS", 5_000, 100, 60_000),
    http1HeadersTimeoutMs,
    http1RequestTimeoutMs,
    http2IdleTimeoutMs: integer(from, "HTTP2_IDLE_TIMEOUT_MS", 60_000, 100, maxWaitMs),
    maxConnections: integer(from, "MAX_CONNECTIONS", 4096, 1, 1_000_000),
    authJwks,
    authIssuer: env.AUTH_ISSUER || undefined,
    authAudience: env.AUTH_AUDIENCE || "cart-service",
    authClockToleranceSeconds: integer(from, "AUTH_CLOCK_TOLERANCE_SECONDS", 30, 0),
    idempotencyRetentionMs: integer(from, "IDEMPOTENCY_RETENTION_HOURS", 24, 1, maxRetentionHours) * 3_600_000,
    grpcServer,
    corsOrigins: originList(from, "CORS_ORIGINS"),
    eventsNats: eventsNats(from),
    eventsRetentionMs: integer(from, "EVENTS_RETENTION_HOURS", 7 * 24, 1, maxRetentionHours) * 3_600_000,
    eventsMaxWatchers: integer(from, "EVENTS_MAX_WATCHERS", 1000, 1, 100_000),
    logLevel: choice(from, "LOG_LEVEL", logLevels, "info"),
    logFormat: choice(from, "LOG_FORMAT", logFormats, stdoutIsTerminal && !production ? "pretty" : "json"),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
