import http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceError } from "@grpc/grpc-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { adminToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { restCall } from "../support/rest-client.js";
import { holdCartLock } from "../support/row-locks.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * A call's deadline is the caller's patience: any deadline is accepted, the
 * service's own work is bounded by the earlier of it and MAX_TIMEOUT_MS, and
 * DEADLINE_EXCEEDED answers only when that bound is reached.
 */

const hour = 3_600_000;

describe("long deadlines", { timeout: 60_000 }, () => {
  let server: TestServer;
  let cartId: string;

  beforeAll(async () => {
    server = await startServer({ MAX_TIMEOUT_MS: "10000" });
    const { cart } = await clientFor(CartService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!).createCart({
      customerId: "deadlines-long",
    });
    cartId = cart!.id;
  });

  afterAll(() => server?.stop());

  it.each(Object.keys(connectTransports("http://unused")))("serves calls with 30 s and 1 h deadlines over %s", async (name) => {
    const carts = clientFor(CartService, connectTransports(server.baseUrl)[name]!);
    for (const timeoutMs of [30_000, hour]) {
      expect((await carts.getCart({ id: cartId }, { timeoutMs })).cart?.id).toBe(cartId);
    }
  });

  it("serves calls with 30 s and 1 h deadlines over @grpc/grpc-js", async () => {
    const carts = grpcJsClient("CartService", server.port);
    try {
      for (const timeoutMs of [30_000, hour]) {
        expect((await carts.GetCart({ id: cartId }, undefined, { deadline: Date.now() + timeoutMs })).cart.id).toBe(cartId);
      }
    } finally {
      carts.close();
    }
  });

  it("serves deadlines beyond what a timer holds (connect-timeout-ms of 10 digits, grpc-timeout of 99999999 hours)", async () => {
    const connect = await fetch(`${server.baseUrl}/commerce.cart.v1.CartService/GetCart`, {
      method: "POST",
      headers: { "content-type": "application/json", "connect-timeout-ms": "9999999999", authorization: `Bearer ${adminToken}` },
      body: JSON.stringify({ id: cartId }),
    });
    expect(connect.status).toBe(200);
    const session = http2.connect(server.baseUrl);
    try {
      const stream = session.request({
        ":method": "POST",
        ":path": "/commerce.cart.v1.CartService/GetCart",
        "content-type": "application/grpc-web+proto",
        "grpc-timeout": "99999999H",
        authorization: `Bearer ${adminToken}`,
      });
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
      stream.on("data", () => {});
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("response", (received) => resolve(received)));
      expect(headers[":status"]).toBe(200);
    } finally {
      session.close();
    }
  });
});

describe("the service's bound on its own work", { timeout: 60_000 }, () => {
  const boundMs = 1000;
  let server: TestServer;
  let sql: postgres.Sql;
  let cartId: string;

  beforeAll(async () => {
    // Longer lock and statement timeouts than the bound: a call waiting on a held cart reaches the bound first.
    server = await startServer({ MAX_TIMEOUT_MS: String(boundMs), DB_LOCK_TIMEOUT_MS: "20000", DB_STATEMENT_TIMEOUT_MS: "20000" });
    sql = postgres(inject("databaseUrl"), { max: 2, onnotice: () => {} });
    const transport = connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!;
    await clientFor(CatalogService, transport).upsertProduct({
      product: { id: "deadline-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 500n }] },
    });
    cartId = (await clientFor(CartService, transport).createCart({ customerId: "deadlines-bound" })).cart!.id;
  });

  afterAll(async () => {
    await sql?.end();
    await server?.stop();
  });

  it("answers DEADLINE_EXCEEDED at MAX_TIMEOUT_MS to a call with a 1 h deadline that cannot finish, on every protocol", async () => {
    const lock = await holdCartLock(sql, cartId);
    try {
      const request = { cartId, productId: "deadline-mug", quantity: 1 };
      for (const [name, transport] of Object.entries(connectTransports(server.baseUrl))) {
        const error = await clientFor(CartService, transport)
          .addLineItem(request, { timeoutMs: hour })
          .then(() => expect.fail(`${name}: the call finished while the cart was locked`))
          .catch((caught: unknown) => ConnectError.from(caught));
        expect(error.code, name).toBe(Code.DeadlineExceeded);
      }
      const grpcJs = grpcJsClient("CartService", server.port);
      try {
        const failure = (await grpcJs
          .AddLineItem({ cart_id: cartId, product_id: "deadline-mug", quantity: 1 }, undefined, { deadline: Date.now() + hour })
          .then(() => expect.fail("the call finished while the cart was locked"))
          .catch((caught: unknown) => caught)) as ServiceError;
        expect(failure.code).toBe(Code.DeadlineExceeded);
      } finally {
        grpcJs.close();
      }
      const rest = await restCall(server.baseUrl, "POST", `/v1/carts/${cartId}/items`, { product_id: "deadline-mug", quantity: 1 });
      expect(rest.status).toBe(504);
      expect(rest.body.error).toBe("deadline_exceeded");
    } finally {
      await lock.release();
    }
  });
});
