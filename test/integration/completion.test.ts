import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import type { ServiceError } from "@grpc/grpc-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { Cart } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { OrderStatus } from "../../gen/commerce/cart/v1/order_pb.js";
import { OrderService } from "../../gen/commerce/cart/v1/order_service_pb.js";
import { PromotionTarget } from "../../gen/commerce/cart/v1/promotion_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { adminToken, token } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient } from "../support/grpc-js-client.js";
import { restCall } from "../support/rest-client.js";
import { connectErrorOfGrpcJs, refusal } from "../support/rpc-errors.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * CompleteCart and OrderService through the real protocols and a real
 * PostgreSQL. Every customer, product and promotion id starts with
 * "completion-", so the snapshots see only this file's rows.
 */

let server: TestServer;
let sql: postgres.Sql;

const transport = (name = "connect+json (HTTP/1.1)", bearerToken = adminToken): Transport =>
  connectTransports(server.baseUrl, bearerToken)[name]!;
const carts = (name?: string) => clientFor(CartService, transport(name));
const orders = (name?: string) => clientFor(OrderService, transport(name));
const catalog = () => clientFor(CatalogService, transport());
const store = () => clientFor(StoreConfigService, transport());

const rest = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  restCall(server.baseUrl, method, path, body, headers);

/** This file's carts, lines, orders and promotion uses as stored, for "nothing changed" checks. */
async function snapshot() {
  const [state] = await sql`
    select
      (select json_agg(c order by c.id) from carts c where c.customer_id like 'completion-%') as carts,
      (select json_agg(l order by l.id) from line_items l join carts c on c.id = l.cart_id where c.customer_id like 'completion-%') as lines,
      (select json_agg(o order by o.id) from orders o where o.customer_id like 'completion-%') as orders,
      (select json_agg(u order by u.order_id, u.promotion_id) from order_promotions u where u.customer_id like 'completion-%') as uses`;
  return state;
}

const address = { name: "Ada", line1: "1 Main St", city: "Town", postalCode: "1000", country: "US" };

/** An active cart that can be completed: lines, an email, an address and the standard shipping; `codes` applied. */
async function readyCart(customerId: string, options: { productId?: string; codes?: string[] } = {}): Promise<Cart> {
  const client = carts("connect+proto (HTTP/2)");
  const { cart } = await client.createCart({
    customerId,
    regionId: "completion-us",
    email: `${customerId}@example.com`,
    shippingAddress: address,
    items: [
      { productId: options.productId ?? "completion-tee", quantity: 2 },
      { productId: "completion-ebook", quantity: 1 },
    ],
    promoCodes: options.codes ?? [],
  });
  return (await client.addShippingMethod({ cartId: cart!.id, shippingOptionId: "completion-std" })).cart!;
}

async function limitedPromotion(id: string, code: string): Promise<void> {
  await store().upsertPromotion({
    promotion: { id, code, value: { case: "percentageBp", value: 500 }, target: PromotionTarget.ORDER, usageLimit: 1 },
  });
}

beforeAll(async () => {
  server = await startServer();
  sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
  await store().upsertRegion({ region: { id: "completion-us", name: "US", currency: "USD", countries: ["US"], defaultTaxRatePpm: 100_000 } });
  await store().upsertShippingOption({
    shippingOption: { id: "completion-std", name: "Standard", regionId: "completion-us", prices: [{ currency: "USD", amountCents: 500n }] },
  });
  await catalog().upsertProduct({ product: { id: "completion-tee", title: "Tee", active: true, prices: [{ currency: "USD", amountCents: 2000n }] } });
  await catalog().upsertProduct({
    product: { id: "completion-ebook", title: "E-book", active: true, shippable: false, prices: [{ currency: "USD", amountCents: 1500n }] },
  });
  await store().upsertPromotion({
    promotion: { id: "completion-ten", code: "COMPLETION-TEN", value: { case: "percentageBp", value: 1000 }, target: PromotionTarget.ORDER },
  });
});

afterAll(async () => {
  await sql?.end();
  await server?.stop();
});

