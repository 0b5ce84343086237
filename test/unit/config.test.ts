import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("loadConfig", () => {
  it("has working defaults for an empty environment", () => {
    expect(loadConfig({})).toMatchObject({
      host: "0.0.0.0",
      port: 8080,
      databaseUrl: undefined,
      dataDir: ".data",
      defaultCurrency: "USD",
      maxLinesPerCart: 100,
      maxLineQuantity: 10_000,
      seedDemoProducts: false,
      grpcServer: "native",
    });
  });

  it("reads the values it is given, and treats empty ones as unset", () => {
    const config = loadConfig({
      PORT: "0",
      DATABASE_URL: "postgres://db/cart",
      DATA_DIR: "/var/lib/cart",
      DEFAULT_CURRENCY: "JPY",
      MAX_LINES_PER_CART: "5",
      MAX_LINE_QUANTITY: "99",
      SEED_DEMO_PRODUCTS: "true",
      GRPC_SERVER: "connect",
    });
    expect(config).toMatchObject({
      port: 0,
      databaseUrl: "postgres://db/cart",
      dataDir: "/var/lib/cart",
      defaultCurrency: "JPY",
      maxLinesPerCart: 5,
      maxLineQuantity: 99,
      seedDemoProducts: true,
      grpcServer: "connect",
    });
    expect(loadConfig({ DATABASE_URL: "", PORT: "", SEED_DEMO_PRODUCTS: "0" })).toMatchObject({
      databaseUrl: undefined,
      port: 8080,
      seedDemoProducts: false,
    });
  });

  it("gives calls 10 s to finish at shutdown by default, SHUTDOWN_GRACE_MS otherwise (0: none), never a negative time", () => {
    expect(loadConfig({}).shutdownGraceMs).toBe(10_000);
    expect(loadConfig({ SHUTDOWN_GRACE_MS: "30000" }).shutdownGraceMs).toBe(30_000);
    expect(loadConfig({ SHUTDOWN_GRACE_MS: "0" }).shutdownGraceMs).toBe(0);
    expect(loadConfig({ SHUTDOWN_GRACE_MS: "3600000" }).shutdownGraceMs).toBe(3_600_000);
    expect(() => loadConfig({ SHUTDOWN_GRACE_MS: "-1" })).toThrow('SHUTDOWN_GRACE_MS must be an integer from 0 to 3600000, got "-1"');
  });

  it("bounds connections by default, and reads the connection limits it is given", () => {
    expect(loadConfig({})).toMatchObject({
      maxConnections: 4096,
      protocolDetectionTimeoutMs: 5000,
      http1HeadersTimeoutMs: 10_000,
      http1RequestTimeoutMs: 30_000,
      http2IdleTimeoutMs: 60_000,
    });
    const env = {
      MAX_CONNECTIONS: "100",
      PROTOCOL_DETECTION_TIMEOUT_MS: "1000",
      HTTP1_HEADERS_TIMEOUT_MS: "2000",
      HTTP1_REQUEST_TIMEOUT_MS: "2000",
      HTTP2_IDLE_TIMEOUT_MS: "300000",
    };
    expect(loadConfig(env)).toMatchObject({
      maxConnections: 100,
      protocolDetectionTimeoutMs: 1000,
      http1HeadersTimeoutMs: 2000,
      http1RequestTimeoutMs: 2000,
      http2IdleTimeoutMs: 300_000,
    });
  });

  it("reads CORS_ORIGINS as origins spelled the way browsers send them", () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
    expect(loadConfig({ CORS_ORIGINS: " HTTPS://Shop.Example.com/ , http://localhost:5173,https://a.example:443" }).corsOrigins).toEqual([
      "https://shop.example.com",
      "http://localhost:5173",
      "https://a.example",
    ]);
    expect(loadConfig({ CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
  });

  it("reads the cart lifetimes and the expiry sweeper's settings; a retention of 0 keeps expired carts", () => {
    expect(loadConfig({})).toMatchObject({
      cartLifetimeMs: 30 * 24 * 3_600_000,
      emptyCartLifetimeMs: 6 * 3_600_000,
      cartSweepIntervalMs: 60_000,
      cartSweepBatchSize: 500,
      expiredCartRetentionMs: undefined,
    });
    expect(
      loadConfig({
        CART_TTL_HOURS: "48",
        EMPTY_CART_TTL_HOURS: "1",
        CART_SWEEP_INTERVAL_SECONDS: "5",
        CART_SWEEP_BATCH_SIZE: "50",
        EXPIRED_CART_RETENTION_DAYS: "90",
      }),
    ).toMatchObject({
      cartLifetimeMs: 48 * 3_600_000,
      emptyCartLifetimeMs: 3_600_000,
      cartSweepIntervalMs: 5000,
      cartSweepBatchSize: 50,
      expiredCartRetentionMs: 90 * 86_400_000,
    });
    expect(loadConfig({ EXPIRED_CART_RETENTION_DAYS: "0" }).expiredCartRetentionMs).toBeUndefined();
    expect(loadConfig({ CART_TTL_HOURS: "87600" }).cartLifetimeMs).toBe(10 * 365 * 24 * 3_600_000);
  });

  it.each([
    ["PORT", "http", /PORT must be an integer from 0 to 65535, got "http"/],
    ["PORT", "-1", /PORT must be an integer from 0 to 65535, got "-1"/],
    ["PORT", "65536", /PORT must be an integer from 0 to 65535, got "65536"/],
    ["PORT", "80.5", /PORT must be an integer/],
    ["DB_POOL_SIZE", "0", /DB_POOL_SIZE must be an integer ≥ 1, got "0"/],
    ["MAX_LINES_PER_CART", "lots", /MAX_LINES_PER_CART must be an integer ≥ 1, got "lots"/],
    ["MAX_LINE_QUANTITY", "1e400", /MAX_LINE_QUANTITY must be an integer ≥ 1/],
    ["READ_MAX_BYTES", "-5", /READ_MAX_BYTES must be an integer ≥ 1, got "-5"/],
    ["CART_TTL_HOURS", "0", /CART_TTL_HOURS must be an integer from 1 to 87600, got "0"/],
    // Beyond these, an expiry or retention date would not be a valid date, and every write or sweep would fail.
    ["CART_TTL_HOURS", "87601", /CART_TTL_HOURS must be an integer from 1 to 87600, got "87601"/],
    ["EMPTY_CART_TTL_HOURS", "1000000000000", /EMPTY_CART_TTL_HOURS must be an integer from 1 to 87600, got "1000000000000"/],
    ["IDEMPOTENCY_RETENTION_HOURS", "87601", /IDEMPOTENCY_RETENTION_HOURS must be an integer from 1 to 87600, got "87601"/],
    // Beyond 2^31-1 ms a timer fires at once: the grace period, or a call's deadline, would be about 1 ms.
    ["SHUTDOWN_GRACE_MS", "2147483648", /SHUTDOWN_GRACE_MS must be an integer from 0 to 3600000, got "2147483648"/],
    ["SHUTDOWN_GRACE_MS", "3600001", /SHUTDOWN_GRACE_MS must be an integer from 0 to 3600000, got "3600001"/],
    ["MAX_TIMEOUT_MS", "2147483648", /MAX_TIMEOUT_MS must be an integer from 1 to 3600000, got "2147483648"/],
    ["MAX_CONNECTIONS", "0", /MAX_CONNECTIONS must be an integer from 1 to 1000000, got "0"/],
    ["PROTOCOL_DETECTION_TIMEOUT_MS", "99", /PROTOCOL_DETECTION_TIMEOUT_MS must be an integer from 100 to 60000, got "99"/],
    ["HTTP1_HEADERS_TIMEOUT_MS", "600001", /HTTP1_HEADERS_TIMEOUT_MS must be an integer from 100 to 600000, got "600001"/],
    ["HTTP1_HEADERS_TIMEOUT_MS", "40000", /HTTP1_HEADERS_TIMEOUT_MS \(40000\) must not exceed HTTP1_REQUEST_TIMEOUT_MS \(30000\)/],
    ["HTTP1_REQUEST_TIMEOUT_MS", "0", /HTTP1_REQUEST_TIMEOUT_MS must be an integer from 100 to 600000, got "0"/],
    ["HTTP2_IDLE_TIMEOUT_MS", "3600001", /HTTP2_IDLE_TIMEOUT_MS must be an integer from 100 to 3600000, got "3600001"/],
    ["CART_SWEEP_INTERVAL_SECONDS", "86401", /CART_SWEEP_INTERVAL_SECONDS must be an integer from 1 to 86400, got "86401"/],
    ["CART_SWEEP_BATCH_SIZE", "0", /CART_SWEEP_BATCH_SIZE must be an integer from 1 to 10000, got "0"/],
    ["EXPIRED_CART_RETENTION_DAYS", "-1", /EXPIRED_CART_RETENTION_DAYS must be an integer from 0 to 36500, got "-1"/],
    ["DEFAULT_CURRENCY", "usd", /DEFAULT_CURRENCY must be a supported ISO 4217 code such as USD, got "usd"/],
    ["DEFAULT_CURRENCY", "XTS", /DEFAULT_CURRENCY must be a supported ISO 4217 code such as USD, got "XTS"/],
    ["SEED_DEMO_PRODUCTS", "yes", /SEED_DEMO_PRODUCTS must be 1, true, 0 or false, got "yes"/],
    ["GRPC_SERVER", "grpc-js", /GRPC_SERVER must be one of native, connect, got "grpc-js"/],
    ["DATABASE_URL", "localhost:5432/cart", /DATABASE_URL must be a URL such as postgres:\/\/user:password@host:5432\/database/],
    ["DATABASE_URL", "mysql://db/cart", /DATABASE_URL must be a URL such as postgres:/],
    ["DB_TRANSACTION_POOLING", "on", /DB_TRANSACTION_POOLING must be 1, true, 0 or false, got "on"/],
    ["LOG_LEVEL", "verbose", /LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "verbose"/],
    ["LOG_LEVEL", "INFO", /LOG_LEVEL must be one of .* got "INFO"/],
    ["LOG_FORMAT", "text", /LOG_FORMAT must be one of json, pretty, got "text"/],
    ["CORS_ORIGINS", "https://shop.example.com/cart", /CORS_ORIGINS entries must be origins .* got "https:\/\/shop.example.com\/cart"/],
    ["CORS_ORIGINS", "shop.example.com", /CORS_ORIGINS entries must be origins .* got "shop.example.com"/],
    ["CORS_ORIGINS", "ftp://files.example.com", /CORS_ORIGINS entries must be origins/],
    ["CORS_ORIGINS", "https://shop.example.com,*", /CORS_ORIGINS must be "\*" alone or a list of origins/],
    ["EVENTS_NATS_URL", "http://127.0.0.1:4222", /EVENTS_NATS_URL must be up to 16 comma-separated URLs such as nats:\/\/127.0.0.1:4222, got "http:/],
    ["EVENTS_NATS_URL", "127.0.0.1:4222", /EVENTS_NATS_URL must be up to 16 comma-separated URLs/],
    ["EVENTS_NATS_STREAM", "cart.events", /EVENTS_NATS_STREAM must be 1-64 letters, digits, '_' or '-', got "cart.events"/],
    ["EVENTS_NATS_SUBJECT_PREFIX", "cart.>", /EVENTS_NATS_SUBJECT_PREFIX must be up to 100 characters: dot-separated tokens .* got "cart.>"/],
    ["EVENTS_NATS_SUBJECT_PREFIX", "cart..events", /EVENTS_NATS_SUBJECT_PREFIX must be up to 100 characters/],
    ["EVENTS_NATS_FORMAT", "xml", /EVENTS_NATS_FORMAT must be one of json, protobuf, got "xml"/],
    ["EVENTS_RELAY_BATCH_SIZE", "1001", /EVENTS_RELAY_BATCH_SIZE must be an integer from 1 to 1000, got "1001"/],
    ["EVENTS_RETENTION_HOURS", "0", /EVENTS_RETENTION_HOURS must be an integer from 1 to 87600, got "0"/],
  ])("refuses %s=%s with a message naming the variable and the value", (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});

describe("event configuration", () => {
  it("runs no relay without EVENTS_NATS_URL and keeps events 7 days by default", () => {
    expect(loadConfig({})).toMatchObject({ eventsNats: undefined, eventsRetentionMs: 7 * 24 * 3_600_000 });
  });

  it("relays to the servers of EVENTS_NATS_URL, with defaults for the stream, the subjects, the format and the batch", () => {
    expect(loadConfig({ EVENTS_NATS_URL: "nats://127.0.0.1:4222" }).eventsNats).toEqual({
      servers: ["nats://127.0.0.1:4222"],
      stream: "CART_EVENTS",
      subjectPrefix: "cart.events",
      format: "json",
      batchSize: 100,
    });
    const config = loadConfig({
      EVENTS_NATS_URL: "nats://a:4222, tls://b:4443",
      EVENTS_NATS_STREAM: "SHOP_CARTS",
      EVENTS_NATS_SUBJECT_PREFIX: "shop.eu-1.carts",
      EVENTS_NATS_FORMAT: "protobuf",
      EVENTS_RELAY_BATCH_SIZE: "1000",
      EVENTS_RETENTION_HOURS: "24",
    });
    expect(config.eventsNats).toEqual({
      servers: ["nats://a:4222", "tls://b:4443"],
      stream: "SHOP_CARTS",
      subjectPrefix: "shop.eu-1.carts",
      format: "protobuf",
      batchSize: 1000,
    });
    expect(config.eventsRetentionMs).toBe(24 * 3_600_000);
  });
});

describe("logging configuration", () => {
  const production = { NODE_ENV: "production", AUTH_JWKS: "/etc/jwks.json", AUTH_ISSUER: "https://issuer" };

  it("logs at info by default, and at the LOG_LEVEL given", () => {
    expect(loadConfig({}, false).logLevel).toBe("info");
    expect(loadConfig({ LOG_LEVEL: "" }, false).logLevel).toBe("info");
    expect(loadConfig({ LOG_LEVEL: "debug" }, false).logLevel).toBe("debug");
    expect(loadConfig({ LOG_LEVEL: "silent" }, false).logLevel).toBe("silent");
  });

  it("writes pretty lines to a terminal outside production, JSON lines everywhere else", () => {
    expect(loadConfig({}, true).logFormat).toBe("pretty");
    expect(loadConfig({}, false).logFormat).toBe("json");
    expect(loadConfig(production, true).logFormat).toBe("json");
  });

  it("lets LOG_FORMAT override the choice", () => {
    expect(loadConfig({ LOG_FORMAT: "json" }, true).logFormat).toBe("json");
    expect(loadConfig({ LOG_FORMAT: "pretty" }, false).logFormat).toBe("pretty");
    expect(loadConfig({ ...production, LOG_FORMAT: "pretty" }, false).logFormat).toBe("pretty");
  });

  it("names every invalid variable at once, and never a database password", () => {
    const error = (() => {
      try {
        loadConfig({ PORT: "http", DB_POOL_SIZE: "0", LOG_LEVEL: "loud", DATABASE_URL: "secret-password@db" });
      } catch (thrown) {
        return thrown as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'PORT must be an integer from 0 to 65535, got "http"',
      expect.stringMatching(/^DATABASE_URL must be a URL such as postgres:/),
      'DB_POOL_SIZE must be an integer ≥ 1, got "0"',
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"',
    ]);
    expect(error!.message).not.toContain("secret-password");
  });

  it("accepts PostgreSQL URLs as postgres.js reads them, and DB_TRANSACTION_POOLING for a pooler in transaction mode", () => {
    for (const url of ["postgres://db/cart", "postgresql://u:p@db:6432/cart?sslmode=require", "postgres://cart@/cart?host=/run/postgresql"]) {
      expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
    }
    expect(loadConfig({}).dbTransactionPooling).toBe(false);
    expect(loadConfig({ DB_TRANSACTION_POOLING: "true" }).dbTransactionPooling).toBe(true);
  });
});
