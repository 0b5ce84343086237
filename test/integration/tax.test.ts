import { create } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegionSchema } from "../../gen/commerce/cart/v1/region_pb.js";
import { StoreConfigService } from "../../gen/commerce/cart/v1/store_config_service_pb.js";
import { ratePercent } from "../../src/domain/tax.js";
import { clientFor, connectTransports } from "../support/clients.js";
import { grpcJsClient, type GrpcJsClient } from "../support/grpc-js-client.js";
import { restCall } from "../support/rest-client.js";
import { refusal, violatedFields } from "../support/rpc-errors.js";
import { startServer, type TestServer } from "../support/server.js";

/**
 * Tax rates finer than a basis point and tax classes, set through the admin
 * RPCs over native gRPC (a plain @grpc/grpc-js client) and REST, and charged
 * on real carts. Ids start with "tax-": the database is shared with the other
 * test files.
 */

let server: TestServer;
let storeConfig: GrpcJsClient;
let catalog: GrpcJsClient;
let carts: GrpcJsClient;

const rest = (method: string, path: string, body?: unknown) => restCall(server.baseUrl, method, path, body);

async function restOk(method: string, path: string, body?: unknown) {
  const answer = await rest(method, path, body);
  expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
  return answer.body;
}

const address = (country: string, province = "") => ({ name: "Ada", line1: "1 Main St", city: "Town", postal_code: "1000", country, province });

beforeAll(async () => {
  server = await startServer();
  storeConfig = grpcJsClient("StoreConfigService", server.port);
  catalog = grpcJsClient("CatalogService", server.port);
  carts = grpcJsClient("CartService", server.port);
});

afterAll(async () => {
  for (const client of [storeConfig, catalog, carts]) client?.close();
  await server?.stop();
});

describe("rates and classes over gRPC", () => {
  it("charges New York's 8.875 % and a grocery class at 0 %, and never taxes a gift card", async () => {
    const { region } = await storeConfig.UpsertRegion({
      region: {
        id: "tax-us",
        name: "United States",
        currency: "USD",
        countries: ["US"],
        tax_rates: [
          {
            country: "US",
            rate_ppm: 0,
            provinces: [
              { province: "NY", rate_ppm: 88_750, class_rates: [{ tax_class: "grocery", rate_ppm: 0 }] },
              { province: "CA", rate_ppm: 72_500 },
            ],
          },
        ],
      },
    });
    expect(region.tax_rates[0].provinces[0]).toMatchObject({
      province: "NY",
      rate_ppm: 88_750,
      class_rates: [{ tax_class: "grocery", rate_ppm: 0 }],
      combined: false,
    });

    const usd = (amount: number) => [{ currency: "USD", amount_cents: String(amount) }];
    const { product: tee } = await catalog.UpsertProduct({ product: { id: "tax-tee", title: "Tee", active: true, prices: usd(12_900) } });
    const { product: apples } = await catalog.UpsertProduct({
      product: { id: "tax-apples", title: "Apples", active: true, tax_class: "grocery", prices: usd(499) },
    });
    const { product: giftCard } = await catalog.UpsertProduct({
      product: { id: "tax-gift", title: "Gift card", active: true, gift_card: true, shippable: false, prices: usd(2500) },
    });
    expect([tee.tax_class, apples.tax_class, giftCard.tax_class]).toEqual(["standard", "grocery", "standard"]);
    // A gift card is not discountable unless the catalog says so.
    expect([tee.discountable, giftCard.discountable, giftCard.gift_card]).toEqual([true, false, true]);

    const { cart } = await carts.CreateCart({
      customer_id: "tax-customer",
      region_id: "tax-us",
      shipping_address: address("US", "NY"),
      items: [
        { product_id: "tax-tee", quantity: 1 },
        { product_id: "tax-apples", quantity: 2 },
        { product_id: "tax-gift", quantity: 1 },
      ],
    });
    const taxLines = Object.fromEntries(cart.items.map((item: { product_id: string; tax_lines: unknown }) => [item.product_id, item.tax_lines]));
    // 129.00 × 8.875 % = 11.44875 → 11.45 (887 bp would charge 11.44, 888 bp 11.46).
    expect(taxLines["tax-tee"]).toEqual([{ code: "US-NY", rate_ppm: 88_750, tax_class: "standard", amount_cents: "1145" }]);
    expect(taxLines["tax-apples"]).toEqual([{ code: "US-NY", rate_ppm: 0, tax_class: "grocery", amount_cents: "0" }]);
    expect(taxLines["tax-gift"]).toEqual([]);
    expect(cart.items.map((item: { tax_class: string; gift_card: boolean }) => [item.tax_class, item.gift_card])).toEqual([
      ["standard", false],
      ["grocery", false],
      ["standard", true],
    ]);
    expect(cart.totals).toMatchObject({ item_subtotal: "16398", item_tax_total: "1145", total: "17543" });
    expect(ratePercent(taxLines["tax-tee"][0].rate_ppm)).toBe("8.875");

    // Moving the cart to California: the standard rate there, and California has no grocery rate, so apples pay it too.
    const { cart: moved } = await carts.UpdateCart({
      cart: { id: cart.id, shipping_address: address("US", "CA") },
      update_mask: { paths: ["shipping_address"] },
    });
    expect(moved.items[1].tax_lines).toEqual([{ code: "US-CA", rate_ppm: 72_500, tax_class: "standard", amount_cents: "72" }]);
  });

  it("refuses the basis-point rates an old binary client still sends, rather than charging 0 %", async () => {
    const client = clientFor(StoreConfigService, connectTransports(server.baseUrl)["grpc (connect-node, HTTP/2)"]!);
    // The reserved fields as a client built from the old protos writes them: a varint, 888 bp.
    const basisPoints = (fieldNumber: number) => ({ no: fieldNumber, wireType: WireType.Varint, data: new BinaryWriter().uint32(888).finish() });
    const region = create(RegionSchema, {
      id: "tax-old-client",
      name: "Old client",
      currency: "USD",
      taxRates: [{ country: "US", provinces: [{ province: "NY" }] }],
    });
    region.taxRates[0]!.provinces[0]!.$unknown = [basisPoints(2)];
    const province = await refusal(client.upsertRegion({ region }));
    expect(province.code).toBe(Code.InvalidArgument);
    expect(violatedFields(province)).toEqual(["region.tax_rates[0].provinces[0].rate_bp"]);
    expect(province.rawMessage).toMatch(/replaced by rate_ppm.*× 100/);

    region.$unknown = [basisPoints(6)];
    expect(violatedFields(await refusal(client.upsertRegion({ region })))).toEqual(["region.default_tax_rate_bp"]);
    expect((await rest("GET", "/v1/regions/tax-old-client")).status).toBe(404);
  });
});

