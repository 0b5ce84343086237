import { Code } from "@connectrpc/connect";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartStatus } from "../../gen/commerce/cart/v1/cart_pb.js";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { clientFor, connectTransports } from "../support/clients.js";
import type { GrpcJsClient } from "../support/grpc-js-client.js";
import { type Call, call, type Refusal, refusalOver, refusalOverGrpcJs } from "../support/refusals.js";
import { violatedFields } from "../support/rpc-errors.js";
import { startServer, type TestServer } from "../support/server.js";

/** Every cart this file creates belongs to a customer id with this prefix, so the snapshot sees only them. */
const customer = "bad-input";
const unknownCartId = "0190a000-0000-7000-8000-000000000000";

let server: TestServer;
/** The same service with gRPC served by connect-node instead of the native @grpc/grpc-js server. */
let connectGrpcServer: TestServer;
let sql: postgres.Sql;
const grpcJsClients: GrpcJsClient[] = [];

/** Fixture ids, filled in beforeAll. */
const fixture = {
  /** Active USD cart holding one bad-mug. */
  usdCart: "",
  usdLine: "",
  /** Active, empty EUR cart. */
  eurCart: "",
  /** Deleted cart that held one bad-mug. */
  deletedCart: "",
  deletedLine: "",
  /** next_page_token of ListCarts {customer_id: `${customer}-pager`, page_size: 1}. */
  pagerToken: "",
};

beforeAll(async () => {
  [server, connectGrpcServer] = await Promise.all([startServer(), startServer({ GRPC_SERVER: "connect" })]);
  sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
  const transport = connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!;
  const catalog = clientFor(CatalogService, transport);
  const carts = clientFor(CartService, transport);
  const usd = (amountCents: bigint) => [{ currency: "USD", amountCents }];
  await catalog.upsertProduct({ product: { id: "bad-mug", title: "Mug", active: true, prices: usd(500n) } });
  await catalog.upsertProduct({ product: { id: "bad-retired", title: "Old mug", active: false, prices: usd(400n) } });

  const { cart: usdCart } = await carts.createCart({ customerId: customer, items: [{ productId: "bad-mug", quantity: 1 }] });
  fixture.usdCart = usdCart!.id;
  fixture.usdLine = usdCart!.items[0]!.id;
  fixture.eurCart = (await carts.createCart({ customerId: customer, currency: "EUR" })).cart!.id;
  const { cart: doomed } = await carts.createCart({ customerId: customer, items: [{ productId: "bad-mug", quantity: 1 }] });
  await carts.deleteCart({ id: doomed!.id });
  fixture.deletedCart = doomed!.id;
  fixture.deletedLine = doomed!.items[0]!.id;
  await carts.createCart({ customerId: `${customer}-pager` });
  await carts.createCart({ customerId: `${customer}-pager` });
  fixture.pagerToken = (await carts.listCarts({ customerId: `${customer}-pager`, pageSize: 1 })).nextPageToken;
  expect(fixture.pagerToken).not.toBe("");
});

afterAll(async () => {
  for (const client of grpcJsClients) client.close();
  await sql?.end();
  await Promise.all([server?.stop(), connectGrpcServer?.stop()]);
});

interface BadInput {
  readonly name: string;
  /** Built lazily: fixture ids exist only after beforeAll. */
  readonly call: () => Call;
  readonly code: Code;
  /** The message must match, so that it says what is wrong. */
  readonly message: RegExp;
  /** For requests refused by the proto's validation rules: the fields the violations must name. */
  readonly violations?: string[];
}

