import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PublishableKeyService } from "../../gen/commerce/cart/v1/publishable_key_service_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { customerToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { startServer, type TestServer } from "../support/server.js";
import { seedStore, storeCall, type StoreFixture } from "../support/store.js";

const origin = "https://shop.example";
let server: TestServer;
let shop: StoreFixture;

beforeAll(async () => {
  server = await startServer({ CORS_ORIGINS: origin });
  shop = await seedStore(server.baseUrl, "api");
});

afterAll(() => server?.stop());

type Options = Parameters<typeof storeCall>[3];
const store = (method: string, path: string, options: Options = {}) => storeCall(server.baseUrl, method, path, { key: shop.key, ...options });

async function newCart(body: Record<string, unknown> = {}, options: Options = {}): Promise<string> {
  const { status, body: answer } = await store("POST", "/store/carts", { body: { region_id: shop.regionId, ...body }, ...options });
  expect(status, JSON.stringify(answer)).toBe(200);
  return answer.cart.id as string;
}

const address = { first_name: "Ada", last_name: "Lovelace", address_1: "1 Main St", city: "New York", postal_code: "10001", country_code: "us" };

/** A cart ready to complete: a mug, an email, an address, the standard shipping and a system payment session. */
async function checkoutReadyCart(): Promise<string> {
  const id = await newCart({ items: [{ variant_id: shop.mugId, quantity: 1 }], email: "ada@example.com", shipping_address: address });
  expect((await store("POST", `/store/carts/${id}/shipping-methods`, { body: { option_id: shop.shippingOptionId } })).status).toBe(200);
  const { body } = await store("POST", "/store/payment-collections", { body: { cart_id: id } });
  const session = await store("POST", `/store/payment-collections/${body.payment_collection.id}/payment-sessions`, { body: { provider_id: "pp_system_default" } });
  expect(session.status, JSON.stringify(session.body)).toBe(200);
  return id;
}

describe("publishable keys (§1.3, §3.1)", () => {
  const keyRequired = {
    type: "not_allowed",
    message: "Publishable API key required in the request header: x-publishable-api-key. You can manage your keys in settings in the dashboard.",
  };
  const keyInvalid = { type: "not_allowed", message: "A valid publishable key is required to proceed with the request" };

  it("refuses a missing or empty key before anything else, even on unknown routes", async () => {
    for (const path of ["/store/carts", "/store/regions", "/store/no-such-route"]) {
      expect(await storeCall(server.baseUrl, "GET", path)).toMatchObject({ status: 400, body: keyRequired });
      expect(await storeCall(server.baseUrl, "GET", path, { key: "" })).toMatchObject({ status: 400, body: keyRequired });
    }
  });

  it("refuses an unknown key and a revoked one", async () => {
    expect(await store("GET", "/store/regions", { key: "pk_nope" })).toMatchObject({ status: 400, body: keyInvalid });
    expect(await store("GET", "/store/regions", { key: `pk_${"0".repeat(64)}` })).toMatchObject({ status: 400, body: keyInvalid });
    const keys = clientFor(PublishableKeyService, connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!);
    const { publishableKey } = await keys.createPublishableKey({ publishableKey: { title: "soon revoked" } });
    expect((await store("GET", "/store/regions", { key: publishableKey!.token })).status).toBe(200);
    await keys.revokePublishableKey({ id: publishableKey!.id });
    expect(await store("GET", "/store/regions", { key: publishableKey!.token })).toMatchObject({ status: 400, body: keyInvalid });
  });

  it("gives a new cart the key's only sales channel, and refuses another one", async () => {
    const { body } = await store("POST", "/store/carts", { body: { region_id: shop.regionId } });
    expect(body.cart.sales_channel_id).toBe(shop.salesChannelId);
    // The region has one country: it is the address (Medusa's default).
    expect(body.cart.shipping_address).toMatchObject({ country_code: "us", first_name: null });
    const other = await store("POST", "/store/carts", { body: { region_id: shop.regionId, sales_channel_id: "elsewhere" } });
    expect(other).toMatchObject({
      status: 400,
      body: {
        errors: ["Sales channel ID in payload elsewhere is not associated with the Publishable API Key in the header."],
        message: "Provided request body contains errors. Please check the data and retry the request",
      },
    });
  });

  it("requires a sales channel in the body with a key of several, and takes any with a key of none", async () => {
    const transport = connectTransports(server.baseUrl)["connect+json (HTTP/1.1)"]!;
    await clientFor(StoreConfigService, transport).upsertSalesChannel({ salesChannel: { id: "api-app", name: "App" } });
    const keys = clientFor(PublishableKeyService, transport);
    const two = (await keys.createPublishableKey({ publishableKey: { title: "two", salesChannelIds: [shop.salesChannelId, "api-app"] } })).publishableKey!;
    const ambiguous = await store("POST", "/store/carts", { key: two.token, body: { region_id: shop.regionId } });
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.body.errors[0]).toMatch(/multiple associated sales channels/);
    const chosen = await store("POST", "/store/carts", { key: two.token, body: { region_id: shop.regionId, sales_channel_id: "api-app" } });
    expect(chosen.body.cart.sales_channel_id).toBe("api-app");
    const none = (await keys.createPublishableKey({ publishableKey: { title: "none" } })).publishableKey!;
    const any = await store("POST", "/store/carts", { key: none.token, body: { region_id: shop.regionId, sales_channel_id: "api-app" } });
    expect(any.body.cart.sales_channel_id).toBe("api-app");
  });
});

