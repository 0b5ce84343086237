import { chmod, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { ServiceError } from "@grpc/grpc-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
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
/** The same for a burst of calls: long enough for every call to get its turn at a connection attempt, were they queued for one. */
const burstDeadlineMs = 20_000;

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
  server = await startServer({
    DATABASE_URL: database.url,
    // A pool far smaller than a burst, as at high request rates: calls queued for connection attempts (about two a
    // second per connection during an outage) would reach their deadline instead of failing fast.
    DB_POOL_SIZE: "2",
    MAX_TIMEOUT_MS: String(burstDeadlineMs),
  });
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

/** "<code>: <message>" of a failed call, or "ok". */
type Outcome = string;
const succeeded = (): Outcome => "ok";
/** A client's name, and how it makes a read or a write call. */
type BurstClient = [name: string, call: (write: boolean) => Promise<Outcome>];

/**
 * `count` concurrent calls spread over every Connect-ES transport, @grpc/grpc-js
 * and REST, GetCart and AddLineItem on each in turn, with a deadline of
 * `burstDeadlineMs`: for each, its client and outcome (REST's with the HTTP
 * status first, "TimeoutError" when it hit the deadline).
 */
async function burst(count: number): Promise<{ client: string; outcome: Outcome }[]> {
  const line = { productId: "outage-mug", quantity: 1 };
  const grpcJs = grpcJsClient("CartService", server.port);
  const calls: BurstClient[] = [
    ...Object.entries(connectTransports(server.baseUrl)).map(([name, transport]): BurstClient => {
      const carts = clientFor(CartService, transport);
      const options = { timeoutMs: burstDeadlineMs };
      return [
        name,
        (write) =>
          (write ? carts.addLineItem({ cartId, ...line }, options) : carts.getCart({ id: cartId }, options)).then(succeeded, (error: unknown) => {
            const { code, rawMessage } = ConnectError.from(error);
            return `${codeToString(code)}: ${rawMessage}`;
          }),
      ];
    }),
    [
      "@grpc/grpc-js",
      (write) => {
        const options = { deadline: Date.now() + burstDeadlineMs };
        const answer = write
          ? grpcJs.AddLineItem({ cart_id: cartId, product_id: line.productId, quantity: line.quantity }, undefined, options)
          : grpcJs.GetCart({ id: cartId }, undefined, options);
        return answer.then(succeeded, (error: ServiceError) => `${codeToString(error.code as number as Code)}: ${error.details}`);
      },
    ],
    [
      "rest",
      async (write) => {
        const response = await fetch(`${server.baseUrl}/v1/carts/${cartId}${write ? "/items" : ""}`, {
          method: write ? "POST" : "GET",
          headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
          ...(write && { body: JSON.stringify({ product_id: line.productId, quantity: line.quantity }) }),
          signal: AbortSignal.timeout(burstDeadlineMs),
        }).catch((error: Error) => error);
        if (response instanceof Error) return response.name;
        const body = (await response.json()) as { error?: string; message?: string };
        return response.ok ? succeeded() : `${response.status} ${body.error}: ${body.message}`;
      },
    ],
  ];
  try {
    return await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const [client, call] = calls[index % calls.length]!;
        // Each client's calls alternate between a read and a write.
        return { client, outcome: await call(Math.floor(index / calls.length) % 2 === 1) };
      }),
    );
  } finally {
    grpcJs.close();
  }
}

/** The services listed by gRPC server reflection, asked over gRPC. */
async function reflectedServices(): Promise<string[]> {
  const reflection = clientFor(ServerReflection, connectTransports(server.baseUrl)["grpc (connect-node, HTTP/2)"]!);
  async function* listServices() {
    yield { messageRequest: { case: "listServices" as const, value: "" } };
  }
  const names: string[] = [];
  for await (const { messageResponse } of reflection.serverReflectionInfo(listServices(), callOptions)) {
    if (messageResponse.case === "listServicesResponse") names.push(...messageResponse.value.service.map(({ name }) => name));
  }
  return names;
}

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

  it("refuses a burst of calls at once while the database is known to be down, and lets calls through again once it is back", async () => {
    const before = await readEverywhere();
    await database!.stop();
    database = undefined;
    // The outage is known once a readiness probe (or a call) failed on it.
    await vi.waitFor(async () => expect((await readiness()).status).toBe(503), { timeout: 10_000, interval: 200 });

    const outcomes = await burst(200);
    const refused = "unavailable: the database is unavailable; retry later";
    // Every call is refused, none succeeds and none waits for its deadline, whatever client and method.
    expect(outcomes.filter(({ client, outcome }) => outcome !== (client === "rest" ? `503 ${refused}` : refused))).toEqual([]);
    expect(outcomes).toHaveLength(200);
    // The Store API reads its publishable key outside the interceptor chain, and refuses as fast.
    const storeRead = await fetch(`${server.baseUrl}/store/carts/${cartId}`, {
      headers: { "x-publishable-api-key": `pk_${"0".repeat(64)}` },
      signal: AbortSignal.timeout(callOptions.timeoutMs),
    });
    expect(storeRead.status).toBe(503);
    expect(await storeRead.json()).toEqual({ code: "api_error", type: "unexpected_state", message: "the database is unavailable; retry later" });
    expect(await metric("cart_db_available")).toBe("0");
    // Reflection needs no database and answers meanwhile (health does too, with NOT_SERVING: see above).
    expect(await reflectedServices()).toContain(CartService.typeName);

    database = await startDatabase();
    // No restart needed: calls are let through again after a bounded number of retries, and nothing was written meanwhile.
    await vi.waitFor(async () => expect(await readEverywhere()).toEqual(before), { timeout: 20_000, interval: 200 });
    expect(await metric("cart_db_available")).toBe("1");
  });
});

/** The value of an unlabelled metric in the service's Prometheus exposition. */
async function metric(name: string): Promise<string | undefined> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  return new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1];
}
