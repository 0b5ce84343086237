import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { connectDatabase, type Database } from "../../src/storage/database.js";
import { IdempotencyRepository } from "../../src/storage/idempotency-repository.js";
import { adminToken, customerToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { startServer, type TestServer } from "../support/server.js";

let server: TestServer;
let sql: postgres.Sql;

beforeAll(async () => {
  server = await startServer();
  sql = postgres(inject("databaseUrl"), { max: 2, onnotice: () => {} });
  const catalog = clientFor(CatalogService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
  await catalog.upsertProduct({
    product: { id: "idem-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 700n }] },
  });
});

afterAll(async () => {
  await sql?.end();
  await server?.stop();
});

const carts = () => clientFor(CartService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);

/** A raw Connect JSON call, to compare response bytes. */
async function rawCall(procedure: string, body: object, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.baseUrl}/commerce.cart.v1.CartService/${procedure}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

async function cartCount(customerId: string): Promise<number> {
  const [row] = await sql`select count(*)::int as n from carts where customer_id = ${customerId}`;
  return row!.n as number;
}

describe("idempotent retries", () => {
  it("replays the first response byte for byte and executes once", async () => {
    const request = { customerId: "idem-replay", items: [{ productId: "idem-mug", quantity: 2 }] };
    const first = await rawCall("CreateCart", request, { "idempotency-key": "replay-1" });
    const retry = await rawCall("CreateCart", request, { "idempotency-key": "replay-1" });
    expect(first.status).toBe(200);
    expect(retry.body).toBe(first.body);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await cartCount("idem-replay")).toBe(1);
  });

  it("replays across protocols, keyed by request_id, without bumping the cart again", async () => {
    const { cart } = await carts().createCart({ customerId: "idem-cross" });
    const grpcJs = grpcJsClient("CartService", server.port);
    try {
      const viaGrpc = await grpcJs.AddLineItem({ cart_id: cart!.id, product_id: "idem-mug", quantity: 3, request_id: "cross-1" });
      const viaConnect = await carts().addLineItem({ cartId: cart!.id, productId: "idem-mug", quantity: 3, requestId: "cross-1" });
      expect(viaConnect.cart?.etag).toBe(viaGrpc.cart.etag);
      expect(viaConnect.cart?.items[0]?.quantity).toBe(3);
      const { cart: read } = await carts().getCart({ id: cart!.id });
      expect(read?.etag).toBe(viaGrpc.cart.etag);
      expect(read?.items[0]?.quantity).toBe(3);
    } finally {
      grpcJs.close();
    }
  });

  it("executes 20 parallel requests with one key once", async () => {
    const { cart } = await carts().createCart({ customerId: "idem-parallel" });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        carts().addLineItem({ cartId: cart!.id, productId: "idem-mug", quantity: 1 }, { headers: { "idempotency-key": "parallel-1" } }),
      ),
    );
    const succeeded = outcomes.filter((outcome) => outcome.status === "fulfilled");
    const refused = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [ConnectError.from(outcome.reason)] : []));
    expect(succeeded.length).toBeGreaterThanOrEqual(1);
    expect(refused.every((error) => error.code === Code.Aborted)).toBe(true);
    const { cart: read } = await carts().getCart({ id: cart!.id });
    expect(read?.items[0]?.quantity).toBe(1);
    for (const outcome of succeeded) expect(outcome.value.cart?.etag).toBe(read?.etag);
  });

  it("refuses the same key with a different request", async () => {
    const { cart } = await carts().createCart({ customerId: "idem-mismatch" });
    await carts().addLineItem({ cartId: cart!.id, productId: "idem-mug", quantity: 1, requestId: "mismatch-1" });
    const error = await carts()
      .addLineItem({ cartId: cart!.id, productId: "idem-mug", quantity: 5, requestId: "mismatch-1" })
      .catch((caught: unknown) => ConnectError.from(caught));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).rawMessage).toMatch(/different request/);
  });

  it("refuses a header key and a request_id that differ", async () => {
    const answer = await rawCall("CreateCart", { customerId: "idem-two-keys", requestId: "a" }, { "idempotency-key": "b" });
    expect(answer.status).toBe(400);
    expect(await cartCount("idem-two-keys")).toBe(0);
  });

  it("does not store failures: a retry after the cause is fixed executes", async () => {
    const { cart } = await carts().createCart({ customerId: "idem-failure" });
    const request = { cartId: cart!.id, productId: "idem-late", quantity: 1, requestId: "failure-1" };
    await expect(carts().addLineItem(request)).rejects.toMatchObject({ code: Code.NotFound });
    const catalog = clientFor(CatalogService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
    await catalog.upsertProduct({ product: { id: "idem-late", title: "Late", active: true, prices: [{ currency: "USD", amountCents: 5n }] } });
    const { cart: added } = await carts().addLineItem(request);
    expect(added?.items.map((item) => item.productId)).toEqual(["idem-late"]);
  });

  it("scopes keys to the principal: another customer's key does not replay their response", async () => {
    const bob = clientFor(CartService, connectTransports(server.baseUrl, await customerToken("idem-bob"))["connect+json (HTTP/1.1)"]!);
    const alice = clientFor(CartService, connectTransports(server.baseUrl, await customerToken("idem-alice"))["connect+json (HTTP/1.1)"]!);
    const { cart: bobs } = await bob.createCart({ customerId: "idem-bob", requestId: "shared-key" });
    const { cart: alices } = await alice.createCart({ customerId: "idem-alice", requestId: "shared-key" });
    expect(alices?.id).not.toBe(bobs?.id);
    expect(alices?.customerId).toBe("idem-alice");
  });

  it("honours the key over native gRPC metadata", async () => {
    const grpcJs = grpcJsClient("CartService", server.port);
    try {
      const metadata = () => {
        const value = new grpc.Metadata();
        value.set("idempotency-key", "grpc-meta-1");
        return value;
      };
      const first = await grpcJs.CreateCart({ customer_id: "idem-grpc-meta" }, metadata());
      const retry = await grpcJs.CreateCart({ customer_id: "idem-grpc-meta" }, metadata());
      expect(retry.cart.id).toBe(first.cart.id);
      expect(await cartCount("idem-grpc-meta")).toBe(1);
    } finally {
      grpcJs.close();
    }
  });
});

