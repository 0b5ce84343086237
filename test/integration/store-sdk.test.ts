import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { customerToken } from "../support/auth.js";
import { startServer, type TestServer } from "../support/server.js";
import { seedStore, type StoreFixture } from "../support/store.js";

// The SDK ships CommonJS (its "esm" build is CommonJS too, for Node): loaded as such, typed as such.
// eslint-disable-next-line @typescript-eslint/consistent-type-imports -- the typing of require(), which `import type` does not give
const { default: Medusa, FetchError } = createRequire(import.meta.url)("@medusajs/js-sdk") as typeof import("@medusajs/js-sdk");
type Medusa = InstanceType<typeof Medusa>;
type FetchError = InstanceType<typeof FetchError>;
/** What these tests read of a line item (the SDK's own types come from @medusajs/types, not installed). */
interface Line {
  id: string;
  title: string;
  quantity: number;
  variant_id: string;
}

/** The cart page's `fields`, exactly as the Next.js starters send them. */
const cartPageFields = "*items, *region, *items.product, *items.variant, *items.thumbnail, *items.metadata, +items.total, *promotions, +shipping_methods.name";

let server: TestServer;
let shop: StoreFixture;

beforeAll(async () => {
  server = await startServer();
  shop = await seedStore(server.baseUrl, "sdk");
});

afterAll(() => server?.stop());

function sdkFor(publishableKey: string): Medusa {
  return new Medusa({ baseUrl: server.baseUrl, publishableKey, auth: { type: "jwt", jwtTokenStorageMethod: "memory" } });
}

