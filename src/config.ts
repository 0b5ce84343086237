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
  /** Longest deadline a call may ask for; a longer one is refused with INVALID_ARGUMENT. */
  readonly maxTimeoutMs: number;
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

function natsServers(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const raw = env[name];
  if (!raw) return undefined;
  const servers = raw.split(",").map((entry) => entry.trim());
  for (const server of servers) {
    const url = URL.canParse(server) ? new URL(server) : undefined;
    if (!url || !["nats:", "tls:"].includes(url.protocol) || !url.hostname || servers.length > 16) {
      throw new Error(`${name} must be up to 16 comma-separated URLs such as nats://127.0.0.1:4222, got "${raw}"`);
    }
  }
  return servers;
}

function matching(env: NodeJS.ProcessEnv, name: string, fallback: string, pattern: RegExp, described: string): string {
  const value = env[name] || fallback;
  if (!pattern.test(value)) throw new Error(`${name} must be ${described}, got "${value}"`);
  return value;
}

/** Read, and so checked, even without EVENTS_NATS_URL: a mistake shows before the relay is turned on. */
function eventsNats(env: NodeJS.ProcessEnv): EventsNatsConfig | undefined {
  const servers = natsServers(env, "EVENTS_NATS_URL");
  const settings = {
    stream: matching(env, "EVENTS_NATS_STREAM", "CART_EVENTS", /^[A-Za-z0-9_-]{1,64}$/, "1-64 letters, digits, '_' or '-'"),
    subjectPrefix: matching(
      env,
      "EVENTS_NATS_SUBJECT_PREFIX",
      "cart.events",
      /^(?=.{1,100}$)[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/,
      "up to 100 characters: dot-separated tokens of letters, digits, '_' or '-'",
    ),
    format: choice(env, "EVENTS_NATS_FORMAT", eventFormats, "json"),
    batchSize: integer(env, "EVENTS_RELAY_BATCH_SIZE", 100, 1, 1000),
  };
  return servers && { servers, ...settings };
}

/**
 * A store id (region, sales channel). Region ids leave room for the
 * "-<currency>" suffix of the regions made for other currencies.
 */
function storeId(env: NodeJS.ProcessEnv, name: string, maxLength: number): string {
  const value = env[name] || "default";
  if (!new RegExp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,${maxLength - 1}}$`).test(value)) {
    throw new Error(`${name} must be 1-${maxLength} letters, digits, '.', '_' or '-' starting with a letter or digit, got "${value}"`);
  }
  return value;
}

/** The longest cart lifetime and idempotency retention: far beyond any use, and a date PostgreSQL and JavaScript both hold. */
const maxRetentionHours = 10 * 365 * 24;
/** The longest shutdown grace and call deadline; a timer longer than 2^31-1 ms would fire at once. */
const maxWaitMs = 3_600_000;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new Error(`${name} must be an integer ${range}, got "${raw}"`);
  }
  return value;
}

/**
 * A comma-separated list of origins, each normalized as browsers send it in
 * `Origin` (lower-case scheme and host, no default port, no path), or `*`
 * alone. Anything else is refused: a path or a typo would never match.
 */
function originList(env: NodeJS.ProcessEnv, name: string): string[] {
  const entries = (env[name] ?? "").split(",").map((entry) => entry.trim()).filter(Boolean);
  if (entries.includes("*")) {
    if (entries.length > 1) throw new Error(`${name} must be "*" alone or a list of origins, got "${env[name]}"`);
    return entries;
  }
  return entries.map((entry) => {
    const url = URL.canParse(entry) ? new URL(entry) : undefined;
    if (!url || !["http:", "https:"].includes(url.protocol) || url.href !== `${url.origin}/`) {
      throw new Error(`${name} entries must be origins such as https://shop.example.com (scheme, host, optional port; no path), got "${entry}"`);
    }
    return url.origin;
  });
}

/** One of a few named values; anything else is refused with the list. */
function choice<T extends string>(env: NodeJS.ProcessEnv, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name] || fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new Error(`${name} must be one of ${allowed.join(", ")}, got "${raw}"`);
  return raw as T;
}

/** A yes/no switch; anything else is refused rather than read as "no". */
function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = env[name] ?? "";
  if (["", "0", "false"].includes(raw)) return false;
  if (["1", "true"].includes(raw)) return true;
  throw new Error(`${name} must be 1, true, 0 or false, got "${raw}"`);
}