describe("who may reach a cart", () => {
  it("keeps a registered customer's cart to that customer: everyone else gets the missing-cart 404", async () => {
    const alice = await customerToken("api-alice");
    const id = await newCart({}, { token: alice });
    expect((await store("GET", `/store/carts/${id}`, { token: alice })).body.cart.customer).toMatchObject({ id: "api-alice" });
    const notFound = { type: "not_found", message: `Cart with id '${id}' not found` };
    expect(await store("GET", `/store/carts/${id}`)).toMatchObject({ status: 404, body: notFound });
    expect(await store("GET", `/store/carts/${id}`, { token: await customerToken("api-bob") })).toMatchObject({ status: 404, body: notFound });
    const write = await store("POST", `/store/carts/${id}/line-items`, { body: { variant_id: shop.mugId, quantity: 1 } });
    expect(write).toMatchObject({ status: 404, body: { type: "not_found", message: `Cart id not found: ${id}` } });
    expect(await store("POST", "/store/payment-collections", { body: { cart_id: id } })).toMatchObject({
      status: 404,
      body: { type: "not_found", message: `Cart id not found: ${id}` },
    });
    expect(await store("GET", `/store/shipping-options?cart_id=${id}`)).toMatchObject({ status: 404, body: notFound });
  });

  it("treats an invalid bearer token as none: guest carts stay reachable by id", async () => {
    const id = await newCart({}, { token: "not-a-jwt" });
    const read = await store("GET", `/store/carts/${id}`, { token: "not-a-jwt" });
    expect(read.status).toBe(200);
    expect(read.body.cart.customer).toBeNull();
    expect((await store("GET", `/store/carts/${id}`)).status).toBe(200);
  });

  it("transfers only to a signed-in customer, and only guest carts", async () => {
    const guest = await newCart();
    expect(await store("POST", `/store/carts/${guest}/customer`)).toMatchObject({ status: 401, body: { message: "Unauthorized" } });
    expect(await store("POST", `/store/carts/${guest}/customer`, { token: "expired-or-bad" })).toMatchObject({ status: 401 });
    const carol = await customerToken("api-carol");
    const taken = await store("POST", `/store/carts/${guest}/customer`, { token: carol });
    expect(taken.body.cart.customer).toMatchObject({ id: "api-carol" });
    // Carol's now: another customer cannot take it over.
    const stolen = await store("POST", `/store/carts/${guest}/customer`, { token: await customerToken("api-dave") });
    expect(stolen).toMatchObject({ status: 404, body: { message: `Cart id not found: ${guest}` } });
    // Taking one's own cart again changes nothing.
    expect((await store("POST", `/store/carts/${guest}/customer`, { token: carol })).status).toBe(200);
    expect(await store("POST", "/store/carts/does-not-exist/customer", { token: carol })).toMatchObject({
      status: 404,
      body: { type: "not_found", message: "Cart id not found: does-not-exist" },
    });
  });

  it("shows an order to whoever holds a guest cart's order id, and a customer's only to that customer", async () => {
    const id = await checkoutReadyCart();
    const { body } = await store("POST", `/store/carts/${id}/complete`);
    expect((await store("GET", `/store/orders/${body.order.id}`)).status).toBe(200);
    expect(await store("GET", "/store/orders/nope")).toMatchObject({ status: 404, body: { type: "not_found", message: "Order with id: nope was not found" } });
  });

  it("keeps a customer's payment collection to that customer: everyone else gets the missing-collection 404, naming no cart", async () => {
    const alice = await customerToken("api-alice");
    const id = await newCart({ items: [{ variant_id: shop.mugId, quantity: 1 }] }, { token: alice });
    const { body } = await store("POST", "/store/payment-collections", { body: { cart_id: id }, token: alice });
    const collection = body.payment_collection.id as string;
    const session = { body: { provider_id: "pp_system_default" } };
    const unknown = "01900000-0000-7000-8000-000000000000";
    const missing = await store("POST", `/store/payment-collections/${unknown}/payment-sessions`, session);
    expect(missing).toMatchObject({ status: 404, body: { type: "not_found", message: `Payment collection with id: ${unknown} was not found` } });
    for (const token of [await customerToken("api-bob"), undefined]) {
      const foreign = await store("POST", `/store/payment-collections/${collection}/payment-sessions`, { ...session, token });
      expect(JSON.stringify(foreign.body)).not.toContain(id);
      expect(foreign.status).toBe(missing.status);
      expect(foreign.body).toEqual({ ...missing.body, message: missing.body.message.replace(unknown, collection) });
    }
    const read = await store("GET", `/store/carts/${id}`, { token: alice });
    expect(read.body.cart.payment_collection.payment_sessions).toEqual([]);
    const own = await store("POST", `/store/payment-collections/${collection}/payment-sessions`, { ...session, token: alice });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
  });
});