const badInputs: BadInput[] = [
  {
    name: "empty customer_id",
    call: () => call(CartService.method.createCart, { customerId: "" }),
    code: Code.InvalidArgument,
    message: /customer_id/,
    violations: ["customer_id"],
  },
  {
    name: "300-character customer_id",
    call: () => call(CartService.method.createCart, { customerId: `${customer}-${"x".repeat(290)}` }),
    code: Code.InvalidArgument,
    message: /customer_id/,
    violations: ["customer_id"],
  },
  {
    name: "initial item with quantity 0",
    call: () => call(CartService.method.createCart, { customerId: customer, items: [{ productId: "bad-mug", quantity: 0 }] }),
    code: Code.InvalidArgument,
    message: /quantity/,
    violations: ["items.quantity"],
  },
  {
    name: "initial item of an unknown product",
    call: () =>
      call(CartService.method.createCart, {
        customerId: customer,
        items: [
          { productId: "bad-mug", quantity: 1 },
          { productId: "bad-ghost", quantity: 1 },
        ],
      }),
    code: Code.NotFound,
    message: /bad-ghost/,
  },
  {
    name: "lower-case currency",
    call: () => call(CartService.method.createCart, { customerId: customer, currency: "usd" }),
    code: Code.InvalidArgument,
    message: /currency/,
    violations: ["currency"],
  },
  {
    name: "unsupported currency",
    call: () => call(CartService.method.createCart, { customerId: customer, currency: "XTS" }),
    code: Code.InvalidArgument,
    message: /XTS/,
  },
  {
    name: "add quantity 0",
    call: () => call(CartService.method.addLineItem, { cartId: fixture.usdCart, productId: "bad-mug", quantity: 0 }),
    code: Code.InvalidArgument,
    message: /quantity/,
    violations: ["quantity"],
  },
  {
    name: "add negative quantity",
    call: () => call(CartService.method.addLineItem, { cartId: fixture.usdCart, productId: "bad-mug", quantity: -3 }),
    code: Code.InvalidArgument,
    message: /quantity/,
    violations: ["quantity"],
  },
  {
    name: "add quantity 2147483647",
    call: () => call(CartService.method.addLineItem, { cartId: fixture.usdCart, productId: "bad-mug", quantity: 2147483647 }),
    code: Code.InvalidArgument,
    message: /quantity/,
    violations: ["quantity"],
  },
  {
    name: "add beyond the per-line quantity limit (MAX_LINE_QUANTITY)",
    call: () => call(CartService.method.addLineItem, { cartId: fixture.usdCart, productId: "bad-mug", quantity: 10_000 }),
    code: Code.FailedPrecondition,
    message: /bad-mug.*10000/,
  },
  {
    name: "get an unknown cart",
    call: () => call(CartService.method.getCart, { id: unknownCartId }),
    code: Code.NotFound,
    message: new RegExp(`cart ${unknownCartId}`),
  },
  {
    name: "add to an unknown cart",
    call: () => call(CartService.method.addLineItem, { cartId: unknownCartId, productId: "bad-mug", quantity: 1 }),
    code: Code.NotFound,
    message: new RegExp(`cart ${unknownCartId}`),
  },
  {
    name: "malformed cart id on get",
    call: () => call(CartService.method.getCart, { id: "cart-42" }),
    code: Code.InvalidArgument,
    message: /\bid\b/,
    violations: ["id"],
  },
  {
    name: "malformed cart id on add",
    call: () => call(CartService.method.addLineItem, { cartId: "42", productId: "bad-mug", quantity: 1 }),
    code: Code.InvalidArgument,
    message: /cart_id/,
    violations: ["cart_id"],
  },
  {
    name: "malformed product id",
    call: () => call(CartService.method.addLineItem, { cartId: fixture.usdCart, productId: "mug; drop table", quantity: 1 }),
    code: Code.InvalidArgument,
    message: /product_id/,
    violations: ["product_id"],
  },
  {
    name: "unknown product",
    call: () => call(CartService.method.addLineItem, { cartId: fixture.usdCart, productId: "bad-ghost", quantity: 1 }),
    code: Code.NotFound,
    message: /product bad-ghost/,
  },
  {
    name: "inactive product",
    call: () => call(CartService.method.addLineItem, { cartId: fixture.usdCart, productId: "bad-retired", quantity: 1 }),
    code: Code.FailedPrecondition,
    message: /product bad-retired.*not active/,
  },
  {
    name: "product without a price in the cart currency",
    call: () => call(CartService.method.addLineItem, { cartId: fixture.eurCart, productId: "bad-mug", quantity: 1 }),
    code: Code.FailedPrecondition,
    message: /product bad-mug.*EUR/,
  },
  {
    name: "update an unknown line",
    call: () => call(CartService.method.updateLineItem, { cartId: fixture.usdCart, itemId: unknownCartId, quantity: 2 }),
    code: Code.NotFound,
    message: new RegExp(`line item ${unknownCartId}`),
  },
  {
    name: "update a line to a negative quantity",
    call: () => call(CartService.method.updateLineItem, { cartId: fixture.usdCart, itemId: fixture.usdLine, quantity: -1 }),
    code: Code.InvalidArgument,
    message: /quantity/,
    violations: ["quantity"],
  },
  {
    name: "add to a deleted cart",
    call: () => call(CartService.method.addLineItem, { cartId: fixture.deletedCart, productId: "bad-mug", quantity: 1 }),
    code: Code.FailedPrecondition,
    message: /deleted/,
  },
  {
    name: "update a line of a deleted cart",
    call: () => call(CartService.method.updateLineItem, { cartId: fixture.deletedCart, itemId: fixture.deletedLine, quantity: 3 }),
    code: Code.FailedPrecondition,
    message: /deleted/,
  },
  {
    name: "remove a line of a deleted cart",
    call: () => call(CartService.method.removeLineItem, { cartId: fixture.deletedCart, itemId: fixture.deletedLine }),
    code: Code.FailedPrecondition,
    message: /deleted/,
  },
  {
    name: "update fields of a deleted cart",
    call: () =>
      call(CartService.method.updateCart, {
        cart: { id: fixture.deletedCart, email: "a@example.com" },
        updateMask: { paths: ["email"] },
      }),
    code: Code.FailedPrecondition,
    message: /deleted/,
  },
  {
    name: "delete a deleted cart",
    call: () => call(CartService.method.deleteCart, { id: fixture.deletedCart }),
    code: Code.FailedPrecondition,
    message: /deleted/,
  },
  {
    name: "update_mask path that cannot be updated",
    call: () =>
      call(CartService.method.updateCart, { cart: { id: fixture.usdCart, customerId: "thief" }, updateMask: { paths: ["customer_id"] } }),
    code: Code.InvalidArgument,
    message: /update_mask.*customer_id/,
    violations: ["update_mask"],
  },
  {
    name: "UpdateCart without update_mask",
    call: () => call(CartService.method.updateCart, { cart: { id: fixture.usdCart, email: "a@example.com" } }),
    code: Code.InvalidArgument,
    message: /update_mask/,
    violations: ["update_mask"],
  },
  {
    name: "currency change of a cart with lines",
    call: () =>
      call(CartService.method.updateCart, { cart: { id: fixture.usdCart, currency: "EUR" }, updateMask: { paths: ["currency"] } }),
    code: Code.FailedPrecondition,
    message: /currency/,
  },
  {
    name: "negative page_size",
    call: () => call(CartService.method.listCarts, { customerId: customer, pageSize: -1 }),
    code: Code.InvalidArgument,
    message: /page_size/,
    violations: ["page_size"],
  },
  {
    name: "unknown status filter",
    call: () => call(CartService.method.listCarts, { customerId: customer, status: 99 as CartStatus }),
    code: Code.InvalidArgument,
    message: /status/,
    violations: ["status"],
  },
  {
    name: "corrupted page_token",
    call: () => call(CartService.method.listCarts, { customerId: `${customer}-pager`, pageToken: `${fixture.pagerToken.slice(0, -4)}AAAA` }),
    code: Code.InvalidArgument,
    message: /page_token/,
    violations: ["page_token"],
  },
  {
    name: "page_token that is not base64 JSON",
    call: () => call(CartService.method.listCarts, { pageToken: "not a token!" }),
    code: Code.InvalidArgument,
    message: /page_token/,
    violations: ["page_token"],
  },
  {
    name: "page_token replayed with another customer filter",
    call: () => call(CartService.method.listCarts, { customerId: customer, pageToken: fixture.pagerToken }),
    code: Code.InvalidArgument,
    message: /page_token.*filters/,
    violations: ["page_token"],
  },
  {
    name: "page_token replayed with another status filter",
    call: () =>
      call(CartService.method.listCarts, { customerId: `${customer}-pager`, status: CartStatus.ACTIVE, pageToken: fixture.pagerToken }),
    code: Code.InvalidArgument,
    message: /page_token.*filters/,
    violations: ["page_token"],
  },
  {
    name: "ListCarts page_token replayed on ListProducts",
    call: () => call(CatalogService.method.listProducts, { pageToken: fixture.pagerToken }),
    code: Code.InvalidArgument,
    message: /page_token/,
    violations: ["page_token"],
  },
  {
    name: "ListProducts negative page_size",
    call: () => call(CatalogService.method.listProducts, { pageSize: -5 }),
    code: Code.InvalidArgument,
    message: /page_size/,
    violations: ["page_size"],
  },
];

