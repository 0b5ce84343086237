import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";

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

  it.each([
    ["PORT", "http", /PORT must be an integer from 0 to 65535, got "http"/],
    ["PORT", "-1", /PORT must be an integer from 0 to 65535, got "-1"/],
    ["PORT", "65536", /PORT must be an integer from 0 to 65535, got "65536"/],
    ["PORT", "80.5", /PORT must be an integer/],
    ["DB_POOL_SIZE", "0", /DB_POOL_SIZE must be an integer ≥ 1, got "0"/],
    ["MAX_LINES_PER_CART", "lots", /MAX_LINES_PER_CART must be an integer ≥ 1, got "lots"/],
    ["MAX_LINE_QUANTITY", "1e400", /MAX_LINE_QUANTITY must be an integer ≥ 1/],
    ["READ_MAX_BYTES", "-5", /READ_MAX_BYTES must be an integer ≥ 1, got "-5"/],
    ["DEFAULT_CURRENCY", "usd", /DEFAULT_CURRENCY must be a supported ISO 4217 code such as USD, got "usd"/],
    ["DEFAULT_CURRENCY", "XTS", /DEFAULT_CURRENCY must be a supported ISO 4217 code such as USD, got "XTS"/],
    ["SEED_DEMO_PRODUCTS", "yes", /SEED_DEMO_PRODUCTS must be 1, true, 0 or false, got "yes"/],
    ["GRPC_SERVER", "grpc-js", /GRPC_SERVER must be "native" or "connect", got "grpc-js"/],
  ])("refuses %s=%s with a message naming the variable and the value", (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});
