import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { Code, type ConnectError, type Transport } from "@connectrpc/connect";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CartService } from "../../gen/commerce/cart/v1/cart_service_pb.js";
import { CatalogService } from "../../gen/commerce/cart/v1/catalog_service_pb.js";
import { type PromotionSchema, PromotionTarget } from "../../gen/commerce/cart/v1/promotion_pb.js";
import type { RegionSchema } from "../../gen/commerce/cart/v1/region_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { customerToken } from "../support/auth.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { restCall } from "../support/rest-client.js";
import { refusal, violatedFields } from "../support/rpc-errors.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * Regions, sales channels, prices, promotions, shipping and totals through
 * the real protocols. Every id and code starts with "commerce-": the database
 * is shared with the other test files, so nothing here may touch their carts
 * (no automatic promotion covers their products, for instance).
 */

let server: TestServer;
let sql: postgres.Sql;

type ProtocolName = "connect+json (HTTP/1.1)" | "connect+proto (HTTP/2)" | "grpc-web (HTTP/1.1)" | "grpc (connect-node, HTTP/2)";
const transport = (name: ProtocolName): Transport => connectTransports(server.baseUrl)[name]!;
const carts = (name: ProtocolName = "connect+json (HTTP/1.1)") => clientFor(CartService, transport(name));
const store = (name: ProtocolName = "connect+json (HTTP/1.1)") => clientFor(StoreConfigService, transport(name));
const catalog = () => clientFor(CatalogService, transport("connect+json (HTTP/1.1)"));

const rest = (method: string, path: string, body?: unknown, headers?: Record<string, string>) =>
  restCall(server.baseUrl, method, path, body, headers);

const reasonOf = (error: ConnectError) => error.findDetails(ErrorInfoSchema)[0]?.metadata.promotion_refusal;

/** The cart as stored, with its lines, for "nothing changed" checks. */
async function snapshot(cartId: string) {
  const [row] = await sql`
    select row_to_json(c) as cart,
      coalesce((select json_agg(l order by l.id) from line_items l where l.cart_id = c.id), '[]') as lines
    from carts c where c.id = ${cartId}`;
  return row;
}

/** The plain-object form of a message's init shape. */
type Init<Desc extends DescMessage> = Exclude<MessageInitShape<Desc>, MessageShape<Desc>>;
type RegionInit = Init<typeof RegionSchema>;
type PromotionInit = Init<typeof PromotionSchema>;

const region = (id: string, currency: string, extra: Partial<RegionInit> = {}): RegionInit => ({ id, name: id, currency, ...extra });

async function product(id: string, prices: { currency: string; amountCents: bigint; regionId?: string; minQuantity?: number; compareAtAmountCents?: bigint }[], extra: object = {}) {
  await catalog().upsertProduct({ product: { id, title: id, active: true, prices, ...extra } });
}

async function promotion(init: PromotionInit) {
  await store().upsertPromotion({ promotion: { target: PromotionTarget.ORDER, ...init } });
}

const day = 86_400_000;
const timestamp = (date: Date) => ({ seconds: BigInt(Math.floor(date.getTime() / 1000)), nanos: 0 });
const address = (country: string, province = "") => ({ name: "Ada", line1: "1 Main St", city: "Town", postalCode: "1000", country, province });

beforeAll(async () => {
  server = await startServer();
  sql = postgres(inject("databaseUrl"), { max: 1, onnotice: () => {} });
  const regions = store();
  await regions.upsertRegion({ region: region("commerce-us10", "USD", { defaultTaxRatePpm: 100_000 }) });
  await regions.upsertRegion({ region: region("commerce-ship", "USD") });
  await regions.upsertRegion({
    region: region("commerce-eu19", "EUR", {
      countries: ["DE", "FR"],
      pricesIncludeTax: true,
      defaultTaxRatePpm: 190_000,
      taxRates: [
        { country: "DE", ratePpm: 190_000 },
        { country: "FR", ratePpm: 200_000 },
      ],
    }),
  });
  await regions.upsertRegion({ region: region("commerce-eu-bare", "EUR") });
  await regions.upsertRegion({ region: region("commerce-jpy", "JPY", { pricesIncludeTax: true, defaultTaxRatePpm: 100_000 }) });
  await regions.upsertRegion({ region: region("commerce-kwd", "KWD", { defaultTaxRatePpm: 50_000 }) });
  await regions.upsertSalesChannel({ salesChannel: { id: "commerce-app", name: "App" } });
  await product("commerce-25", [{ currency: "USD", amountCents: 2500n }]);
  await promotion({ id: "commerce-good", code: "COMMERCE-GOOD", value: { case: "percentageBp", value: 500 } });
  await regions.upsertShippingOption({
    shippingOption: { id: "commerce-std", name: "Standard", regionId: "commerce-ship", prices: [{ currency: "USD", amountCents: 500n, freeAboveCents: 5000n }] },
  });
  await regions.upsertShippingOption({
    shippingOption: { id: "commerce-kwd-post", name: "Post", regionId: "commerce-kwd", prices: [{ currency: "KWD", amountCents: 750n }] },
  });
});

