import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { startServer, type TestServer } from "../support/server.js";

// gRPC clients are served by @grpc/grpc-js ("native") or by connect-node; the whole matrix runs against both.
describe.each(["native", "connect"])("with GRPC_SERVER=%s", (grpcServer) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer({ GRPC_SERVER: grpcServer });
    const catalog = clientFor(CatalogService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
    await catalog.upsertProduct({
      product: { id: "flow-mug", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 1299n }] },
    });
    await catalog.upsertProduct({
      product: { id: "flow-tee", title: "Tee", active: true, prices: [{ currency: "USD", amountCents: 2500n }] },
    });
  });

  afterAll(() => server?.stop());

  describe.each(["connect+json (HTTP/1.1)", "connect+proto (HTTP/2)", "grpc-web (HTTP/1.1)", "grpc (connect-node, HTTP/2)"])(
    "cart flow over %s",
    (name) => {
      it("creates, adds, merges, updates, removes and reads back", async () => {
        const carts = clientFor(CartService, connectTransports(server.baseUrl)[name]!);
        const { cart: created } = await carts.createCart({ customerId: `flow-${grpcServer}-${name}` });
        expect(created?.status).toBe(CartStatus.ACTIVE);
        expect(created?.currency).toBe("USD");
        expect(created?.totalCents).toBe(0n);

        await carts.addLineItem({ cartId: created!.id, productId: "flow-mug", quantity: 2 });
        const { cart: merged } = await carts.addLineItem({ cartId: created!.id, productId: "flow-mug", quantity: 1 });
        expect(merged?.items).toHaveLength(1);
        expect(merged?.items[0]).toMatchObject({ productId: "flow-mug", quantity: 3, unitPriceCents: 1299n, subtotalCents: 3897n });

        const { cart: two } = await carts.addLineItem({ cartId: created!.id, productId: "flow-tee", quantity: 1 });
        expect(two?.totalCents).toBe(3897n + 2500n);
        const mugLine = two!.items.find((item) => item.productId === "flow-mug")!;
        const teeLine = two!.items.find((item) => item.productId === "flow-tee")!;

        const { cart: updated } = await carts.updateLineItem({ cartId: created!.id, itemId: mugLine.id, quantity: 5 });
        expect(updated?.totalCents).toBe(5n * 1299n + 2500n);

        const { cart: removed } = await carts.removeLineItem({ cartId: created!.id, itemId: teeLine.id });
        expect(removed?.items.map((item) => item.productId)).toEqual(["flow-mug"]);

        const { cart: read } = await carts.getCart({ id: created!.id });
        expect(read).toEqual(removed);
        expect(read?.subtotalCents).toBe(5n * 1299n);
        expect(read?.etag).not.toBe(created?.etag);
      });
    },
  );

  describe("cart flow over @grpc/grpc-js", () => {
    it("creates, adds, merges, updates, removes and reads back", async () => {
      const carts = grpcJsClient("CartService", server.port);
      try {
        const { cart: created } = await carts.CreateCart({ customer_id: `flow-${grpcServer}-grpc-js`, currency: "USD" });
        expect(created).toMatchObject({ status: "CART_STATUS_ACTIVE", total_cents: "0" });
        await carts.AddLineItem({ cart_id: created.id, product_id: "flow-mug", quantity: 2 });
        const { cart: merged } = await carts.AddLineItem({ cart_id: created.id, product_id: "flow-mug", quantity: 1 });
        expect(merged.items).toHaveLength(1);
        expect(merged.items[0]).toMatchObject({ quantity: 3, unit_price_cents: "1299" });
        const { cart: two } = await carts.AddLineItem({ cart_id: created.id, product_id: "flow-tee", quantity: 1 });
        const tee = two.items.find((item: { product_id: string }) => item.product_id === "flow-tee");
        await carts.UpdateLineItem({ cart_id: created.id, item_id: merged.items[0].id, quantity: 4 });
        const { cart: removed } = await carts.RemoveLineItem({ cart_id: created.id, item_id: tee.id });
        const { cart: read } = await carts.GetCart({ id: created.id });
        expect(read).toEqual(removed);
        expect(read.total_cents).toBe(String(4 * 1299));
      } finally {
        carts.close();
      }
    });
  });
});