describe("errors as Medusa answers them (§7)", () => {
  it("answers a missing cart, line and promotion code with Medusa's messages", async () => {
    expect(await store("GET", "/store/carts/does-not-exist")).toMatchObject({
      status: 404,
      body: { type: "not_found", message: "Cart with id 'does-not-exist' not found" },
    });
    const id = await newCart();
    const lineId = "01a24625-0000-7000-8000-000000000000";
    expect(await store("POST", `/store/carts/${id}/line-items/${lineId}`, { body: { quantity: 2 } })).toMatchObject({
      status: 404,
      body: { type: "not_found", message: `Line item with id: ${lineId} was not found` },
    });
    expect(await store("POST", `/store/carts/${id}/promotions`, { body: { promo_codes: ["NOPE"] } })).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "The promotion code NOPE is invalid" },
    });
  });

  it("refuses unknown body and query fields, and malformed values, changing nothing", async () => {
    const id = await newCart();
    expect(await store("POST", `/store/carts/${id}/line-items`, { body: { variant_id: shop.mugId, quantity: 1, price: 0 } })).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "Invalid request: Unrecognized fields: 'price'" },
    });
    expect(await store("GET", `/store/carts/${id}?foo=1`)).toMatchObject({ status: 400, body: { message: "Invalid request: Unrecognized fields: 'foo'" } });
    expect(await store("POST", `/store/carts/${id}/line-items`, { body: { quantity: 1 } })).toMatchObject({
      status: 400,
      body: { message: "Invalid request: Field 'variant_id' is required" },
    });
    expect((await store("POST", `/store/carts/${id}/line-items`, { body: "{not json" })).body.type).toBe("invalid_data");
    const huge = await store("POST", `/store/carts/${id}/line-items`, { body: { variant_id: "x".repeat(5 * 1024 * 1024), quantity: 1 } });
    expect(huge).toMatchObject({ status: 413, body: { type: "invalid_data" } });
    expect((await store("GET", `/store/carts/${id}`)).body.cart.items).toEqual([]);
    expect(await store("GET", "/store/shipping-options")).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "Invalid request: Field 'cart_id' is required" },
    });
    expect(await store("GET", "/store/payment-providers")).toMatchObject({ status: 400, body: { message: "Invalid request: Field 'region_id' is required" } });
  });

  it("refuses what cannot be completed, in Medusa's words", async () => {
    const empty = await newCart();
    expect(await store("POST", `/store/carts/${empty}/complete`)).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "Cannot complete a cart with no items" },
    });
    const unpaid = await newCart({ items: [{ variant_id: shop.mugId, quantity: 1 }], email: "a@example.com", shipping_address: address });
    await store("POST", `/store/carts/${unpaid}/shipping-methods`, { body: [{ option_id: shop.shippingOptionId }] });
    expect(await store("POST", `/store/carts/${unpaid}/complete`)).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "Payment collection has not been initiated for cart" },
    });
    const { body } = await store("POST", "/store/payment-collections", { body: { cart_id: unpaid } });
    expect(await store("POST", `/store/carts/${unpaid}/complete`)).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "Payment sessions are required to complete cart" },
    });
    const wrongProvider = await store("POST", `/store/payment-collections/${body.payment_collection.id}/payment-sessions`, { body: { provider_id: "pp_stripe" } });
    expect(wrongProvider).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: `Payment provider pp_stripe is not enabled in the cart's region ${shop.regionId}.` },
    });
  });

  it("refuses an unknown shipping option, taxes without a country, a completed cart's changes and an unknown region", async () => {
    // A region of several countries gives a new cart no address.
    const id = await newCart({ region_id: shop.otherRegionId, items: [{ variant_id: shop.mugId, quantity: 1 }] });
    expect(await store("POST", `/store/carts/${id}/shipping-methods`, { body: { option_id: "nope" } })).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "Shipping Options are invalid for cart." },
    });
    expect(await store("POST", `/store/carts/${id}/taxes`)).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "country code is required to calculate taxes" },
    });
    const done = await checkoutReadyCart();
    expect((await store("POST", `/store/carts/${done}/complete`)).body.type).toBe("order");
    for (const [method, path, body] of [
      ["POST", `/store/carts/${done}`, { email: "x@example.com" }],
      ["POST", `/store/carts/${done}/line-items`, { variant_id: shop.mugId, quantity: 1 }],
      ["POST", `/store/carts/${done}/shipping-methods`, { option_id: shop.shippingOptionId }],
    ] as const) {
      expect(await store(method, path, { body })).toMatchObject({ status: 400, body: { type: "invalid_data", message: `Cart ${done} is already completed.` } });
    }
    expect(await store("GET", "/store/regions/nope")).toMatchObject({ status: 404, body: { type: "not_found", message: "Region with id: nope was not found" } });
  });

  it("answers a stale If-Match with Medusa's conflict, and honours a current one", async () => {
    const id = await newCart();
    const stale = await store("POST", `/store/carts/${id}/line-items`, { body: { variant_id: shop.mugId, quantity: 1 }, headers: { "if-match": '"999"' } });
    expect(stale).toMatchObject({
      status: 409,
      body: {
        code: "invalid_state_error",
        type: "conflict",
        message: "The request conflicted with another request. You may retry the request with the provided Idempotency-Key.",
      },
    });
    // A route that reads before it changes still checks the version on its change.
    const staleMove = await store("POST", `/store/carts/${id}`, { body: { region_id: shop.otherRegionId }, headers: { "if-match": '"999"' } });
    expect(staleMove.status).toBe(409);
    const current = (await store("GET", `/store/carts/${id}`)).headers.get("etag");
    expect(current).toBeTruthy();
    expect((await store("POST", `/store/carts/${id}/line-items`, { body: { variant_id: shop.mugId, quantity: 1 }, headers: { "if-match": current! } })).status).toBe(200);
  });

  it("replays an Idempotency-Key instead of adding twice", async () => {
    const id = await newCart();
    const add = () => store("POST", `/store/carts/${id}/line-items`, { body: { variant_id: shop.mugId, quantity: 2 }, headers: { "idempotency-key": `add-${id}` } });
    const first = await add();
    const second = await add();
    expect(second.body).toEqual(first.body);
    expect(second.body.cart.items[0].quantity).toBe(2);
  });
});

