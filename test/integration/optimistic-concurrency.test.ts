import { Code, ConnectError } from "@connectrpc/connect";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { adminToken, customerToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { startServer, type TestServer } from "../support/server.js";

let server: TestServer;
let sql: postgres.Sql;
const products = ["occ-a", "occ-b", "occ-c", "occ-d"];

beforeAll(async () => {
  server = await startServer();
  sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
  const catalog = clientFor(CatalogService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
  for (const [index, id] of products.entries()) {
    await catalog.upsertProduct({ product: { id, title: id, active: true, prices: [{ currency: "USD", amountCents: BigInt(100 + index) }] } });
  }
});

afterAll(async () => {
  await sql?.end();
  await server?.stop();
});

const carts = () => clientFor(CartService, connectTransports(server.baseUrl)["connect+proto (HTTP/2)"]!);

describe("optimistic concurrency", () => {
  it("lets exactly one of 20 updates carrying the same etag through", async () => {
    const { cart } = await carts().createCart({ customerId: "occ-race", items: [{ productId: "occ-a", quantity: 1 }] });
    const line = cart!.items[0]!;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, (_, index) =>
        carts().updateLineItem({ cartId: cart!.id, itemId: line.id, quantity: index + 2, etag: cart!.etag }),
      ),
    );
    const winners = outcomes.filter((outcome) => outcome.status === "fulfilled");
    expect(winners).toHaveLength(1);
    const { cart: current } = await carts().getCart({ id: cart!.id });
    for (const outcome of outcomes) {
      if (outcome.status === "fulfilled") continue;
      const error = ConnectError.from(outcome.reason);
      expect(error.code).toBe(Code.Aborted);
      expect(error.findDetails(ErrorInfoSchema)[0]?.metadata.current_etag).toBe(current!.etag);
    }
    expect(current?.items[0]?.quantity).toBe(winners[0]!.value.cart!.items[0]!.quantity);
  });

  it("refuses a stale etag and changes nothing", async () => {
    const { cart } = await carts().createCart({ customerId: "occ-stale" });
    const { cart: changed } = await carts().addLineItem({ cartId: cart!.id, productId: "occ-a", quantity: 1 });
    await expect(carts().addLineItem({ cartId: cart!.id, productId: "occ-b", quantity: 1, etag: cart!.etag })).rejects.toMatchObject({
      code: Code.Aborted,
    });
    await expect(
      carts().updateCart({ cart: { id: cart!.id, email: "x@example.com", etag: cart!.etag }, updateMask: { paths: ["email"] } }),
    ).rejects.toMatchObject({ code: Code.Aborted });
    const { cart: read } = await carts().getCart({ id: cart!.id });
    expect(read).toEqual(changed);
    const { cart: withFreshEtag } = await carts().addLineItem({ cartId: cart!.id, productId: "occ-b", quantity: 1, etag: changed!.etag });
    expect(withFreshEtag?.items).toHaveLength(2);
  });

  it("honours If-Match over REST with 409 for a stale etag", async () => {
    const { cart } = await carts().createCart({ customerId: "occ-rest" });
    const add = (etag: string) =>
      fetch(`${server.baseUrl}/v1/carts/${cart!.id}/items`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}`, "if-match": `"${etag}"` },
        body: JSON.stringify({ product_id: "occ-a", quantity: 1 }),
      });
    expect((await add(cart!.etag)).status).toBe(200);
    const stale = await add(cart!.etag);
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { error: string }).error).toBe("aborted");
  });

  it("keeps totals equal to the lines under 100 parallel mixed mutations from several clients", async () => {
    const owner = "occ-mixed";
    const { cart } = await carts().createCart({ customerId: owner });
    const ownerTransports = Object.values(connectTransports(server.baseUrl, await customerToken(owner)));
    const grpcJs = grpcJsClient("CartService", server.port);
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 100 }, async (_, index) => {
          const productId = products[index % products.length]!;
          if (index % 5 === 4) {
            const { cart: current } = await carts().getCart({ id: cart!.id });
            const line = current!.items.find((item) => item.productId === productId);
            if (!line) return;
            if (index % 2 === 0) await carts().removeLineItem({ cartId: cart!.id, itemId: line.id });
            else await carts().updateLineItem({ cartId: cart!.id, itemId: line.id, quantity: 3 });
            return;
          }
          if (index % 3 === 0) {
            await grpcJs.AddLineItem({ cart_id: cart!.id, product_id: productId, quantity: 1 });
            return;
          }
          const client = clientFor(CartService, ownerTransports[index % ownerTransports.length]!);
          await client.addLineItem({ cartId: cart!.id, productId, quantity: 1 });
        }),
      );
      // A line removed between the read and the change is the only acceptable refusal.
      for (const result of results) {
        if (result.status === "rejected") expect(ConnectError.from(result.reason).code).toBe(Code.NotFound);
      }
    } finally {
      grpcJs.close();
    }
    const [row] = await sql`
      select c.subtotal, c.total, c.item_quantity,
             coalesce(sum(l.quantity * l.unit_price), 0) as lines_total, coalesce(sum(l.quantity), 0) as lines_quantity
      from carts c left join line_items l on l.cart_id = c.id where c.id = ${cart!.id}
      group by c.id`;
    expect(row!.subtotal).toBe(row!.lines_total);
    expect(row!.total).toBe(row!.lines_total);
    expect(Number(row!.item_quantity)).toBe(Number(row!.lines_quantity));
  });
});