afterAll(async () => {
  await sql?.end();
  await server?.stop();
});

describe("store configuration", () => {
  it("keeps regions over REST and gRPC alike", async () => {
    const put = await rest("PUT", "/v1/regions/commerce-crud", {
      id: "commerce-crud",
      name: "North America",
      currency: "USD",
      countries: ["US", "CA"],
      default_tax_rate_ppm: 0,
      tax_rates: [{ country: "US", rate_ppm: 0, provinces: [{ province: "CA", rate_ppm: 72500 }] }],
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: "commerce-crud", currency: "USD", countries: ["US", "CA"], prices_include_tax: false });

    const grpc = store("grpc (connect-node, HTTP/2)");
    const { region: read } = await grpc.getRegion({ id: "commerce-crud" });
    expect(read).toMatchObject({ name: "North America", taxRates: [{ country: "US", ratePpm: 0, provinces: [{ province: "CA", ratePpm: 72_500 }] }] });
    await grpc.upsertRegion({ region: { ...read!, name: "US and Canada" } });
    expect((await rest("GET", "/v1/regions/commerce-crud")).body.name).toBe("US and Canada");

    const ids: string[] = [];
    let pageToken = "";
    do {
      const page = await grpc.listRegions({ pageSize: 2, pageToken });
      ids.push(...page.regions.map((listed) => listed.id));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(ids).toEqual([...ids].sort());
    expect(ids).toEqual(expect.arrayContaining(["commerce-crud", "commerce-eu19", "default"]));

    const currencyChange = await refusal(grpc.upsertRegion({ region: { ...read!, currency: "EUR" } }));
    expect([currencyChange.code, currencyChange.rawMessage]).toEqual([
      Code.FailedPrecondition,
      "region commerce-crud sells in USD; a region's currency cannot change (create another region)",
    ]);
    expect((await rest("GET", "/v1/regions/commerce-missing")).status).toBe(404);
  });

  it("refuses invalid reference data, naming the fields", async () => {
    const invalid = await refusal(
      store("grpc (connect-node, HTTP/2)").upsertRegion({
        region: region("commerce-invalid", "usd", { countries: ["de"], defaultTaxRatePpm: 1_000_001 }),
      }),
    );
    expect(invalid.code).toBe(Code.InvalidArgument);
    expect(violatedFields(invalid).sort()).toEqual(["region.countries", "region.currency", "region.default_tax_rate_ppm"]);
    const unsupported = await refusal(store().upsertRegion({ region: region("commerce-xts", "XTS") }));
    expect([unsupported.code, unsupported.rawMessage]).toEqual([Code.InvalidArgument, "currency XTS is not supported"]);
    const orphan = await rest("PUT", "/v1/shipping-options/commerce-orphan", {
      id: "commerce-orphan",
      name: "Orphan",
      region_id: "commerce-nowhere",
      prices: [{ currency: "USD", amount_cents: "100" }],
    });
    expect([orphan.status, orphan.body.message]).toEqual([400, "region commerce-nowhere does not exist; create it first"]);
    const noValue = await rest("PUT", "/v1/promotions/commerce-novalue", { id: "commerce-novalue", target: "PROMOTION_TARGET_ORDER" });
    expect(noValue.status).toBe(400);
    expect(noValue.body.message).toMatch(/value/);
  });

  it("keeps sales channels, shipping options and promotions over REST, codes unique case-insensitively", async () => {
    expect((await rest("PUT", "/v1/sales-channels/commerce-pos", { id: "commerce-pos", name: "Shop floor" })).status).toBe(200);
    expect((await rest("GET", "/v1/sales-channels/commerce-pos")).body).toMatchObject({ name: "Shop floor" });
    const options = await rest("GET", "/v1/shipping-options?region_id=commerce-ship");
    expect(options.body.shipping_options.map((option: { id: string }) => option.id)).toEqual(["commerce-std"]);
    const created = await rest("PUT", "/v1/promotions/commerce-crud-promo", {
      id: "commerce-crud-promo",
      code: "COMMERCE-CRUD",
      fixed: { amounts: [{ currency: "USD", amount_cents: "500" }] },
      target: "PROMOTION_TARGET_PRODUCTS",
      product_ids: ["commerce-socks"],
      usage_limit: 10,
    });
    expect(created.status).toBe(200);
    expect((await rest("GET", "/v1/promotions/commerce-crud-promo")).body).toMatchObject({
      code: "COMMERCE-CRUD",
      fixed: { amounts: [{ currency: "USD", amount_cents: "500" }] },
      usage_limit: 10,
    });
    const clash = await rest("PUT", "/v1/promotions/commerce-clash", { id: "commerce-clash", code: "commerce-crud", percentage_bp: 100, target: "PROMOTION_TARGET_ORDER" });
    expect([clash.status, clash.body.message]).toEqual([400, 'promotion code "commerce-crud" is already used by promotion commerce-crud-promo']);
  });
});

describe("totals through the protocols", () => {
  it("3 × 9.99 at 10 % tax-exclusive: tax 3.00, total 32.97 (gRPC-Web)", async () => {
    await product("commerce-999", [{ currency: "USD", amountCents: 999n }]);
    const client = carts("grpc-web (HTTP/1.1)");
    const { cart } = await client.createCart({ customerId: "commerce-tax", regionId: "commerce-us10", items: [{ productId: "commerce-999", quantity: 3 }] });
    expect(cart?.totals).toMatchObject({ itemSubtotal: 2997n, itemTaxTotal: 300n, itemTotal: 3297n, taxTotal: 300n, subtotal: 2997n, total: 3297n });
    expect([cart?.subtotalCents, cart?.totalCents]).toEqual([2997n, 3297n]);
    expect(cart?.items[0]?.taxLines).toEqual([expect.objectContaining({ code: "default", ratePpm: 100_000, amountCents: 300n })]);
    expect((await client.getCart({ id: cart!.id })).cart).toEqual(cart);
  });

  it("tax-inclusive EUR prices with 5.00 off: the parts add up and tax follows the shipping country (Connect, protobuf)", async () => {
    await product("commerce-eu-a", [{ currency: "EUR", amountCents: 1999n, regionId: "commerce-eu19" }]);
    await product("commerce-eu-b", [{ currency: "EUR", amountCents: 499n, regionId: "commerce-eu19" }]);
    await promotion({ id: "commerce-eur5", code: "COMMERCE-EUR5", value: { case: "fixed", value: { amounts: [{ currency: "EUR", amountCents: 500n }] } } });
    const client = carts("connect+proto (HTTP/2)");
    const { cart } = await client.createCart({
      customerId: "commerce-eu",
      regionId: "commerce-eu19",
      shippingAddress: address("DE"),
      items: [
        { productId: "commerce-eu-a", quantity: 1 },
        { productId: "commerce-eu-b", quantity: 3 },
      ],
      promoCodes: ["commerce-eur5"],
    });
    expect(cart).toMatchObject({ currency: "EUR", promoCodes: ["COMMERCE-EUR5"] });
    expect(cart?.items.map((item) => [item.adjustments[0]?.amountCents, item.totals?.taxTotal, item.totals?.total])).toEqual([
      [286n, 274n, 1713n],
      [214n, 205n, 1283n],
    ]);
    expect(cart?.totals).toMatchObject({ itemSubtotal: 3496n, discountTotal: 500n, taxTotal: 479n, total: 2996n });

    const { cart: inFrance } = await client.updateCart({ cart: { id: cart!.id, shippingAddress: address("FR") }, updateMask: { paths: ["shipping_address"] } });
    // 1713 × 2000 / 12000 = 285.5 → 286 (tie, to even); 1283 × 2000 / 12000 = 213.83 → 214.
    expect(inFrance?.items.map((item) => item.taxLines[0])).toEqual([
      expect.objectContaining({ code: "FR", ratePpm: 200_000, amountCents: 286n }),
      expect.objectContaining({ code: "FR", ratePpm: 200_000, amountCents: 214n }),
    ]);
    expect(inFrance?.totals).toMatchObject({ taxTotal: 500n, total: 2996n });
  });

  it("a JPY cart, tax-inclusive 10 %, with a ¥500 promotion", async () => {
    await product("commerce-yen-a", [{ currency: "JPY", amountCents: 1200n }]);
    await product("commerce-yen-b", [{ currency: "JPY", amountCents: 800n }]);
    await promotion({ id: "commerce-yen500", code: "COMMERCE-YEN500", value: { case: "fixed", value: { amounts: [{ currency: "JPY", amountCents: 500n }] } } });
    const client = carts();
    const { cart } = await client.createCart({
      customerId: "commerce-jpy",
      currency: "JPY",
      regionId: "commerce-jpy",
      items: [
        { productId: "commerce-yen-a", quantity: 1 },
        { productId: "commerce-yen-b", quantity: 2 },
      ],
    });
    const { cart: discounted } = await client.applyPromotionCodes({ cartId: cart!.id, codes: ["COMMERCE-YEN500"] });
    expect(discounted?.items.map((item) => [item.adjustments[0]?.amountCents, item.totals?.taxTotal, item.totals?.total])).toEqual([
      [214n, 90n, 986n],
      [286n, 119n, 1314n],
    ]);
    expect(discounted?.totals).toMatchObject({ itemSubtotal: 2800n, discountTotal: 500n, taxTotal: 209n, total: 2300n });
  });

  it("a KWD cart with shipping, tax-exclusive 5 %: three decimals, ties to even (gRPC)", async () => {
    await product("commerce-fils", [{ currency: "KWD", amountCents: 1255n }]);
    const client = carts("grpc (connect-node, HTTP/2)");
    const { cart } = await client.createCart({ customerId: "commerce-kwd", currency: "KWD", regionId: "commerce-kwd", items: [{ productId: "commerce-fils", quantity: 2 }] });
    const { cart: shipped } = await client.addShippingMethod({ cartId: cart!.id, shippingOptionId: "commerce-kwd-post" });
    expect(shipped?.items[0]?.totals).toMatchObject({ subtotal: 2510n, taxTotal: 126n, total: 2636n });
    expect(shipped?.shippingMethods).toEqual([
      expect.objectContaining({ shippingOptionId: "commerce-kwd-post", name: "Post", amountCents: 750n, totals: expect.objectContaining({ taxTotal: 38n, total: 788n }) }),
    ]);
    expect(shipped?.totals).toMatchObject({ subtotal: 3260n, taxTotal: 164n, total: 3424n });
  });

  it("re-prices a line when its quantity crosses a tier", async () => {
    await product("commerce-socks", [
      { currency: "USD", amountCents: 1000n, compareAtAmountCents: 1200n },
      { currency: "USD", amountCents: 850n, minQuantity: 10 },
    ]);
    const client = carts();
    const { cart } = await client.createCart({ customerId: "commerce-tiers", items: [{ productId: "commerce-socks", quantity: 9 }] });
    const line = cart!.items[0]!;
    expect(line).toMatchObject({ unitPriceCents: 1000n, compareAtUnitPriceCents: 1200n, subtotalCents: 9000n });
    expect(line.totals?.originalTotal).toBe(10_800n);
    const { cart: ten } = await client.updateLineItem({ cartId: cart!.id, itemId: line.id, quantity: 10 });
    expect(ten?.items[0]).toMatchObject({ unitPriceCents: 850n, subtotalCents: 8500n });
    expect(ten?.items[0]?.compareAtUnitPriceCents).toBeUndefined();
    const { cart: nine } = await client.updateLineItem({ cartId: cart!.id, itemId: line.id, quantity: 9 });
    expect(nine?.items[0]).toMatchObject({ unitPriceCents: 1000n, subtotalCents: 9000n });
  });

  it("ships free from the threshold on, and charges again when a discount takes the cart below it", async () => {
    await promotion({ id: "commerce-ten", code: "COMMERCE-TEN", value: { case: "percentageBp", value: 1000 } });
    const client = carts();
    const { cart } = await client.createCart({ customerId: "commerce-free", regionId: "commerce-ship", items: [{ productId: "commerce-25", quantity: 1 }] });
    const { cart: shipped } = await client.addShippingMethod({ cartId: cart!.id, shippingOptionId: "commerce-std" });
    expect(shipped?.totals).toMatchObject({ shippingTotal: 500n, total: 3000n });
    const { cart: two } = await client.updateLineItem({ cartId: cart!.id, itemId: cart!.items[0]!.id, quantity: 2 });
    expect(two?.shippingMethods[0]?.amountCents).toBe(0n);
    expect(two?.totals).toMatchObject({ itemTotal: 5000n, shippingTotal: 0n, total: 5000n });
    const { cart: discounted } = await client.applyPromotionCodes({ cartId: cart!.id, codes: ["commerce-ten"] });
    expect(discounted?.totals).toMatchObject({ itemTotal: 4500n, shippingSubtotal: 500n, total: 5000n });
    expect((await client.getCart({ id: cart!.id })).cart).toEqual(discounted);
  });

  it("applies an automatic promotion without a code", async () => {
    await product("commerce-auto", [{ currency: "USD", amountCents: 1000n }]);
    await promotion({ id: "commerce-auto-20", value: { case: "percentageBp", value: 2000 }, target: PromotionTarget.PRODUCTS, productIds: ["commerce-auto"] });
    const { cart } = await carts().createCart({ customerId: "commerce-auto", items: [{ productId: "commerce-auto", quantity: 1 }] });
    expect(cart?.items[0]?.adjustments).toEqual([expect.objectContaining({ promotionId: "commerce-auto-20", code: "", amountCents: 200n })]);
    expect(cart?.promoCodes).toEqual([]);
    expect(cart?.totals?.total).toBe(800n);
  });
});

describe("regions and addresses on carts", () => {
  it("re-prices every line and drops shipping methods that no longer apply when the region changes", async () => {
    await product("commerce-mover", [
      { currency: "USD", amountCents: 3000n },
      { currency: "EUR", amountCents: 2380n, regionId: "commerce-eu19" },
    ]);
    const client = carts();
    const { cart } = await client.createCart({ customerId: "commerce-move", regionId: "commerce-ship", items: [{ productId: "commerce-mover", quantity: 2 }] });
    const { cart: shipped } = await client.addShippingMethod({ cartId: cart!.id, shippingOptionId: "commerce-std" });
    expect(shipped?.shippingMethods).toHaveLength(1);

    // Over REST, with the update mask as a query parameter.
    const moved = await rest("PATCH", `/v1/carts/${cart!.id}?update_mask=region_id,shipping_address`, {
      region_id: "commerce-eu19",
      shipping_address: { name: "Ada", line1: "Hauptstr. 1", city: "Berlin", postal_code: "10115", country: "DE" },
    });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ region_id: "commerce-eu19", currency: "EUR", shipping_methods: [] });
    expect(moved.body.items[0]).toMatchObject({ unit_price_cents: "2380", subtotal_cents: "4760" });
    // 4760 gross at 19 %: 4760 × 1900 / 11900 = 760.
    expect(moved.body.items[0].tax_lines).toEqual([{ code: "DE", rate_ppm: 190000, tax_class: "standard", amount_cents: "760" }]);
    expect(moved.body.totals).toMatchObject({ item_subtotal: "4760", tax_total: "760", shipping_total: "0", total: "4760" });
    expect(moved.body).toEqual((await rest("GET", `/v1/carts/${cart!.id}`)).body);
  });

  it("refuses a region where a product has no price, naming it, and changes nothing", async () => {
    await product("commerce-usd-only", [{ currency: "USD", amountCents: 700n }]);
    const client = carts("grpc (connect-node, HTTP/2)");
    const { cart } = await client.createCart({ customerId: "commerce-stuck", items: [{ productId: "commerce-usd-only", quantity: 1 }] });
    const before = await snapshot(cart!.id);
    const error = await refusal(client.updateCart({ cart: { id: cart!.id, regionId: "commerce-eu-bare" }, updateMask: { paths: ["region_id"] } }));
    expect([error.code, error.rawMessage]).toEqual([
      Code.FailedPrecondition,
      `cannot move cart ${cart!.id} to region commerce-eu-bare: product commerce-usd-only has no price in EUR in region commerce-eu-bare`,
    ]);
    expect(await snapshot(cart!.id)).toEqual(before);
  });

  it("refuses a shipping country outside the region, on create and on update, and changes nothing", async () => {
    const created = await rest("POST", "/v1/carts", { customer_id: "commerce-abroad", region_id: "commerce-eu19", shipping_address: { country: "US" } });
    expect([created.status, created.body.error, created.body.message]).toEqual([
      400,
      "failed_precondition",
      "region commerce-eu19 does not ship to US; its countries are DE, FR",
    ]);
    const { cart } = await carts().createCart({ customerId: "commerce-abroad", regionId: "commerce-eu19", shippingAddress: address("FR") });
    const before = await snapshot(cart!.id);
    const updated = await rest("PATCH", `/v1/carts/${cart!.id}?update_mask=shipping_address`, { shipping_address: { country: "US", city: "Boston" } });
    expect([updated.status, updated.body.message]).toEqual([400, "region commerce-eu19 does not ship to US; its countries are DE, FR"]);
    const lowerCase = await rest("PATCH", `/v1/carts/${cart!.id}?update_mask=shipping_address`, { shipping_address: { country: "fr" } });
    expect(lowerCase.status).toBe(400);
    expect(lowerCase.body.details.map((detail: { field?: string }) => detail.field)).toContain("cart.shipping_address.country");
    expect(await snapshot(cart!.id)).toEqual(before);
  });

  it("refuses products not sold in the cart's sales channel", async () => {
    await product("commerce-app-only", [{ currency: "USD", amountCents: 100n }], { salesChannelIds: ["commerce-app"] });
    const client = carts();
    const { cart } = await client.createCart({ customerId: "commerce-channel" });
    const error = await refusal(client.addLineItem({ cartId: cart!.id, productId: "commerce-app-only", quantity: 1 }));
    expect([error.code, error.rawMessage]).toEqual([Code.FailedPrecondition, "product commerce-app-only is not sold in sales channel default"]);

    const { cart: inApp } = await client.createCart({ customerId: "commerce-channel", salesChannelId: "commerce-app", items: [{ productId: "commerce-app-only", quantity: 1 }] });
    expect(inApp?.salesChannelId).toBe("commerce-app");
    const move = await refusal(client.updateCart({ cart: { id: inApp!.id, salesChannelId: "default" }, updateMask: { paths: ["sales_channel_id"] } }));
    expect(move.rawMessage).toBe(`cannot move cart ${inApp!.id} to sales channel default: product commerce-app-only is not sold in sales channel default`);
    const unknown = await refusal(client.createCart({ customerId: "commerce-channel", salesChannelId: "commerce-nowhere" }));
    expect([unknown.code, unknown.rawMessage]).toEqual([Code.NotFound, "sales channel commerce-nowhere does not exist"]);
  });

  it("gives carts created with only a currency that currency's region", async () => {
    const { cart } = await carts().createCart({ customerId: "commerce-currency", currency: "KWD" });
    expect(cart).toMatchObject({ currency: "KWD", regionId: "commerce-kwd" });
    const mismatch = await refusal(carts().createCart({ customerId: "commerce-currency", currency: "USD", regionId: "commerce-kwd" }));
    expect([mismatch.code, mismatch.rawMessage]).toEqual([Code.InvalidArgument, "currency USD is not the currency of region commerce-kwd (KWD)"]);
  });
});