describe("shapes and fields (§4, §5)", () => {
  it("answers a new cart with real nulls, empty lists, a lowercase currency and every total", async () => {
    const { body } = await store("POST", "/store/carts", { body: { region_id: shop.regionId } });
    expect(body.cart).toMatchObject({
      currency_code: "usd",
      email: null,
      metadata: null,
      completed_at: null,
      billing_address: null,
      items: [],
      shipping_methods: [],
      promotions: [],
      credit_lines: [],
    });
    const totals = ["total", "subtotal", "tax_total", "discount_total", "discount_subtotal", "discount_tax_total", "original_total", "original_tax_total"];
    const more = ["item_total", "item_subtotal", "item_tax_total", "item_discount_total", "original_item_total", "original_item_subtotal", "original_item_tax_total"];
    const shipping = ["shipping_total", "shipping_subtotal", "shipping_tax_total", "shipping_discount_total", "original_shipping_tax_total"];
    const rest = ["original_shipping_subtotal", "original_shipping_total", "credit_line_subtotal", "credit_line_tax_total", "credit_line_total"];
    for (const name of [...totals, ...more, ...shipping, ...rest]) expect(body.cart[name], name).toBe(0);
  });

  it("selects exactly `id,region_id`, drops fields outside the allow-list, and keeps sums exact", async () => {
    const id = await newCart({ items: [{ variant_id: shop.mugId, quantity: 3 }] });
    expect((await store("GET", `/store/carts/${id}?fields=id,region_id`)).body).toEqual({ cart: { id, region_id: shop.regionId } });
    const extra = await store("GET", `/store/carts/${id}?fields=%2Bregion.metadata%2C%2Bitems.total%2C%2Bitems.subtotal`);
    expect(extra.body.cart.region).not.toHaveProperty("metadata");
    expect(extra.body.cart.items[0]).toMatchObject({ total: 42.87, subtotal: 38.97, unit_price: 12.99 });
    // A literal + decodes to a space, which Medusa reads as +.
    expect((await store("GET", `/store/carts/${id}?fields=+items.total`)).body.cart.items[0].total).toBe(42.87);
  });

  it("keeps a line per metadata: the same variant with other metadata is a new line (§3.4)", async () => {
    const id = await newCart();
    const add = (metadata: Record<string, unknown>) => store("POST", `/store/carts/${id}/line-items`, { body: { variant_id: shop.mugId, quantity: 1, metadata } });
    await add({ engraving: "A" });
    await add({ engraving: "B" });
    const { body } = await add({ engraving: "A" });
    const lines = body.cart.items.map((item: { quantity: number; metadata: Record<string, string> }) => [item.metadata.engraving, item.quantity]);
    expect(lines.sort()).toEqual([["A", 2], ["B", 1]]);
    const lineB = body.cart.items.find((item: { metadata: Record<string, string> }) => item.metadata.engraving === "B");
    const updated = await store("POST", `/store/carts/${id}/line-items/${lineB.id}`, { body: { quantity: 3, metadata: { engraving: "C", size: 2 } } });
    expect(updated.body.cart.items.find((item: { id: string }) => item.id === lineB.id)).toMatchObject({ quantity: 3, metadata: { engraving: "C", size: "2" } });
  });

  it("keeps the payment collection's amount on the cart total as promotions come and go (§3.7, §3.8)", async () => {
    const id = await newCart({ items: [{ variant_id: shop.mugId, quantity: 2 }] });
    const created = await store("POST", "/store/payment-collections", { body: { cart_id: id } });
    expect(created.body.payment_collection).toMatchObject({ amount: 28.58, currency_code: "usd", payment_sessions: [] });
    const again = await store("POST", "/store/payment-collections", { body: { cart_id: id } });
    expect(again.body.payment_collection.id).toBe(created.body.payment_collection.id);
    const promoted = await store("POST", `/store/carts/${id}/promotions`, { body: { promo_codes: [shop.promoCode] } });
    // 25.98 less 10% (2.60) is 23.38, plus 10% tax (2.34): 25.72.
    expect(promoted.body.cart).toMatchObject({ total: 25.72, payment_collection: { amount: 25.72 } });
    const removed = await store("DELETE", `/store/carts/${id}/promotions`, { body: { promo_codes: [shop.promoCode] } });
    expect(removed.body.cart).toMatchObject({ total: 28.58, promotions: [], payment_collection: { amount: 28.58 } });
  });

  it("lists regions with their countries and retrieves one", async () => {
    const { body } = await store("GET", `/store/regions?id=${shop.regionId}`);
    expect(body).toMatchObject({ count: 1, offset: 0, limit: 50 });
    expect(body.regions[0]).toMatchObject({ id: shop.regionId, currency_code: "usd", countries: [{ iso_2: "us", display_name: "United States" }] });
    expect((await store("GET", `/store/regions/${shop.otherRegionId}`)).body.region).toMatchObject({ currency_code: "eur" });
  });
});

