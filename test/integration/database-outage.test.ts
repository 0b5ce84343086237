import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceError } from "@grpc/grpc-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { runMigrations } from "../../src/storage/database.js";
import { type EmbeddedServer, startEmbeddedPostgres } from "../../src/storage/embedded-postgres.js";
import { adminToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { grpcJsHealthClient } from "../support/health.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * The service against a PostgreSQL of its own, which the tests cut off and
 * stop: the run's shared database serves other test files at the same time.
 */
let dataDir: string;
let database: EmbeddedServer | undefined;
let port: number;
let server: TestServer;
let cartId: string;

/** A deadline far longer than an UNAVAILABLE answer takes: a call that hangs ends DEADLINE_EXCEEDED instead. */
const callOptions = { timeoutMs: 8_000 };

function startDatabase(): Promise<EmbeddedServer> {
  return startEmbeddedPostgres({ dataDir: path.join(dataDir, "data"), database: "cart_outage", persistent: true, port });
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "cart-outage-"));
  // As root the embedded server runs as a separate postgres user, which must reach the directory.
  await chmod(dataDir, 0o755);
  database = await startEmbeddedPostgres({ dataDir: path.join(dataDir, "data"), database: "cart_outage", persistent: true });
  port = Number(new URL(database.url).port);
  await runMigrations(database.url);
  server = await startServer({ DATABASE_URL: database.url });
  const transport = connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!;
  await clientFor(CatalogService, transport).upsertProduct({
    product: { id: "outage-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 900n }] },
  });
  const { cart } = await clientFor(CartService, transport).createCart({ customerId: "outage", items: [{ productId: "outage-mug", quantity: 2 }] });
  cartId = cart!.id;
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await database?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** GetCart over every Connect-ES transport and @grpc/grpc-js: the total, or the code it failed with. */
async function readEverywhere(): Promise<Record<string, bigint | Code | number>> {
  const outcomes: Record<string, bigint | Code | number> = {};
  for (const [name, transport] of Object.entries(connectTransports(server.baseUrl))) {
    outcomes[name] = await clientFor(CartService, transport)
      .getCart({ id: cartId }, callOptions)
      .then(({ cart }) => cart!.totalCents, (error: unknown) => ConnectError.from(error).code);
  }
  const grpcJs = grpcJsClient("CartService", server.port);
  try {
    outcomes["@grpc/grpc-js"] = await grpcJs.GetCart({ id: cartId }, undefined).then(
      ({ cart }) => BigInt(cart.total_cents),
      (error: ServiceError) => error.code as number as Code,
    );
  } finally {
    grpcJs.close();
  }
  const rest = await fetch(`${server.baseUrl}/v1/carts/${cartId}`, {
    headers: { authorization: `Bearer ${adminToken}` },
    signal: AbortSignal.timeout(callOptions.timeoutMs),
  });
  outcomes.rest = rest.ok ? BigInt(((await rest.json()) as { total_cents: string }).total_cents) : rest.status;
  return outcomes;
}

const readable: Record<string, bigint> = { ...Object.fromEntries(Object.keys(connectTransports("http://x")).map((name) => [name, 1800n])), "@grpc/grpc-js": 1800n, rest: 1800n };
const unavailable: Record<string, Code | number> = {
  ...Object.fromEntries(Object.keys(connectTransports("http://x")).map((name) => [name, Code.Unavailable])),
  "@grpc/grpc-js": Code.Unavailable,
  rest: 503,
};

async function readiness(): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${server.baseUrl}/readyz`);
  return { status: response.status, body: await response.json() };
}

describe("when the database goes away", { timeout: 120_000 }, () => {
  it("survives its connections being terminated: calls succeed again at once", async () => {
    expect(await readEverywhere()).toEqual(readable);
    const admin = postgres(database!.url, { max: 1, onnotice: () => {} });
    try {
      const terminated = await admin`
        select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and application_name = 'cart-service'`;
      expect(terminated.length).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    // A call on a connection whose end the driver has not noticed yet fails with UNAVAILABLE; the next ones reconnect.
    const first = await readEverywhere();
    for (const [name, outcome] of Object.entries(first)) expect([readable[name], unavailable[name]], name).toContain(outcome);
    await vi.waitFor(async () => expect(await readEverywhere()).toEqual(readable), { timeout: 10_000 });
  });

  it("answers UNAVAILABLE during an outage, reports it in health, and recovers by itself with the data intact", async () => {
    const health = grpcJsHealthClient(server.port);
    const watch = health.watch("");
    try {
      await vi.waitFor(() => expect(watch.statuses).toEqual(["SERVING"]));
      await database!.stop();
      database = undefined;

      // Not one call waits for its deadline: every protocol answers UNAVAILABLE (HTTP 503), however long the outage lasts.
      for (let round = 1; round <= 5; round++) expect(await readEverywhere(), `round ${round}`).toEqual(unavailable);
      await vi.waitFor(async () => expect(await readiness()).toEqual({ status: 503, body: { ready: false, draining: false, database: "unreachable" } }));
      expect(await health.check("")).toBe("NOT_SERVING");
      await vi.waitFor(() => expect(watch.statuses).toEqual(["SERVING", "NOT_SERVING"]));
      // The liveness probe does not ask for a restart: it would not bring the database back.
      expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);

      database = await startDatabase();
      await vi.waitFor(async () => expect(await readEverywhere()).toEqual(readable), { timeout: 20_000, interval: 200 });
      await vi.waitFor(async () => expect(await readiness()).toEqual({ status: 200, body: { ready: true, draining: false, database: "reachable" } }));
      await vi.waitFor(() => expect(watch.statuses).toEqual(["SERVING", "NOT_SERVING", "SERVING"]));
      // Writes work again too.
      const carts = clientFor(CartService, connectTransports(server.baseUrl)["connect+proto (HTTP/2)"]!);
      const { cart } = await carts.addLineItem({ cartId, productId: "outage-mug", quantity: 1 });
      expect(cart?.totalCents).toBe(2700n);
    } finally {
      watch.cancel();
      health.close();
    }
  });
});