describe("rates and classes over REST", () => {
  it("charges Quebec's GST and QST as two tax lines", async () => {
    const region = await restOk("PUT", "/v1/regions/tax-ca", {
      name: "Canada",
      currency: "CAD",
      countries: ["CA"],
      tax_rates: [{ country: "CA", rate_ppm: 50_000, provinces: [{ province: "QC", rate_ppm: 99_750, combined: true }] }],
    });
    expect(region.tax_rates).toEqual([
      { country: "CA", rate_ppm: 50_000, class_rates: [], provinces: [{ province: "QC", rate_ppm: 99_750, class_rates: [], combined: true }] },
    ]);
    expect(region.default_tax_rate_ppm).toBe(0);
    await restOk("PUT", "/v1/products/tax-maple", { title: "Maple syrup", active: true, prices: [{ currency: "CAD", amount_cents: "1999" }] });

    const cart = await restOk("POST", "/v1/carts", {
      customer_id: "tax-customer",
      region_id: "tax-ca",
      shipping_address: address("CA", "QC"),
      items: [{ product_id: "tax-maple", quantity: 1 }],
    });
    // 19.99 × 5 % = 0.9995 → 1.00; × 9.975 % = 1.994 → 1.99.
    expect(cart.items[0].tax_lines).toEqual([
      { code: "CA", rate_ppm: 50_000, tax_class: "standard", amount_cents: "100" },
      { code: "CA-QC", rate_ppm: 99_750, tax_class: "standard", amount_cents: "199" },
    ]);
    expect(cart.totals).toMatchObject({ tax_total: "299", total: "2298" });
    expect(cart.items[0].tax_lines.map((line: { rate_ppm: number }) => ratePercent(line.rate_ppm))).toEqual(["5", "9.975"]);
  });

  it("charges UK VAT at standard, reduced and zero rates in one cart, VAT included", async () => {
    await restOk("PUT", "/v1/regions/tax-uk", {
      name: "United Kingdom",
      currency: "GBP",
      countries: ["GB"],
      prices_include_tax: true,
      default_tax_rate_ppm: 200_000,
      default_tax_class_rates: [
        { tax_class: "reduced", rate_ppm: 50_000 },
        { tax_class: "zero", rate_ppm: 0 },
      ],
    });
    const gbp = (amount: number) => [{ currency: "GBP", amount_cents: String(amount) }];
    await restOk("PUT", "/v1/products/tax-uk-tee", { title: "Tee", active: true, prices: gbp(2400) });
    await restOk("PUT", "/v1/products/tax-uk-seat", { title: "Car seat", active: true, tax_class: "reduced", prices: gbp(8999) });
    const book = await restOk("PUT", "/v1/products/tax-uk-book", { title: "Book", active: true, tax_class: "zero", prices: gbp(799) });
    expect(book).toMatchObject({ tax_class: "zero", gift_card: false });

    const cart = await restOk("POST", "/v1/carts", {
      customer_id: "tax-customer",
      region_id: "tax-uk",
      shipping_address: address("GB"),
      items: [
        { product_id: "tax-uk-tee", quantity: 1 },
        { product_id: "tax-uk-seat", quantity: 1 },
        { product_id: "tax-uk-book", quantity: 2 },
      ],
    });
    expect(cart.items.map((item: { tax_lines: unknown[] }) => item.tax_lines)).toEqual([
      [{ code: "default", rate_ppm: 200_000, tax_class: "standard", amount_cents: "400" }],
      [{ code: "default", rate_ppm: 50_000, tax_class: "reduced", amount_cents: "429" }],
      [{ code: "default", rate_ppm: 0, tax_class: "zero", amount_cents: "0" }],
    ]);
    expect(cart.totals).toMatchObject({ item_subtotal: "12997", item_tax_total: "829", total: "12997" });
  });

  it("leaves gift cards out of a free-shipping threshold unless the option counts them", async () => {
    await restOk("PUT", "/v1/products/tax-gift-usd", {
      title: "Gift card",
      active: true,
      gift_card: true,
      shippable: false,
      prices: [{ currency: "USD", amount_cents: "2500" }],
    });
    await restOk("PUT", "/v1/products/tax-mug", { title: "Mug", active: true, prices: [{ currency: "USD", amount_cents: "3000" }] });
    const option = { name: "Standard", region_id: "tax-us", prices: [{ currency: "USD", amount_cents: "599", free_above_cents: "5000" }] };
    const stored = await restOk("PUT", "/v1/shipping-options/tax-std", option);
    expect(stored.gift_cards_count_towards_free_shipping).toBe(false);

    const cart = await restOk("POST", "/v1/carts", {
      customer_id: "tax-customer",
      region_id: "tax-us",
      shipping_address: address("US", "CA"),
      items: [
        { product_id: "tax-mug", quantity: 1 },
        { product_id: "tax-gift-usd", quantity: 1 },
      ],
    });
    const shipped = await restOk("POST", `/v1/carts/${cart.id}/shipping-methods`, { shipping_option_id: "tax-std" });
    // 55.00 of items, but only the mug's 30.00 counts: 5.99 of shipping, taxed 7.25 % = 0.43.
    expect(shipped.shipping_methods[0]).toMatchObject({ amount_cents: "599", totals: { total: "642" } });
    expect(shipped.totals).toMatchObject({ item_tax_total: "218", total: "6360" });

    await restOk("PUT", "/v1/shipping-options/tax-std", { ...option, gift_cards_count_towards_free_shipping: true });
    const repriced = await restOk("PATCH", `/v1/carts/${cart.id}?update_mask=email`, { email: "ada@example.com" });
    expect(repriced.shipping_methods[0]).toMatchObject({ amount_cents: "0" });
    expect(repriced.totals).toMatchObject({ total: "5718" });
  });

  it("refuses rates above 100 %, bad classes and the removed basis-point fields, naming the field", async () => {
    const tooHigh = await rest("PUT", "/v1/regions/tax-bad", {
      name: "Bad",
      currency: "USD",
      tax_rates: [{ country: "US", rate_ppm: 1_000_001 }],
    });
    expect(tooHigh.status).toBe(400);
    expect(tooHigh.body.details.map((detail: { field: string }) => detail.field)).toContain("region.tax_rates[0].rate_ppm");

    const standardAsClass = await rest("PUT", "/v1/regions/tax-bad", {
      name: "Bad",
      currency: "USD",
      default_tax_class_rates: [{ tax_class: "standard", rate_ppm: 0 }],
    });
    expect(standardAsClass.status).toBe(400);
    expect(standardAsClass.body.details.map((detail: { field: string }) => detail.field)).toContain("region.default_tax_class_rates[0].tax_class");

    const twice = await rest("PUT", "/v1/regions/tax-bad", {
      name: "Bad",
      currency: "USD",
      default_tax_class_rates: [
        { tax_class: "reduced", rate_ppm: 0 },
        { tax_class: "reduced", rate_ppm: 50_000 },
      ],
    });
    expect(twice.status).toBe(400);
    expect(twice.body.message).toMatch(/at most one entry per tax class/);

    const oldField = await rest("PUT", "/v1/regions/tax-bad", { name: "Bad", currency: "USD", default_tax_rate_bp: 725 });
    expect(oldField.status).toBe(400);
    expect(oldField.body.message).toMatch(/default_tax_rate_bp/);

    const badClass = await rest("PUT", "/v1/products/tax-bad", { title: "Bad", active: true, tax_class: "Reduced Rate" });
    expect(badClass.status).toBe(400);
    expect(badClass.body.details.map((detail: { field: string }) => detail.field)).toEqual(["product.tax_class"]);
    expect((await rest("GET", "/v1/regions/tax-bad")).status).toBe(404);
  });
});