describe("idempotency records over time", () => {
  let database: Database;
  const retentionMs = 24 * 3_600_000;
  const scope = { principal: "idem-clock", method: "/test/Method", key: "clock-1" };

  beforeAll(() => {
    database = connectDatabase({ url: inject("databaseUrl"), poolSize: 2, statementTimeoutMs: 5000, lockTimeoutMs: 3000 });
  });
  afterAll(() => database?.close());

  it("replays within the retention window and forgets after it", async () => {
    const records = new IdempotencyRepository(database.sql, { retentionMs, leaseMs: 60_000 });
    const start = new Date("2030-01-01T00:00:00Z");
    expect(await records.claim(scope, "hash", start)).toEqual({ kind: "claimed" });
    expect(await records.claim(scope, "hash", new Date(start.getTime() + 1000))).toEqual({ kind: "running" });
    await records.complete(scope, new Uint8Array([1, 2, 3]));
    const withinWindow = new Date(start.getTime() + retentionMs - 1000);
    expect(await records.claim(scope, "hash", withinWindow)).toEqual({ kind: "replay", response: Buffer.from([1, 2, 3]) });
    expect(await records.claim(scope, "other", withinWindow)).toEqual({ kind: "mismatch" });
    const afterWindow = new Date(start.getTime() + retentionMs + 1000);
    expect(await records.deleteExpired(afterWindow)).toBeGreaterThanOrEqual(1);
    expect(await records.claim(scope, "other", afterWindow)).toEqual({ kind: "claimed" });
  });

  it("lets a retry take over a claim whose process died", async () => {
    const records = new IdempotencyRepository(database.sql, { retentionMs, leaseMs: 60_000 });
    const abandoned = { ...scope, key: "abandoned-1" };
    const start = new Date("2030-02-01T00:00:00Z");
    expect(await records.claim(abandoned, "hash", start)).toEqual({ kind: "claimed" });
    expect(await records.claim(abandoned, "hash", new Date(start.getTime() + 61_000))).toEqual({ kind: "claimed" });
  });
});