// Medusa's own store cart tests (shared contract §11) that fit our domain, their numbers derived from our rules.
describe("Medusa's cart.spec cases, ported", () => {
  const fields = "fields=region_id,currency_code,item_total,item_tax_total,*items,shipping_address.country_code";

  it("moves a cart to a region of several countries: prices follow the region, the address is cleared", async () => {
    const id = await newCart({ items: [{ variant_id: shop.mugId, quantity: 1 }], shipping_address: address });
    const { status, body } = await store("POST", `/store/carts/${id}?${fields}`, { body: { region_id: shop.otherRegionId } });
    expect(status).toBe(200);
    // 11.90 EUR with 20% tax included: the tax part is 11.90 × 20/120 = 1.9833…, rounded to 1.98.
    expect(body.cart).toMatchObject({ region_id: shop.otherRegionId, currency_code: "eur", item_total: 11.9, item_tax_total: 1.98, shipping_address: null });
    expect(body.cart.items[0]).toMatchObject({ unit_price: 11.9, is_tax_inclusive: true });
  });

  it("moves a cart to a region of one country: that country becomes the address", async () => {
    const id = await newCart({ region_id: shop.otherRegionId });
    const { body } = await store("POST", `/store/carts/${id}?${fields}`, { body: { region_id: shop.regionId } });
    expect(body.cart).toMatchObject({ region_id: shop.regionId, currency_code: "usd", shipping_address: { country_code: "us" } });
  });

  it("moves region and address together when the country is in the new region", async () => {
    const id = await newCart();
    const { body } = await store("POST", `/store/carts/${id}?${fields}`, { body: { region_id: shop.otherRegionId, shipping_address: { country_code: "fr" } } });
    expect(body.cart).toMatchObject({ region_id: shop.otherRegionId, shipping_address: { country_code: "fr" } });
  });

  it("refuses an address country outside the region, with or without a region change", async () => {
    const id = await newCart();
    expect(await store("POST", `/store/carts/${id}`, { body: { shipping_address: { country_code: "de" } } })).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "Country with code de is not within region United States" },
    });
    expect(await store("POST", `/store/carts/${id}`, { body: { region_id: shop.otherRegionId, shipping_address: { country_code: "us" } } })).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "Country with code us is not within region Europe" },
    });
    expect((await store("GET", `/store/carts/${id}`)).body.cart.region_id).toBe(shop.regionId);
  });

  it("refuses a currency other than the region's, an unknown region and an unknown variant at creation", async () => {
    expect(await store("POST", "/store/carts", { body: { region_id: shop.regionId, currency_code: "EUR" } })).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "Currency code eur does not match the region's currency code usd" },
    });
    expect(await store("POST", "/store/carts", { body: { region_id: "nope" } })).toMatchObject({ status: 404, body: { type: "not_found", message: "No regions found" } });
    expect(await store("POST", "/store/carts", { body: { region_id: shop.regionId, items: [{ variant_id: "nope", quantity: 1 }] } })).toMatchObject({
      status: 400,
      body: { type: "invalid_data", message: "Variants nope do not exist or belong to a product that is not published" },
    });
  });

  it("replaces the promotion codes with an update, [] removing them all", async () => {
    const id = await newCart({ items: [{ variant_id: shop.mugId, quantity: 1 }], promo_codes: [shop.promoCode] });
    const held = await store("GET", `/store/carts/${id}`);
    expect(held.body.cart.promotions.map((promotion: { code: string }) => promotion.code)).toEqual([shop.promoCode]);
    const cleared = await store("POST", `/store/carts/${id}`, { body: { promo_codes: [] } });
    expect(cleared.body.cart).toMatchObject({ promotions: [], discount_total: 0 });
  });
});