describe("CompleteCart", () => {
  it("turns the cart into a pending order that snapshots it, and completes the cart", async () => {
    const before = await readyCart("completion-happy", { codes: ["COMPLETION-TEN"] });
    const { order, cart } = await carts().completeCart({ id: before.id, paymentReference: "pay-123" });
    expect(order).toMatchObject({
      cartId: before.id,
      customerId: "completion-happy",
      status: OrderStatus.PENDING,
      regionId: "completion-us",
      currency: "USD",
      email: "completion-happy@example.com",
      shippingAddress: before.shippingAddress,
      promoCodes: ["COMPLETION-TEN"],
      itemQuantity: 3,
      paymentReference: "pay-123",
    });
    // Lines, shipping methods, adjustments, tax lines and totals exactly as the cart showed them.
    expect(order!.items).toEqual(before.items);
    expect(order!.shippingMethods).toEqual(before.shippingMethods);
    expect(order!.totals).toEqual(before.totals);
    expect(order!.items[0]!.adjustments).toEqual([expect.objectContaining({ code: "COMPLETION-TEN", amountCents: 400n })]);
    expect(order!.items[0]!.taxLines).toEqual([expect.objectContaining({ ratePpm: 100_000, amountCents: 360n })]);
    // 2 × 20.00 + 15.00, 10 % off, 10 % tax; 5.00 shipping plus tax.
    expect(order!.totals?.total).toBe(5445n + 550n);

    expect(cart).toMatchObject({ status: CartStatus.COMPLETED, orderId: order!.id, etag: String(Number(before.etag) + 1), totals: before.totals });
    expect(cart!.expireTime).toBeUndefined();
    expect((await carts().getCart({ id: before.id })).cart).toEqual(cart);

    const { order: read } = await orders("grpc (connect-node, HTTP/2)").getOrder({ id: order!.id });
    expect(read).toEqual(order);
    const listed = await orders().listOrders({ customerId: "completion-happy" });
    expect(listed.orders).toEqual([order]);

    // Later catalog changes do not touch the order.
    await catalog().upsertProduct({ product: { id: "completion-tee", title: "Tee, new", active: true, prices: [{ currency: "USD", amountCents: 2500n }] } });
    try {
      expect((await orders().getOrder({ id: order!.id })).order).toEqual(order);
    } finally {
      await catalog().upsertProduct({ product: { id: "completion-tee", title: "Tee", active: true, prices: [{ currency: "USD", amountCents: 2000n }] } });
    }
  });

  it("works over REST and native gRPC; orders are read at /v1/orders", async () => {
    const cart = await readyCart("completion-rest");
    const completed = await rest("POST", `/v1/carts/${cart.id}:complete`, { payment_reference: "pay-rest" });
    expect(completed.status).toBe(200);
    expect(completed.body.order).toMatchObject({ cart_id: cart.id, status: "ORDER_STATUS_PENDING", payment_reference: "pay-rest" });
    expect(completed.body.cart).toMatchObject({ status: "CART_STATUS_COMPLETED", order_id: completed.body.order.id });
    const read = await rest("GET", `/v1/orders/${completed.body.order.id}`);
    expect([read.status, read.body]).toEqual([200, completed.body.order]);
    const listed = await rest("GET", "/v1/orders?customer_id=completion-rest&page_size=5");
    expect(listed.body).toEqual({ orders: [completed.body.order], next_page_token: "" });
    expect((await rest("GET", "/v1/orders/00000000-0000-7000-8000-000000000000")).status).toBe(404);

    const grpcCart = await readyCart("completion-grpc-js");
    const native = grpcJsClient("CartService", server.port);
    const nativeOrders = grpcJsClient("OrderService", server.port);
    try {
      const { order } = await native.CompleteCart({ id: grpcCart.id });
      expect(order).toMatchObject({ cart_id: grpcCart.id, status: "ORDER_STATUS_PENDING", items: [expect.objectContaining({ product_id: "completion-tee" }), expect.anything()] });
      expect((await nativeOrders.GetOrder({ id: order.id })).order).toEqual(order);
    } finally {
      native.close();
      nativeOrders.close();
    }
  });

  it("pages ListOrders newest first, like ListCarts", async () => {
    const made: string[] = [];
    for (let index = 0; index < 3; index++) {
      const cart = await readyCart("completion-pages");
      made.push((await carts().completeCart({ id: cart.id })).order!.id);
    }
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await orders().listOrders({ customerId: "completion-pages", pageSize: 2, pageToken });
      seen.push(...page.orders.map((order) => order.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(seen).toEqual(made.reverse());
    const stale = await refusal(orders().listOrders({ customerId: "someone-else", pageSize: 2, pageToken: (await orders().listOrders({ customerId: "completion-pages", pageSize: 2 })).nextPageToken }));
    expect(stale.code).toBe(Code.InvalidArgument);
  });

  it.each([
    {
      name: "no lines",
      prepare: async () => (await carts().createCart({ customerId: "completion-refused", email: "a@example.com" })).cart!,
      message: (id: string) => `cart ${id} cannot be completed: it has no line items`,
    },
    {
      name: "no email",
      prepare: async () => (await carts().createCart({ customerId: "completion-refused", items: [{ productId: "completion-ebook", quantity: 1 }] })).cart!,
      message: (id: string) => `cart ${id} cannot be completed: it has no email`,
    },
    {
      name: "a line that ships, without address and shipping method",
      prepare: async () =>
        (await carts().createCart({ customerId: "completion-refused", regionId: "completion-us", email: "a@example.com", items: [{ productId: "completion-tee", quantity: 1 }] })).cart!,
      message: (id: string) => `cart ${id} cannot be completed: it has no shipping address; it has no shipping method`,
    },
    {
      name: "a changed price",
      prepare: async () => {
        await catalog().upsertProduct({ product: { id: "completion-repriced", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 2000n }] } });
        const cart = await readyCart("completion-refused", { productId: "completion-repriced" });
        await catalog().upsertProduct({ product: { id: "completion-repriced", title: "Mug", active: true, prices: [{ currency: "USD", amountCents: 2150n }] } });
        return cart;
      },
      message: (id: string) =>
        `cart ${id} cannot be completed: product completion-repriced now costs 21.50 USD per unit, not 20.00 USD as the cart shows (update the line to take the new price)`,
    },
    {
      name: "a product no longer sold",
      prepare: async () => {
        await catalog().upsertProduct({ product: { id: "completion-retired", title: "Old", active: true, prices: [{ currency: "USD", amountCents: 2000n }] } });
        const cart = await readyCart("completion-refused", { productId: "completion-retired" });
        await catalog().upsertProduct({ product: { id: "completion-retired", title: "Old", active: false, prices: [{ currency: "USD", amountCents: 2000n }] } });
        return cart;
      },
      message: (id: string) => `cart ${id} cannot be completed: product completion-retired is not active`,
    },
    {
      name: "a promotion used up by an order",
      prepare: async () => {
        await limitedPromotion("completion-once", "COMPLETION-ONCE");
        const first = await readyCart("completion-refused", { codes: ["COMPLETION-ONCE"] });
        const second = await readyCart("completion-refused", { codes: ["COMPLETION-ONCE"] });
        await carts().completeCart({ id: first.id });
        return second;
      },
      message: (id: string) => `cart ${id} cannot be completed: promotion code "COMPLETION-ONCE" has reached its limit of 1 uses`,
    },
  ])("refuses a cart with $name and changes nothing", async ({ prepare, message }) => {
    const cart = await prepare();
    const before = await snapshot();
    const error = await refusal(carts("grpc (connect-node, HTTP/2)").completeCart({ id: cart.id }));
    expect([error.code, error.rawMessage]).toEqual([Code.FailedPrecondition, message(cart.id)]);
    expect(await snapshot()).toEqual(before);
    const overRest = await rest("POST", `/v1/carts/${cart.id}:complete`, {});
    expect([overRest.status, overRest.body.error, overRest.body.message]).toEqual([400, "failed_precondition", message(cart.id)]);
    expect(await snapshot()).toEqual(before);
  });

  it("makes one order of ten parallel completions over every client, and each caller gets it", async () => {
    const cart = await readyCart("completion-parallel", { codes: ["COMPLETION-TEN"] });
    const native = grpcJsClient("CartService", server.port);
    const clients = ["connect+json (HTTP/1.1)", "connect+proto (HTTP/2)", "grpc-web (HTTP/1.1)", "grpc (connect-node, HTTP/2)"].map((name) => carts(name));
    // Retries of one checkout, so one payment reference.
    const calls: (() => Promise<string>)[] = [
      async () => (await native.CompleteCart({ id: cart.id, payment_reference: "pay-parallel" })).order.id,
      async () => (await rest("POST", `/v1/carts/${cart.id}:complete`, { payment_reference: "pay-parallel" })).body.order.id,
      ...clients.map((client) => async () => (await client.completeCart({ id: cart.id, paymentReference: "pay-parallel" })).order!.id),
    ];
    try {
      const ids = await Promise.all(Array.from({ length: 10 }, (_, index) => calls[index % calls.length]!()));
      const rows = await sql`select id from orders where cart_id = ${cart.id}`;
      expect(rows.map((row) => row.id)).toEqual([ids[0]]);
      expect(new Set(ids)).toEqual(new Set([ids[0]]));
      const [uses] = await sql`select count(*)::int as n from order_promotions where order_id = ${ids[0]!}`;
      expect(uses!.n).toBe(1);
    } finally {
      native.close();
    }
  });

  it("answers the same order when completed again, even with a stale etag, and writes nothing", async () => {
    const cart = await readyCart("completion-again");
    const first = await carts().completeCart({ id: cart.id, etag: cart.etag, paymentReference: "pay-first" });
    const before = await snapshot();
    const again = await carts("grpc-web (HTTP/1.1)").completeCart({ id: cart.id, etag: cart.etag, paymentReference: "pay-first" });
    expect(again).toEqual(first);
    const withoutReference = await carts("connect+proto (HTTP/2)").completeCart({ id: cart.id });
    expect(withoutReference).toEqual(first);
    expect(await snapshot()).toEqual(before);
  });

  it("refuses to complete a completed cart again with another payment reference, and writes nothing", async () => {
    const cart = await readyCart("completion-other-payment");
    const { order } = await carts().completeCart({ id: cart.id, paymentReference: "pay-first" });
    const before = await snapshot();
    const expected = [
      Code.FailedPrecondition,
      `cart ${cart.id} was already completed as order ${order!.id} with another payment reference; only a retry with the order's payment reference, or none, answers the order`,
    ];
    const error = await refusal(carts("grpc-web (HTTP/1.1)").completeCart({ id: cart.id, paymentReference: "pay-second" }));
    expect([error.code, error.rawMessage]).toEqual(expected);
    const overRest = await rest("POST", `/v1/carts/${cart.id}:complete`, { payment_reference: "pay-second" });
    expect([overRest.status, overRest.body.message]).toEqual([400, expected[1]]);
    expect(await snapshot()).toEqual(before);
    expect((await orders().getOrder({ id: order!.id })).order?.paymentReference).toBe("pay-first");
  });

  it("checks the etag of an active cart", async () => {
    const cart = await readyCart("completion-etag");
    const before = await snapshot();
    const stale = await refusal(carts().completeCart({ id: cart.id, etag: String(Number(cart.etag) - 1) }));
    expect(stale.code).toBe(Code.Aborted);
    expect(await snapshot()).toEqual(before);
  });

  it("gives the last use of a code to exactly one of five carts completing at once", async () => {
    await limitedPromotion("completion-last", "COMPLETION-LAST");
    const racers = await Promise.all([1, 2, 3, 4, 5].map((index) => readyCart(`completion-racer-${index}`, { codes: ["COMPLETION-LAST"] })));
    const outcomes = await Promise.allSettled(racers.map((cart, index) => carts(index % 2 === 0 ? "connect+proto (HTTP/2)" : undefined).completeCart({ id: cart.id })));
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    for (const [index, outcome] of outcomes.entries()) {
      if (outcome.status === "fulfilled") continue;
      const error = ConnectError.from(outcome.reason);
      expect([error.code, error.rawMessage]).toEqual([
        Code.FailedPrecondition,
        `cart ${racers[index]!.id} cannot be completed: promotion code "COMPLETION-LAST" has reached its limit of 1 uses`,
      ]);
      expect(error.findDetails(ErrorInfoSchema)[0]?.metadata.promotion_refusal).toBe("exhausted");
      expect((await carts().getCart({ id: racers[index]!.id })).cart).toMatchObject({ status: CartStatus.ACTIVE, etag: racers[index]!.etag });
    }
    const [uses] = await sql`select count(*)::int as n from order_promotions where promotion_id = 'completion-last'`;
    expect(uses!.n).toBe(1);
    // The use is counted for new applications of the code too.
    const { cart: late } = await carts().createCart({ customerId: "completion-late", items: [{ productId: "completion-ebook", quantity: 1 }] });
    const applied = await refusal(carts().applyPromotionCodes({ cartId: late!.id, codes: ["COMPLETION-LAST"] }));
    expect(applied.findDetails(ErrorInfoSchema)[0]?.metadata.promotion_refusal).toBe("exhausted");
  });

  it("refuses every change to a completed cart, which stays readable", async () => {
    const cart = await readyCart("completion-frozen", { codes: ["COMPLETION-TEN"] });
    const { cart: completed } = await carts().completeCart({ id: cart.id });
    const other = await readyCart("completion-frozen");
    const client = carts("connect+proto (HTTP/2)");
    const cartId = cart.id;
    const changes: [string, () => Promise<unknown>][] = [
      ["UpdateCart", () => client.updateCart({ cart: { id: cartId, email: "new@example.com" }, updateMask: { paths: ["email"] } })],
      ["DeleteCart", () => client.deleteCart({ id: cartId })],
      ["AddLineItem", () => client.addLineItem({ cartId, productId: "completion-tee", quantity: 1 })],
      ["UpdateLineItem", () => client.updateLineItem({ cartId, itemId: cart.items[0]!.id, quantity: 5 })],
      ["RemoveLineItem", () => client.removeLineItem({ cartId, itemId: cart.items[0]!.id })],
      ["ApplyPromotionCodes", () => client.applyPromotionCodes({ cartId, codes: ["COMPLETION-TEN"] })],
      ["RemovePromotionCodes", () => client.removePromotionCodes({ cartId, codes: ["COMPLETION-TEN"] })],
      ["AddShippingMethod", () => client.addShippingMethod({ cartId, shippingOptionId: "completion-std" })],
      ["RemoveShippingMethod", () => client.removeShippingMethod({ cartId, shippingMethodId: cart.shippingMethods[0]!.id })],
      ["TransferCart", () => client.transferCart({ id: cartId, customerId: "completion-thief" })],
      ["MergeCarts into it", () => client.mergeCarts({ sourceCartId: other.id, targetCartId: cartId })],
      ["MergeCarts from it", () => client.mergeCarts({ sourceCartId: cartId, targetCartId: other.id })],
    ];
    const before = await snapshot();
    for (const [name, change] of changes) {
      const error = await refusal(change());
      expect([name, error.code, error.rawMessage]).toEqual([name, Code.FailedPrecondition, expect.stringContaining(`cart ${cartId} is completed`)]);
    }
    expect(await snapshot()).toEqual(before);
    expect((await client.getCart({ id: cartId })).cart).toEqual(completed);
  });
});

