import http from "node:http";
import { Code } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { adminToken, customerToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { holdCartLock } from "../support/row-locks.js";
import { startServer, type TestServer } from "../support/server.js";

const cartService = CartService.typeName;

/** One sample of the text exposition: `name{label="value",…} value`. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(text: string): Sample[] {
  return text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const [, name, labelText = "", value] = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)!;
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, text]) => [key!, text!]));
      return { name: name!, labels, value: Number(value) };
    });
}

/** The value of the sample `name` whose labels are exactly `labels`; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samples.find((sample) => sample.name === name && JSON.stringify(Object.entries(sample.labels).sort()) === wanted)?.value;
}

/** GET /metrics on a connection of its own (with workers, each new connection may reach another one). */
function scrape(server: TestServer): Promise<{ status: number; contentType: string | undefined; samples: Sample[] }> {
  return new Promise((resolve, reject) => {
    http
      .get(`${server.baseUrl}/metrics`, { agent: false }, (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (text += chunk));
        response.on("end", () =>
          resolve({ status: response.statusCode!, contentType: response.headers["content-type"], samples: parseExposition(text) }),
        );
      })
      .on("error", reject);
  });
}

/** One REST call on a connection of its own. */
function restCall(server: TestServer, method: string, path: string, headers: Record<string, string>, body?: object) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const request = http.request(`${server.baseUrl}${path}`, { method, headers: { ...headers, "content-type": "application/json" }, agent: false }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, body: text }));
    });
    request.on("error", reject);
    request.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function rpcLabels(method: string, protocol: string, service = cartService) {
  return { service, method, protocol };
}

function logLineOf(server: TestServer, requestId: string): Record<string, unknown> | undefined {
  return server.logs.find((entry) => entry.requestId === requestId);
}

async function waitForLogLine(server: TestServer, requestId: string): Promise<Record<string, unknown>> {
  await expect.poll(() => logLineOf(server, requestId), { timeout: 5_000 }).toBeDefined();
  return logLineOf(server, requestId)!;
}