describe("promotion codes", () => {
  const past = new Date(Date.now() - 2 * day);
  const future = new Date(Date.now() + 2 * day);
  let client: ReturnType<typeof carts>;

  beforeAll(async () => {
    client = carts("grpc (connect-node, HTTP/2)");
    await product("commerce-promo-item", [{ currency: "USD", amountCents: 2500n }]);
    const percent = { value: { case: "percentageBp" as const, value: 1000 } };
    await promotion({ id: "commerce-expired", code: "COMMERCE-EXPIRED", ...percent, startsAt: timestamp(new Date(past.getTime() - day)), endsAt: timestamp(past) });
    await promotion({ id: "commerce-early", code: "COMMERCE-EARLY", ...percent, startsAt: timestamp(future) });
    await promotion({ id: "commerce-once", code: "COMMERCE-ONCE", ...percent, usageLimit: 1 });
    await promotion({ id: "commerce-once-each", code: "COMMERCE-ONCE-EACH", ...percent, usageLimitPerCustomer: 1 });
    await promotion({ id: "commerce-euro", code: "COMMERCE-EURO", value: { case: "fixed", value: { amounts: [{ currency: "EUR", amountCents: 500n }] } } });
    await promotion({ id: "commerce-big", code: "COMMERCE-BIG", ...percent, minimumSubtotal: [{ currency: "USD", amountCents: 10_000n }] });
    await promotion({ id: "commerce-min40", code: "COMMERCE-MIN40", ...percent, minimumSubtotal: [{ currency: "USD", amountCents: 4000n }] });
    // Used up by orders.
    await product("commerce-promo-download", [{ currency: "USD", amountCents: 2500n }], { shippable: false });
    for (const [customerId, code] of [["commerce-promo-other", "COMMERCE-ONCE"], ["commerce-promo", "COMMERCE-ONCE-EACH"]] as const) {
      const items = [{ productId: "commerce-promo-download", quantity: 1 }];
      const { cart } = await client.createCart({ customerId, email: "buyer@example.com", items, promoCodes: [code] });
      await client.completeCart({ id: cart!.id });
    }
  });

  it.each([
    ["COMMERCE-NOPE", Code.NotFound, "unknown", 'promotion code "COMMERCE-NOPE" does not exist'],
    ["commerce-expired", Code.FailedPrecondition, "expired", /^promotion code "COMMERCE-EXPIRED" expired at \d{4}-/],
    ["COMMERCE-EARLY", Code.FailedPrecondition, "not_started", /^promotion code "COMMERCE-EARLY" is not valid before \d{4}-/],
    ["COMMERCE-ONCE", Code.FailedPrecondition, "exhausted", 'promotion code "COMMERCE-ONCE" has reached its limit of 1 uses'],
    ["COMMERCE-ONCE-EACH", Code.FailedPrecondition, "exhausted_for_customer", 'promotion code "COMMERCE-ONCE-EACH" has reached its limit of 1 uses per customer'],
    ["COMMERCE-EURO", Code.FailedPrecondition, "wrong_currency", 'promotion code "COMMERCE-EURO" does not apply to carts in USD'],
    ["COMMERCE-BIG", Code.FailedPrecondition, "minimum_not_met", 'promotion code "COMMERCE-BIG" needs an item subtotal of at least 100.00 USD; the cart has 25.00 USD'],
  ] as const)("refuses %s with its own readable reason and changes nothing", async (code, status, reason, message) => {
    const { cart } = await client.createCart({ customerId: "commerce-promo", items: [{ productId: "commerce-promo-item", quantity: 1 }] });
    const before = await snapshot(cart!.id);
    // After a good code: the request applies all its codes or none.
    const error = await refusal(client.applyPromotionCodes({ cartId: cart!.id, codes: ["COMMERCE-GOOD", code] }));
    expect(error.code).toBe(status);
    expect(error.rawMessage).toMatch(message);
    expect(reasonOf(error)).toBe(reason);
    expect(await snapshot(cart!.id)).toEqual(before);
  });

  it("keeps a code whose minimum is no longer met, explains why, and applies it again once met (REST)", async () => {
    const { cart } = await client.createCart({ customerId: "commerce-promo-min", items: [{ productId: "commerce-promo-item", quantity: 2 }] });
    const applied = await rest("POST", `/v1/carts/${cart!.id}/promotions`, { codes: ["commerce-min40"] });
    expect(applied.status).toBe(200);
    expect(applied.body).toMatchObject({ promo_codes: ["COMMERCE-MIN40"], totals: { discount_total: "500", total: "4500" }, promotion_notices: [] });
    const line = applied.body.items[0].id;
    const reduced = await rest("PATCH", `/v1/carts/${cart!.id}/items/${line}`, { quantity: 1 });
    expect(reduced.body).toMatchObject({ promo_codes: ["COMMERCE-MIN40"], totals: { discount_total: "0", total: "2500" } });
    expect(reduced.body.promotion_notices).toEqual([
      {
        code: "COMMERCE-MIN40",
        reason: "minimum_not_met",
        message: 'promotion code "COMMERCE-MIN40" needs an item subtotal of at least 40.00 USD; the cart has 25.00 USD',
      },
    ]);
    const restored = await rest("PATCH", `/v1/carts/${cart!.id}/items/${line}`, { quantity: 2 });
    expect(restored.body).toMatchObject({ totals: { discount_total: "500" }, promotion_notices: [] });
    const removed = await rest("POST", `/v1/carts/${cart!.id}/promotions:remove`, { codes: ["COMMERCE-MIN40"] });
    expect(removed.body).toMatchObject({ promo_codes: [], totals: { discount_total: "0", total: "5000" } });
    const again = await rest("POST", `/v1/carts/${cart!.id}/promotions:remove`, { codes: ["COMMERCE-MIN40"] });
    expect([again.status, again.body.message]).toEqual([404, `cart ${cart!.id} holds no promotion code "COMMERCE-MIN40"`]);
  });

  it("counts a use per order, not per cart holding the code", async () => {
    await promotion({ id: "commerce-single", code: "COMMERCE-SINGLE", value: { case: "percentageBp", value: 500 }, usageLimit: 1 });
    const items = [{ productId: "commerce-promo-download", quantity: 1 }];
    const holders = await Promise.all(
      ["commerce-single-a", "commerce-single-b"].map(async (customerId) => (await client.createCart({ customerId, email: "buyer@example.com", items })).cart!),
    );
    // Until an order uses it, any number of carts may hold the code.
    for (const holder of holders) await client.applyPromotionCodes({ cartId: holder.id, codes: ["COMMERCE-SINGLE"] });
    await client.completeCart({ id: holders[0]!.id });
    // The cart that holds it keeps it, but cannot become an order with it; no other cart gets it.
    await client.applyPromotionCodes({ cartId: holders[1]!.id, codes: ["COMMERCE-SINGLE"] });
    expect(reasonOf(await refusal(client.completeCart({ id: holders[1]!.id })))).toBe("exhausted");
    const { cart: late } = await client.createCart({ customerId: "commerce-single-c", items });
    expect(reasonOf(await refusal(client.applyPromotionCodes({ cartId: late!.id, codes: ["COMMERCE-SINGLE"] })))).toBe("exhausted");
  });
});