describe("the unchanged @medusajs/js-sdk", () => {
  it("runs a storefront's whole cart and checkout flow, then the completed cart refuses changes", async () => {
    const sdk = sdkFor(shop.key);

    // 0. The region map of the storefront's middleware.
    const { regions } = await sdk.store.region.list();
    const region = regions.find((candidate: { id: string }) => candidate.id === shop.regionId)!;
    expect(region.countries?.map((country: { iso_2: string }) => country.iso_2)).toEqual(["us"]);

    // 1. Create and add, as getOrSetCart and addToCart do.
    const { cart: created } = await sdk.store.cart.create({ region_id: region.id });
    expect(created).toMatchObject({ region_id: shop.regionId, currency_code: "usd", items: [], email: null, sales_channel_id: shop.salesChannelId });
    const { cart: probed } = await sdk.store.cart.retrieve(created.id, { fields: "id,region_id" });
    expect(probed).toEqual({ id: created.id, region_id: shop.regionId });
    await sdk.store.cart.createLineItem(created.id, { variant_id: shop.mugId, quantity: 1 });

    // 2. The cart page.
    const { cart: page } = await sdk.store.cart.retrieve(created.id, { fields: cartPageFields });
    expect(page.items).toHaveLength(1);
    expect(page.items![0]).toMatchObject({ title: "Mug", thumbnail: "https://img.example/mug.png", unit_price: 12.99, quantity: 1, total: 14.29 });
    expect(page.region).toMatchObject({ id: shop.regionId, currency_code: "usd" });

    // 3. Quantity change, and removal of a second line.
    const line = page.items![0]!;
    const { cart: three } = await sdk.store.cart.updateLineItem(created.id, line.id, { quantity: 3 });
    expect(three).toMatchObject({ item_subtotal: 38.97, item_tax_total: 3.9, total: 42.87 });
    const { cart: withTee } = await sdk.store.cart.createLineItem(created.id, { variant_id: shop.teeId, quantity: 1 });
    const teeLine = withTee.items!.find((item: Line) => item.variant_id === shop.teeId)!;
    const removed = await sdk.store.cart.deleteLineItem(created.id, teeLine.id);
    expect(removed).toMatchObject({ id: teeLine.id, object: "line-item", deleted: true });
    expect(removed.parent?.items?.map((item: Line) => item.variant_id)).toEqual([shop.mugId]);

    // 4. Promo code through update (replace semantics).
    const { cart: promoted } = await sdk.store.cart.update(created.id, { promo_codes: [shop.promoCode] });
    expect(promoted.promotions?.map((promotion: { code: string }) => promotion.code)).toEqual([shop.promoCode]);
    // 10% of 38.97 is 3.897, rounded half-even to 3.90; tax is 10% of the discounted 35.07.
    expect(promoted).toMatchObject({ discount_total: 3.9, item_tax_total: 3.51, total: 38.58 });

    // 5. Addresses and email.
    const address = {
      first_name: "Ada",
      last_name: "Lovelace",
      address_1: "1 Main St",
      address_2: "",
      company: "",
      postal_code: "10001",
      city: "New York",
      country_code: "us",
      province: "NY",
      phone: "555 0100",
    };
    const { cart: addressed } = await sdk.store.cart.update(created.id, { shipping_address: address, billing_address: address, email: "ada@example.com" });
    expect(addressed.email).toBe("ada@example.com");
    expect(addressed.shipping_address).toMatchObject({ first_name: "Ada", last_name: "Lovelace", country_code: "us", city: "New York" });

    // 6. Delivery.
    const { shipping_options: options } = await sdk.store.fulfillment.listCartOptions({ cart_id: created.id });
    const standard = options.find((option: { id: string }) => option.id === shop.shippingOptionId)!;
    expect(standard).toMatchObject({ name: "Standard", amount: 5, price_type: "flat", insufficient_inventory: false });
    const { cart: shipped } = await sdk.store.cart.addShippingMethod(created.id, { option_id: standard.id });
    expect(shipped).toMatchObject({ shipping_total: 5.5, total: 44.08 });

    // 7. Payment.
    const { payment_providers: providers } = await sdk.store.payment.listPaymentProviders({ region_id: region.id });
    expect(providers.map((provider: { id: string }) => provider.id)).toContain("pp_system_default");
    const { payment_collection: collection } = await sdk.store.payment.initiatePaymentSession(shipped, { provider_id: "pp_system_default" });
    expect(collection).toMatchObject({ amount: 44.08, currency_code: "usd" });
    expect(collection.payment_sessions).toEqual([expect.objectContaining({ provider_id: "pp_system_default", status: "pending", amount: 44.08 })]);
    const { cart: paying } = await sdk.store.cart.retrieve(created.id);
    expect(paying.payment_collection?.id).toBe(collection.id);

    // 8. Place the order, and read it as the confirmation page does.
    const completion = await sdk.store.cart.complete(created.id);
    expect(completion.type).toBe("order");
    if (completion.type !== "order") throw new Error("not completed");
    expect(completion.order).toMatchObject({ currency_code: "usd", total: 44.08, email: "ada@example.com" });
    expect(completion.order.shipping_address?.country_code).toBe("us");
    const { order } = await sdk.store.order.retrieve(completion.order.id, { fields: "*payment_collections.payments,*items,*items.metadata,*items.variant,*items.product" });
    expect(order.id).toBe(completion.order.id);
    expect(order.items?.map((item: Line) => [item.title, item.quantity])).toEqual([["Mug", 3]]);

    // A repeated complete answers the same order.
    const again = await sdk.store.cart.complete(created.id);
    expect(again.type === "order" && again.order.id).toBe(completion.order.id);

    // The completed cart refuses changes with Medusa's message.
    const refusal = await sdk.store.cart.createLineItem(created.id, { variant_id: shop.mugId, quantity: 1 }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(FetchError);
    expect((refusal as FetchError).status).toBe(400);
    expect((refusal as FetchError).message).toBe(`Cart ${created.id} is already completed.`);
    const read = await sdk.store.cart.retrieve(created.id);
    expect(read.cart.completed_at).not.toBeNull();
  });

  it("hands a guest cart to the customer who signs in", async () => {
    const sdk = sdkFor(shop.key);
    const { cart } = await sdk.store.cart.create({ region_id: shop.regionId, items: [{ variant_id: shop.mugId, quantity: 2 }] });
    expect(cart.customer).toBeNull();
    sdk.client.setToken(await customerToken("sdk-customer-1"));
    const { cart: transferred } = await sdk.store.cart.transferCart(cart.id);
    expect(transferred).toMatchObject({ id: cart.id, customer: { id: "sdk-customer-1" } });
    // Now it is the customer's: an anonymous caller no longer finds it.
    const anonymous = sdkFor(shop.key);
    const hidden = await anonymous.store.cart.retrieve(cart.id).catch((error: unknown) => error);
    expect((hidden as FetchError).status).toBe(404);
  });
});