describe("logs and metrics of one process", { timeout: 60_000 }, () => {
  let server: TestServer;
  let sql: postgres.Sql;
  const tokens: string[] = [adminToken];
  let aliceToken: string;
  let malloryToken: string;
  let cartId: string;

  beforeAll(async () => {
    // Long database timeouts: one test holds a cart's row lock while it looks at a call waiting for it.
    server = await startServer({ DB_LOCK_TIMEOUT_MS: "60000", DB_STATEMENT_TIMEOUT_MS: "60000" });
    sql = postgres(inject("databaseUrl"), { max: 2, onnotice: () => {} });
    aliceToken = await customerToken("obs-alice");
    malloryToken = await customerToken("obs-mallory");
    tokens.push(aliceToken, malloryToken);
    const catalog = clientFor(CatalogService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
    await catalog.upsertProduct({ product: { id: "obs-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 900n }] } });
    const grpcJs = grpcJsClient("CartService", server.port, aliceToken);
    try {
      const metadata = new grpc.Metadata();
      metadata.set("x-request-id", "obs-grpc-create");
      const created = await grpcJs.CreateCart({ customer_id: "obs-alice", items: [{ product_id: "obs-mug", quantity: 1 }] }, metadata);
      cartId = created.cart.id;
    } finally {
      grpcJs.close();
    }
  });

  afterAll(async () => {
    await sql?.end();
    await server?.stop();
  });

  it("logs one line per call with protocol, procedure, code, duration, request id and caller, never the token", async () => {
    const carts = clientFor(CartService, connectTransports(server.baseUrl, aliceToken)["connect+json (HTTP/1.1)"]!);
    await carts.getCart({ id: cartId }, { headers: { "x-request-id": "obs-connect-get" } });
    const webCarts = clientFor(CartService, connectTransports(server.baseUrl, aliceToken)["grpc-web (HTTP/1.1)"]!);
    await webCarts.getCart({ id: cartId }, { headers: { "x-request-id": "obs-grpc-web-get" } });
    const restGet = await restCall(server, "GET", `/v1/carts/${cartId}`, { authorization: `Bearer ${aliceToken}`, "x-request-id": "obs-rest-get" });
    expect(restGet.status).toBe(200);
    // Refused: another customer's cart, and no token at all.
    const denied = await restCall(server, "GET", `/v1/carts/${cartId}`, { authorization: `Bearer ${malloryToken}`, "x-request-id": "obs-rest-denied" });
    expect(denied.status).toBe(403);
    const anonymous = await restCall(server, "GET", `/v1/carts/${cartId}`, { "x-request-id": "obs-rest-anonymous" });
    expect(anonymous.status).toBe(401);

    const served = { level: "info", message: "request served", code: "OK", principal: "obs-alice" };
    const getCart = `${cartService}/GetCart`;
    expect(await waitForLogLine(server, "obs-grpc-create")).toMatchObject({ ...served, protocol: "grpc", procedure: `${cartService}/CreateCart` });
    expect(await waitForLogLine(server, "obs-connect-get")).toMatchObject({ ...served, protocol: "connect", procedure: getCart });
    expect(await waitForLogLine(server, "obs-grpc-web-get")).toMatchObject({ ...served, protocol: "grpc-web", procedure: getCart });
    expect(await waitForLogLine(server, "obs-rest-get")).toMatchObject({ ...served, protocol: "rest", procedure: getCart });
    expect(await waitForLogLine(server, "obs-rest-denied")).toMatchObject({
      level: "info",
      message: "request refused",
      protocol: "rest",
      procedure: getCart,
      code: "PermissionDenied",
      principal: "obs-mallory",
    });
    const anonymousLine = await waitForLogLine(server, "obs-rest-anonymous");
    expect(anonymousLine).toMatchObject({ message: "request refused", protocol: "rest", code: "Unauthenticated" });
    expect(anonymousLine).not.toHaveProperty("principal");
    for (const requestId of ["obs-grpc-create", "obs-connect-get", "obs-rest-get", "obs-rest-denied", "obs-rest-anonymous"]) {
      const { durationMs, time } = logLineOf(server, requestId)!;
      expect(durationMs, requestId).toBeTypeOf("number");
      expect(durationMs, requestId).toBeGreaterThanOrEqual(0);
      expect(new Date(String(time)).toISOString(), requestId).toBe(time);
    }
    const everything = JSON.stringify(server.logs);
    for (const token of tokens) {
      expect(everything).not.toContain(token);
      // Not even the signature or the payload of one.
      for (const part of token.split(".")) expect(everything).not.toContain(part);
    }
  });

  it("logs health checks only at debug level, refused ones too, but counts them", async () => {
    const health = clientFor(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
    await health.check({}, { headers: { "x-request-id": "obs-health" } });
    // Load balancers may ask for a service name the server does not know.
    await expect(health.check({ service: "obs.Unknown" }, { headers: { "x-request-id": "obs-health-unknown" } })).rejects.toMatchObject({
      code: Code.NotFound,
    });
    const { samples } = await scrape(server);
    expect(valueOf(samples, "cart_rpc_requests_total", { ...rpcLabels("Check", "grpc", Health.typeName), code: "OK" })).toBe(1);
    expect(valueOf(samples, "cart_rpc_requests_total", { ...rpcLabels("Check", "grpc", Health.typeName), code: "NotFound" })).toBe(1);
    // A call logged at info after them: its line comes after theirs would have.
    await clientFor(CatalogService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!)
      .getProduct({ id: "obs-mug" }, { headers: { "x-request-id": "obs-after-health" } });
    await waitForLogLine(server, "obs-after-health");
    expect(logLineOf(server, "obs-health")).toBeUndefined();
    expect(logLineOf(server, "obs-health-unknown")).toBeUndefined();
  });

  it("serves Prometheus metrics at GET /metrics without a token", async () => {
    const { status, contentType, samples } = await scrape(server);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    // The calls of the first test, by protocol and code.
    const requests = (method: string, protocol: string, code: string) =>
      valueOf(samples, "cart_rpc_requests_total", { ...rpcLabels(method, protocol), code });
    expect(requests("CreateCart", "grpc", "OK")).toBe(1);
    expect(requests("GetCart", "connect", "OK")).toBe(1);
    expect(requests("GetCart", "grpc-web", "OK")).toBe(1);
    expect(requests("GetCart", "rest", "OK")).toBe(1);
    expect(requests("GetCart", "rest", "PermissionDenied")).toBe(1);
    expect(requests("GetCart", "rest", "Unauthenticated")).toBe(1);
    expect(valueOf(samples, "cart_rpc_duration_seconds_count", rpcLabels("GetCart", "rest"))).toBe(3);
    expect(valueOf(samples, "cart_rpc_duration_seconds_bucket", { ...rpcLabels("GetCart", "rest"), le: "+Inf" })).toBe(3);
    expect(valueOf(samples, "cart_rpc_duration_seconds_sum", rpcLabels("GetCart", "rest"))).toBeGreaterThan(0);
    expect(valueOf(samples, "cart_rpc_in_flight", rpcLabels("GetCart", "rest"))).toBe(0);
    expect(valueOf(samples, "cart_db_pool_max_connections")).toBe(10);
    expect(valueOf(samples, "cart_db_transactions_in_flight")).toBe(0);
    // prom-client's process metrics.
    expect(valueOf(samples, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(valueOf(samples, "nodejs_eventloop_lag_seconds")).toBeTypeOf("number");

    const posted = await restCall(server, "POST", "/metrics", {});
    expect(posted.status).toBe(405);
  });

  it("counts the idempotency sweeper's passes (one at start-up)", async () => {
    await expect
      .poll(async () => valueOf((await scrape(server)).samples, "cart_sweeper_runs_total", { sweeper: "idempotency", outcome: "ok" }))
      .toBe(1);
    const { samples } = await scrape(server);
    expect(valueOf(samples, "cart_sweeper_duration_seconds_count", { sweeper: "idempotency" })).toBe(1);
    expect(valueOf(samples, "cart_sweeper_removed_total", { sweeper: "idempotency" })).toBeGreaterThanOrEqual(0);
  });

  it("counts idempotent replays, and says so in the log line", async () => {
    const carts = clientFor(CartService, connectTransports(server.baseUrl, aliceToken)["connect+json (HTTP/1.1)"]!);
    const request = { customerId: "obs-alice" };
    const replays = async () => valueOf((await scrape(server)).samples, "cart_idempotency_replays_total", { service: cartService, method: "CreateCart" });
    const headers = (requestId: string) => ({ "idempotency-key": "obs-replay-1", "x-request-id": requestId });
    const first = await carts.createCart(request, { headers: headers("obs-replay-first") });
    expect(await replays()).toBeUndefined();
    const retry = await carts.createCart(request, { headers: headers("obs-replay-retry") });
    expect(retry.cart?.id).toBe(first.cart?.id);
    expect(await replays()).toBe(1);
    expect(await waitForLogLine(server, "obs-replay-retry")).toMatchObject({ code: "OK", replayed: true });
    expect(logLineOf(server, "obs-replay-first")).not.toHaveProperty("replayed");
  });

  it("shows a call in flight, and its transaction, while it waits for a cart's row lock", async () => {
    const carts = clientFor(CartService, connectTransports(server.baseUrl, aliceToken)["connect+json (HTTP/1.1)"]!);
    const inFlight = async () => {
      const { samples } = await scrape(server);
      return [valueOf(samples, "cart_rpc_in_flight", rpcLabels("AddLineItem", "connect")), valueOf(samples, "cart_db_transactions_in_flight")];
    };
    const lock = await holdCartLock(sql, cartId);
    const call = carts.addLineItem({ cartId, productId: "obs-mug", quantity: 1 });
    try {
      await expect.poll(inFlight, { timeout: 10_000 }).toEqual([1, 1]);
    } finally {
      await lock.release();
    }
    expect((await call).cart?.items[0]?.quantity).toBe(2);
    expect(await inFlight()).toEqual([0, 0]);
  });
});

describe("metrics with WORKERS=2", { timeout: 60_000 }, () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ WORKERS: "2", LOG_LEVEL: "debug" });
  });

  afterAll(() => server?.stop());

  it("adds up every worker's metrics, whichever worker answers the scrape", async () => {
    // Each call on a new connection: the primary hands connections to the workers in turn.
    for (let i = 0; i < 6; i++) {
      const missing = await restCall(server, "GET", "/v1/products/obs-missing", { authorization: `Bearer ${adminToken}`, "x-request-id": `obs-workers-${i}` });
      expect(missing.status).toBe(404);
    }
    const answeredBy = new Set<unknown>();
    for (let i = 0; i < 6; i++) answeredBy.add((await waitForLogLine(server, `obs-workers-${i}`)).pid);
    expect(answeredBy.size).toBe(2);
    const labels = { service: CatalogService.typeName, method: "GetProduct", protocol: "rest", code: "NotFound" };
    for (let scrapes = 0; scrapes < 2; scrapes++) {
      const { status, samples } = await scrape(server);
      expect(status).toBe(200);
      expect(valueOf(samples, "cart_rpc_requests_total", labels)).toBe(6);
      expect(valueOf(samples, "cart_db_pool_max_connections")).toBe(20);
    }
  });

  it("logs health checks at LOG_LEVEL=debug", async () => {
    const health = clientFor(Health, createGrpcTransport({ baseUrl: server.baseUrl }));
    await health.check({}, { headers: { "x-request-id": "obs-workers-health" } });
    expect(await waitForLogLine(server, "obs-workers-health")).toMatchObject({
      level: "debug",
      protocol: "grpc",
      procedure: `${Health.typeName}/Check`,
      code: "OK",
    });
    await expect(health.check({ service: "obs.Unknown" }, { headers: { "x-request-id": "obs-workers-health-unknown" } })).rejects.toMatchObject({
      code: Code.NotFound,
    });
    expect(await waitForLogLine(server, "obs-workers-health-unknown")).toMatchObject({
      level: "debug",
      message: "request refused",
      procedure: `${Health.typeName}/Check`,
      code: "NotFound",
    });
  });
});