describe("access", () => {
  it("lets customers read the store configuration but not its promotions, change only their own carts, and write nothing else", async () => {
    const token = await customerToken("commerce-customer");
    const customerTransport = connectTransports(server.baseUrl, token)["connect+json (HTTP/1.1)"]!;
    const customerStore = clientFor(StoreConfigService, customerTransport);
    const customerCarts = clientFor(CartService, customerTransport);
    expect((await customerStore.getRegion({ id: "commerce-ship" })).region?.currency).toBe("USD");
    expect((await customerStore.listShippingOptions({ regionId: "commerce-ship" })).shippingOptions.map((option) => option.id)).toEqual(["commerce-std"]);
    expect((await refusal(customerStore.listPromotions({}))).code).toBe(Code.PermissionDenied);
    expect((await refusal(customerStore.upsertRegion({ region: region("commerce-hijack", "USD") }))).code).toBe(Code.PermissionDenied);

    const { cart: own } = await customerCarts.createCart({ customerId: "commerce-customer", items: [{ productId: "commerce-25", quantity: 1 }] });
    expect((await customerCarts.applyPromotionCodes({ cartId: own!.id, codes: ["COMMERCE-GOOD"] })).cart?.promoCodes).toEqual(["COMMERCE-GOOD"]);
    const { cart: foreign } = await carts().createCart({ customerId: "commerce-someone-else" });
    const before = await snapshot(foreign!.id);
    expect((await refusal(customerCarts.applyPromotionCodes({ cartId: foreign!.id, codes: ["COMMERCE-GOOD"] }))).code).toBe(Code.PermissionDenied);
    expect((await refusal(customerCarts.addShippingMethod({ cartId: foreign!.id, shippingOptionId: "commerce-std" }))).code).toBe(Code.PermissionDenied);
    expect(await snapshot(foreign!.id)).toEqual(before);
  });
});