/** `stdoutIsTerminal` picks the default log format: pretty for a developer's terminal outside production, JSON for pipes and log shippers. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, stdoutIsTerminal = process.stdout.isTTY === true): Config {
  const defaultCurrency = env.DEFAULT_CURRENCY || "USD";
  try {
    currencyExponent(defaultCurrency);
  } catch {
    throw new Error(`DEFAULT_CURRENCY must be a supported ISO 4217 code such as USD, got "${defaultCurrency}"`);
  }
  const production = env.NODE_ENV === "production";
  const authJwks = env.AUTH_JWKS || undefined;
  if (production && !authJwks) {
    throw new Error("NODE_ENV=production requires AUTH_JWKS (a JWKS file path or URL); development keys are never used in production");
  }
  const grpcServer = env.GRPC_SERVER || "native";
  if (grpcServer !== "native" && grpcServer !== "connect") {
    throw new Error(`GRPC_SERVER must be "native" or "connect", got "${grpcServer}"`);
  }
  if (authJwks && !env.AUTH_ISSUER) {
    throw new Error("AUTH_ISSUER must name the token issuer when AUTH_JWKS is set");
  }
  return {
    host: env.HOST || "0.0.0.0",
    port: integer(env, "PORT", 8080, 0, 65_535),
    databaseUrl: env.DATABASE_URL || undefined,
    dataDir: env.DATA_DIR || ".data",
    dbPoolSize: integer(env, "DB_POOL_SIZE", 10),
    dbStatementTimeoutMs: integer(env, "DB_STATEMENT_TIMEOUT_MS", 5000),
    dbLockTimeoutMs: integer(env, "DB_LOCK_TIMEOUT_MS", 3000),
    defaultCurrency,
    defaultRegionId: storeId(env, "DEFAULT_REGION_ID", 60),
    defaultSalesChannelId: storeId(env, "DEFAULT_SALES_CHANNEL_ID", 64),
    maxLinesPerCart: integer(env, "MAX_LINES_PER_CART", 100),
    maxLineQuantity: integer(env, "MAX_LINE_QUANTITY", 10_000),
    cartLifetimeMs: integer(env, "CART_TTL_HOURS", 30 * 24, 1, maxRetentionHours) * 3_600_000,
    emptyCartLifetimeMs: integer(env, "EMPTY_CART_TTL_HOURS", 6, 1, maxRetentionHours) * 3_600_000,
    cartSweepIntervalMs: integer(env, "CART_SWEEP_INTERVAL_SECONDS", 60, 1, 86_400) * 1000,
    cartSweepBatchSize: integer(env, "CART_SWEEP_BATCH_SIZE", 500, 1, 10_000),
    // 0 keeps expired carts forever.
    expiredCartRetentionMs: integer(env, "EXPIRED_CART_RETENTION_DAYS", 0, 0, 36_500) * 86_400_000 || undefined,
    readMaxBytes: integer(env, "READ_MAX_BYTES", 1024 * 1024),
    seedDemoProducts: flag(env, "SEED_DEMO_PRODUCTS"),
    workers: integer(env, "WORKERS", 1),
    shutdownGraceMs: integer(env, "SHUTDOWN_GRACE_MS", 10_000, 0, maxWaitMs),
    maxTimeoutMs: integer(env, "MAX_TIMEOUT_MS", 10_000, 1, maxWaitMs),
    authJwks,
    authIssuer: env.AUTH_ISSUER || undefined,
    authAudience: env.AUTH_AUDIENCE || "cart-service",
    authClockToleranceSeconds: integer(env, "AUTH_CLOCK_TOLERANCE_SECONDS", 30, 0),
    idempotencyRetentionMs: integer(env, "IDEMPOTENCY_RETENTION_HOURS", 24, 1, maxRetentionHours) * 3_600_000,
    grpcServer,
    corsOrigins: originList(env, "CORS_ORIGINS"),
    eventsNats: eventsNats(env),
    eventsRetentionMs: integer(env, "EVENTS_RETENTION_HOURS", 7 * 24, 1, maxRetentionHours) * 3_600_000,
    eventsMaxWatchers: integer(env, "EVENTS_MAX_WATCHERS", 1000, 1, 100_000),
    logLevel: choice(env, "LOG_LEVEL", logLevels, "info"),
    logFormat: choice(env, "LOG_FORMAT", logFormats, stdoutIsTerminal && !production ? "pretty" : "json"),
  };
}