describe("access", () => {
  it("lets a customer with carts:checkout complete only its own cart, and keeps orders internal", async () => {
    const checkout = await token({ sub: "completion-shopper", scope: "carts:read carts:write carts:checkout" });
    const writeOnly = await token({ sub: "completion-shopper", scope: "carts:read carts:write" });
    const own = await readyCart("completion-shopper");
    const foreign = await readyCart("completion-stranger");
    const before = await snapshot();
    const noScope = await refusal(clientFor(CartService, transport(undefined, writeOnly)).completeCart({ id: own.id }));
    expect([noScope.code, noScope.rawMessage]).toEqual([Code.PermissionDenied, 'this call needs the "carts:checkout" scope, which the token does not grant']);
    const shopper = clientFor(CartService, transport(undefined, checkout));
    expect((await refusal(shopper.completeCart({ id: foreign.id }))).code).toBe(Code.PermissionDenied);
    expect(await snapshot()).toEqual(before);

    const { order } = await shopper.completeCart({ id: own.id });
    expect(order?.customerId).toBe("completion-shopper");
    const orderReader = clientFor(OrderService, transport(undefined, checkout));
    expect((await refusal(orderReader.getOrder({ id: order!.id }))).code).toBe(Code.PermissionDenied);
    const native = grpcJsClient("OrderService", server.port, checkout);
    try {
      const error = await native.ListOrders({}).then(
        () => undefined,
        (failure: ServiceError) => connectErrorOfGrpcJs(failure),
      );
      expect(error?.code).toBe(Code.PermissionDenied);
    } finally {
      native.close();
    }
  });
});