describe("shipping methods", () => {
  it("chooses, replaces and removes a shipping method over REST, and refuses options of other regions", async () => {
    const { cart } = await carts().createCart({ customerId: "commerce-shipping", regionId: "commerce-ship", items: [{ productId: "commerce-25", quantity: 1 }] });
    const first = await rest("POST", `/v1/carts/${cart!.id}/shipping-methods`, { shipping_option_id: "commerce-std" });
    expect(first.body.shipping_methods).toEqual([expect.objectContaining({ shipping_option_id: "commerce-std", amount_cents: "500" })]);
    const second = await rest("POST", `/v1/carts/${cart!.id}/shipping-methods`, { shipping_option_id: "commerce-std" });
    expect(second.body.shipping_methods).toHaveLength(1);
    const before = await snapshot(cart!.id);
    const foreign = await rest("POST", `/v1/carts/${cart!.id}/shipping-methods`, { shipping_option_id: "commerce-kwd-post" });
    expect([foreign.status, foreign.body.message]).toEqual([
      400,
      `cart ${cart!.id} cannot ship with option commerce-kwd-post: shipping option commerce-kwd-post belongs to region commerce-kwd, not the cart's region commerce-ship`,
    ]);
    const unknown = await rest("POST", `/v1/carts/${cart!.id}/shipping-methods`, { shipping_option_id: "commerce-teleport" });
    expect([unknown.status, unknown.body.message]).toEqual([404, "shipping option commerce-teleport does not exist"]);
    expect(await snapshot(cart!.id)).toEqual(before);
    const method = second.body.shipping_methods[0].id;
    const removed = await rest("DELETE", `/v1/carts/${cart!.id}/shipping-methods/${method}`);
    expect(removed.body).toMatchObject({ shipping_methods: [], totals: { total: "2500" } });
  });
});