const clients: [string, () => Refusal][] = [
  ["@grpc/grpc-js", () => refusalOverGrpcJs(server.port, grpcJsClients)],
  ["@grpc/grpc-js to gRPC served by connect-node (GRPC_SERVER=connect)", () => refusalOverGrpcJs(connectGrpcServer.port, grpcJsClients)],
  ...["connect+json (HTTP/1.1)", "connect+proto (HTTP/2)", "grpc-web (HTTP/1.1)"].map(
    (name) => [name, () => refusalOver(connectTransports(server.baseUrl)[name]!)] as [string, () => Refusal],
  ),
];

/** Every cart of this file's customers (and any with an empty customer id), with its lines, and this file's products. */
async function snapshot() {
  const carts = await sql`
    select c.*, coalesce((select json_agg(l.* order by l.id) from line_items l where l.cart_id = c.id), '[]') as lines
    from carts c where c.customer_id like ${`${customer}%`} or c.customer_id = '' order by c.id`;
  const products = await sql`
    select p.*, coalesce((select json_agg(pp.* order by pp.currency) from product_prices pp where pp.product_id = p.id), '[]') as prices
    from products p where p.id like 'bad-%' order by p.id`;
  return { carts, products };
}

describe.each(clients)("bad input over %s", (_, refusalOf) => {
  let refuse: Refusal;
  beforeAll(() => {
    refuse = refusalOf();
  });

  it.each(badInputs)("$name", async (badInput) => {
    const before = await snapshot();
    const error = await refuse(badInput.call());
    expect({ code: Code[error.code], message: error.rawMessage }).toEqual({
      code: Code[badInput.code],
      message: expect.stringMatching(badInput.message),
    });
    // Readable as the caller gets it, not percent-encoded for the wire.
    expect(error.rawMessage).not.toMatch(/%[0-9A-F]{2}/i);
    if (badInput.violations) expect(violatedFields(error)).toEqual(badInput.violations);
    expect(await snapshot()).toEqual(before);
  });
});