describe("concurrency", () => {
  it("ends 50 parallel adds of one variant in one line of 50, every answer a 200", async () => {
    const id = await newCart();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => store("POST", `/store/carts/${id}/line-items`, { body: { variant_id: shop.mugId, quantity: 1 } })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(50).fill(200));
    const { body } = await store("GET", `/store/carts/${id}`);
    expect(body.cart.items).toHaveLength(1);
    expect(body.cart.items[0].quantity).toBe(50);
    expect(body.cart.item_subtotal).toBe(649.5);
  }, 120_000);

  it("gives every one of 10 parallel completes the same one order", async () => {
    const id = await checkoutReadyCart();
    const answers = await Promise.all(Array.from({ length: 10 }, () => store("POST", `/store/carts/${id}/complete`)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    const orderIds = new Set(answers.map((answer) => answer.body.type === "order" && answer.body.order.id));
    expect(orderIds.size).toBe(1);
  }, 120_000);
});

describe("transport", () => {
  it("answers over HTTP/2 too", async () => {
    const id = await newCart();
    const session = http2.connect(server.baseUrl);
    try {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({ ":method": "GET", ":path": `/store/carts/${id}?fields=id`, "x-publishable-api-key": shop.key });
        let status = 0;
        let body = "";
        stream.on("response", (headers) => (status = Number(headers[":status"])));
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => (body += chunk));
        stream.on("end", () => resolve({ status, body }));
        stream.on("error", reject);
        stream.end();
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({ cart: { id } });
    } finally {
      session.close();
    }
  });

  it("lets a storefront page send the publishable key and locale headers cross-origin", async () => {
    const preflight = await fetch(`${server.baseUrl}/store/carts`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type,x-publishable-api-key,x-medusa-locale,authorization" },
    });
    expect(preflight.status).toBe(204);
    const allowed = preflight.headers.get("access-control-allow-headers")!.toLowerCase();
    for (const header of ["x-publishable-api-key", "x-medusa-locale", "authorization", "content-type"]) expect(allowed).toContain(header);
    const read = await store("GET", "/store/regions", { headers: { origin, "x-medusa-locale": "" } });
    expect(read.status).toBe(200);
    expect(read.headers.get("access-control-allow-origin")).toBe(origin);
  });
});
