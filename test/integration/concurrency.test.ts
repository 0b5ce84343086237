import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { type GrpcJsClient, grpcJsClient } from "../support/grpc-js-client.js";
import { startServer, type TestServer } from "../support/server.js";

const parallelism = 50;
const price = (index: number) => BigInt(100 + index);
const productIds = Array.from({ length: parallelism }, (_, index) => `race-${index}`);

let server: TestServer;
let sql: postgres.Sql;

beforeAll(async () => {
  server = await startServer();
  sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
  const catalog = clientFor(CatalogService, connectTransports(server.baseUrl)["connect+proto (HTTP/2)"]!);
  await Promise.all(
    productIds.map((id, index) =>
      catalog.upsertProduct({ product: { id, title: id, active: true, prices: [{ currency: "USD", amountCents: price(index) }] } }),
    ),
  );
});

afterAll(async () => {
  await sql?.end();
  await server?.stop();
});

/** What a client sees of a cart, in one shape for both kinds of client. */
interface CartView {
  id: string;
  totalCents: bigint;
  subtotalCents: bigint;
  itemQuantity: number;
  items: { id: string; productId: string; quantity: number; unitPriceCents: bigint }[];
}

/** The cart methods the tests use, over one client library. */
interface CartCalls {
  create(customerId: string): Promise<CartView>;
  add(cartId: string, productId: string, quantity: number): Promise<CartView>;
  update(cartId: string, itemId: string, quantity: number): Promise<CartView>;
  remove(cartId: string, itemId: string): Promise<CartView>;
  get(cartId: string): Promise<CartView>;
  close(): void;
}

function connectCalls(baseUrl: string): CartCalls {
  const carts = clientFor(CartService, connectTransports(baseUrl)["connect+proto (HTTP/2)"]!);
  const view = ({ cart }: { cart?: CartView }): CartView => ({
    id: cart!.id,
    totalCents: cart!.totalCents,
    subtotalCents: cart!.subtotalCents,
    itemQuantity: cart!.itemQuantity,
    items: cart!.items.map(({ id, productId, quantity, unitPriceCents }) => ({ id, productId, quantity, unitPriceCents })),
  });
  return {
    create: async (customerId) => view(await carts.createCart({ customerId })),
    add: async (cartId, productId, quantity) => view(await carts.addLineItem({ cartId, productId, quantity })),
    update: async (cartId, itemId, quantity) => view(await carts.updateLineItem({ cartId, itemId, quantity })),
    remove: async (cartId, itemId) => view(await carts.removeLineItem({ cartId, itemId })),
    get: async (id) => view(await carts.getCart({ id })),
    close: () => {},
  };
}

function grpcJsCalls(port: number): CartCalls {
  const carts: GrpcJsClient = grpcJsClient("CartService", port);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- proto-loader messages are untyped
  const view = ({ cart }: { cart: any }): CartView => ({
    id: cart.id,
    totalCents: BigInt(cart.total_cents),
    subtotalCents: BigInt(cart.subtotal_cents),
    itemQuantity: cart.item_quantity,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- proto-loader messages are untyped
    items: cart.items.map((item: any) => ({
      id: item.id,
      productId: item.product_id,
      quantity: item.quantity,
      unitPriceCents: BigInt(item.unit_price_cents),
    })),
  });
  return {
    create: async (customer_id) => view(await carts.CreateCart({ customer_id })),
    add: async (cart_id, product_id, quantity) => view(await carts.AddLineItem({ cart_id, product_id, quantity })),
    update: async (cart_id, item_id, quantity) => view(await carts.UpdateLineItem({ cart_id, item_id, quantity })),
    remove: async (cart_id, item_id) => view(await carts.RemoveLineItem({ cart_id, item_id })),
    get: async (id) => view(await carts.GetCart({ id })),
    close: () => carts.close(),
  };
}

function expectConsistent(cart: CartView): void {
  const subtotal = cart.items.reduce((sum, item) => sum + BigInt(item.quantity) * item.unitPriceCents, 0n);
  expect(cart.subtotalCents).toBe(subtotal);
  expect(cart.totalCents).toBe(subtotal);
  expect(cart.itemQuantity).toBe(cart.items.reduce((sum, item) => sum + item.quantity, 0));
}

/** The cart as stored: its totals next to the totals recomputed from its line rows. */
async function storedTotals(cartId: string) {
  const [row] = await sql`
    select c.subtotal::text, c.total::text, c.item_quantity,
      (select coalesce(sum(l.quantity::int8 * l.unit_price), 0)::text from line_items l where l.cart_id = c.id) as line_subtotal,
      (select coalesce(sum(l.quantity), 0)::int from line_items l where l.cart_id = c.id) as line_quantity
    from carts c where c.id = ${cartId}`;
  return row!;
}

async function expectStoredConsistent(cart: CartView): Promise<void> {
  expect(await storedTotals(cart.id)).toEqual({
    subtotal: String(cart.subtotalCents),
    total: String(cart.totalCents),
    item_quantity: cart.itemQuantity,
    line_subtotal: String(cart.subtotalCents),
    line_quantity: cart.itemQuantity,
  });
}

describe.each([
  ["@grpc/grpc-js", () => grpcJsCalls(server.port)],
  ["connect+proto (HTTP/2)", () => connectCalls(server.baseUrl)],
])("concurrent changes to one cart over %s", (name, makeCalls) => {
  let calls: CartCalls;
  beforeAll(() => {
    calls = makeCalls();
  });
  afterAll(() => calls?.close());

  it(`${parallelism} parallel adds of the same product end in one line of quantity ${parallelism}`, async () => {
    const { id } = await calls.create(`race-same-${name}`);
    const results = await Promise.allSettled(productIds.map(() => calls.add(id, "race-7", 1)));
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);

    const cart = await calls.get(id);
    expect(cart.items).toEqual([{ id: expect.any(String), productId: "race-7", quantity: parallelism, unitPriceCents: price(7) }]);
    expect(cart.totalCents).toBe(BigInt(parallelism) * price(7));
    expectConsistent(cart);
    await expectStoredConsistent(cart);
    // Each add saw the one before it: the responses carry every quantity from 1 to 50 once.
    const seen = results.map((result) => (result.status === "fulfilled" ? result.value.items[0]!.quantity : 0));
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: parallelism }, (_, index) => index + 1));
  });

  it(`${parallelism} parallel adds of different products end in ${parallelism} lines`, async () => {
    const { id } = await calls.create(`race-many-${name}`);
    const results = await Promise.allSettled(productIds.map((productId) => calls.add(id, productId, 2)));
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);

    const cart = await calls.get(id);
    expect(cart.items.map((item) => item.productId).sort()).toEqual([...productIds].sort());
    expect(cart.items.every((item) => item.quantity === 2)).toBe(true);
    expect(cart.totalCents).toBe(productIds.reduce((sum, _, index) => sum + 2n * price(index), 0n));
    expectConsistent(cart);
    await expectStoredConsistent(cart);
  });

  it("parallel updates, removes and adds leave totals equal to the sum of the lines", async () => {
    const { id } = await calls.create(`race-mix-${name}`);
    for (const productId of productIds.slice(0, 25)) await calls.add(id, productId, 3);
    const { items } = await calls.get(id);
    // Each line gets at most one change, so the outcome does not depend on the order they run in.
    const results = await Promise.allSettled([
      ...items.slice(0, 10).map((item, index) => calls.update(id, item.id, index + 1)),
      ...items.slice(10, 15).map((item) => calls.remove(id, item.id)),
      ...items.slice(15, 20).map((item) => calls.update(id, item.id, 0)),
      ...items.slice(20, 25).map((item) => calls.add(id, item.productId, 10)),
      ...productIds.slice(25, 35).map((productId) => calls.add(id, productId, 1)),
    ]);
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);

    const cart = await calls.get(id);
    const quantities = Object.fromEntries(cart.items.map((item) => [item.productId, item.quantity]));
    expect(quantities).toEqual({
      ...Object.fromEntries(items.slice(0, 10).map((item, index) => [item.productId, index + 1])),
      ...Object.fromEntries(items.slice(20, 25).map((item) => [item.productId, 13])),
      ...Object.fromEntries(productIds.slice(25, 35).map((productId) => [productId, 1])),
    });
    expectConsistent(cart);
    await expectStoredConsistent(cart);
  });
});
