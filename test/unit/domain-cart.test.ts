import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  addLineItem,
  addShippingMethod,
  applyPromotionCodes,
  type Cart,
  type CartLimits,
  type ChangeContext,
  type CodeLookup,
  createCart,
  deleteCart,
  etagOf,
  type ItemToAdd,
  type PricingContext,
  type ProductOffer,
  removeLineItem,
  removePromotionCodes,
  removeShippingMethod,
  updateCart,
  updateLineItem,
} from "../../src/domain/cart.js";
import type { TieredPrice } from "../../src/domain/pricing.js";
import type { Promotion } from "../../src/domain/promotions.js";
import { type NamedShippingOption, type Region, taxFreeRegion } from "../../src/domain/store.js";
import { domainRefusal, productOffer } from "../support/domain.js";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:01:00Z");
const t2 = new Date("2026-01-01T00:02:00Z");

const limits: CartLimits = { maxLines: 3, maxLineQuantity: 100, lifetimeMs: 30 * 86_400_000, emptyLifetimeMs: 6 * 3_600_000 };

const usdRegion = taxFreeRegion("us", "USD", t0);
const eurRegion: Region = {
  ...taxFreeRegion("eu", "EUR", t0),
  countries: ["DE", "FR"],
  tax: { pricesIncludeTax: true, defaults: { ratePpm: 190_000 }, countries: [{ country: "FR", ratePpm: 200_000 }] },
};

const pricing = (region: Region = usdRegion, extra: Partial<PricingContext> = {}): PricingContext => ({
  region,
  promotions: [],
  shippingOptions: [],
  ...extra,
});
const at = (now: Date, pricingContext: PricingContext = pricing()): ChangeContext => ({ now, limits, pricing: pricingContext });

const usd = (amount: bigint, extra: Partial<TieredPrice> = {}): TieredPrice => ({ currency: "USD", minQuantity: 1, amount, ...extra });

let lineCounter = 0;
function item(productId: string, quantity: number, unitPrice = 250n, extra: Partial<ProductOffer> = {}): ItemToAdd {
  return { productId, quantity, offer: productOffer([usd(unitPrice)], extra), newLineId: `line-${++lineCounter}` };
}

const noCodes = { codes: [], found: new Map<string, CodeLookup>() };

function newCart(items: readonly ItemToAdd[] = [], context: ChangeContext = at(t0)): Cart {
  return createCart({ id: "cart-1", customerId: "c-1", salesChannelId: "web", email: "", metadata: {} }, items, noCodes, context);
}

/** Runs `change` and returns the DomainError it throws. */

/** Without tax, promotions or shipping, every total is the sum of quantity × unit price. */
function expectTotalsConsistent(cart: Cart): void {
  const subtotal = cart.lines.reduce((sum, line) => sum + BigInt(line.quantity) * line.unitPrice, 0n);
  expect(cart.totals.cart.subtotal).toBe(subtotal);
  expect(cart.totals.cart.total).toBe(subtotal);
  expect(cart.totals.lines.map((line) => line.lineId)).toEqual(cart.lines.map((line) => line.id));
  expect(cart.itemQuantity).toBe(cart.lines.reduce((sum, line) => sum + line.quantity, 0));
}

describe("createCart", () => {
  it("starts an empty active cart at version 1 in the pricing context's region", () => {
    const cart = newCart();
    expect(cart).toMatchObject({ status: "active", regionId: "us", currency: "USD", lines: [], itemQuantity: 0, version: 1 });
    expect(cart.totals.cart.total).toBe(0n);
    expect(cart.createdAt).toEqual(t0);
    expect(cart.updatedAt).toEqual(t0);
  });

  it("merges initial items of the same product into one line, in first-seen order", () => {
    const cart = newCart([item("mug", 2, 300n), item("tee", 1, 1000n), item("mug", 3, 300n)]);
    expect(cart.lines.map((line) => [line.productId, line.quantity, line.unitPrice])).toEqual([
      ["mug", 5, 300n],
      ["tee", 1, 1000n],
    ]);
    expect(cart.totals.cart.total).toBe(5n * 300n + 1000n);
    expect(cart.itemQuantity).toBe(6);
    expect(cart.version).toBe(1);
  });

  it("refuses a region in an unsupported currency", () => {
    const error = domainRefusal(() => newCart([], at(t0, pricing(taxFreeRegion("x", "XTS", t0)))));
    expect(error.reason).toBe("invalid_argument");
    expect(error.message).toMatch(/XTS/);
  });

  it("refuses initial items the catalog cannot sell", () => {
    expect(domainRefusal(() => newCart([{ ...item("ghost", 1), offer: undefined }])).reason).toBe("not_found");
    expect(domainRefusal(() => newCart([item("old", 1, 100n, { active: false })])).reason).toBe("failed_precondition");
  });

  it("refuses a shipping address outside the region", () => {
    const address = { name: "", company: "", line1: "", line2: "", city: "", postalCode: "", province: "", phone: "", country: "US" };
    const error = domainRefusal(() =>
      createCart({ id: "c", customerId: "c", salesChannelId: "web", email: "", metadata: {}, shippingAddress: address }, [], noCodes, at(t0, pricing(eurRegion))),
    );
    expect([error.reason, error.message]).toEqual(["failed_precondition", "region eu does not ship to US; its countries are DE, FR"]);
  });
});

describe("addLineItem", () => {
  it("appends a new product as a new line priced from the catalog offer", () => {
    const cart = addLineItem(newCart([item("mug", 1, 300n)]), item("tee", 2, 1000n), at(t1));
    expect(cart.lines[1]).toMatchObject({ productId: "tee", quantity: 2, unitPrice: 1000n, createdAt: t1, updatedAt: t1 });
    expect(cart.totals.cart.total).toBe(300n + 2000n);
    expect(cart.updatedAt).toEqual(t1);
  });

  it("merges into the existing line of the product and reprices it at the current offer", () => {
    const before = newCart([item("mug", 2, 300n), item("tee", 1, 1000n)]);
    const after = addLineItem(before, item("mug", 3, 350n), at(t1));
    expect(after.lines).toHaveLength(2);
    expect(after.lines[0]).toMatchObject({ id: before.lines[0]!.id, quantity: 5, unitPrice: 350n, createdAt: t0, updatedAt: t1 });
    expect(after.totals.cart.total).toBe(5n * 350n + 1000n);
    // Untouched lines stay the same objects: storage writes only lines that changed.
    expect(after.lines[1]).toBe(before.lines[1]);
  });

  it("prices the merged quantity: crossing a tier re-prices the whole line", () => {
    const tiers = [usd(1000n), usd(850n, { minQuantity: 10 })];
    const add = (quantity: number): ItemToAdd => ({ productId: "socks", quantity, offer: productOffer(tiers), newLineId: "socks-line" });
    const nine = newCart([add(9)]);
    expect(nine.totals.cart.subtotal).toBe(9000n);
    expect(addLineItem(nine, add(1), at(t1)).totals.cart.subtotal).toBe(8500n);
  });

  it("accepts a line quantity up to the limit and refuses one beyond, new or merged", () => {
    expect(addLineItem(newCart(), item("mug", 100), at(t1)).lines[0]!.quantity).toBe(100);
    const fresh = domainRefusal(() => addLineItem(newCart(), item("mug", 101), at(t1)));
    expect(fresh.reason).toBe("failed_precondition");
    expect(fresh.message).toMatch(/mug.*100/);
    const merged = domainRefusal(() => addLineItem(newCart([item("mug", 60)]), item("mug", 41), at(t1)));
    expect(merged.reason).toBe("failed_precondition");
    expect(merged.message).toMatch(/101 of product mug/);
  });

  it("refuses a new line beyond the line limit but still merges into existing lines", () => {
    const full = newCart([item("a", 1), item("b", 1), item("c", 1)]);
    const error = domainRefusal(() => addLineItem(full, item("d", 1), at(t1)));
    expect(error.reason).toBe("failed_precondition");
    expect(error.message).toMatch(/maximum of 3 lines/);
    expect(addLineItem(full, item("a", 1), at(t1)).lines[0]!.quantity).toBe(2);
  });

  it("refuses unknown, inactive, unpriced and other channels' products, naming them", () => {
    const cart = newCart([], at(t0, pricing(eurRegion)));
    const eu = at(t1, pricing(eurRegion));
    const unknown = domainRefusal(() => addLineItem(cart, { ...item("ghost", 1), offer: undefined }, eu));
    expect([unknown.reason, unknown.message]).toEqual(["not_found", "product ghost does not exist"]);
    const inactive = domainRefusal(() => addLineItem(cart, item("old", 1, 100n, { active: false }), eu));
    expect([inactive.reason, inactive.message]).toEqual(["failed_precondition", "product old is not active"]);
    const unpriced = domainRefusal(() => addLineItem(cart, item("usd-only", 1), eu));
    expect([unpriced.reason, unpriced.message]).toEqual(["failed_precondition", "product usd-only has no price in EUR in region eu"]);
    const elsewhere = domainRefusal(() => addLineItem(cart, item("app-only", 1, 100n, { salesChannelIds: ["app"] }), eu));
    expect([elsewhere.reason, elsewhere.message]).toEqual(["failed_precondition", "product app-only is not sold in sales channel web"]);
  });

  it("refuses a quantity below the product's smallest tier", () => {
    const bulkOnly: ItemToAdd = { productId: "pallet", quantity: 3, offer: productOffer([usd(100n, { minQuantity: 10 })]), newLineId: "p" };
    expect(domainRefusal(() => addLineItem(newCart(), bulkOnly, at(t1))).message).toBe(
      "product pallet has no price in USD for 3 units; its prices start at 10 units",
    );
  });

  it("leaves the cart it was given unchanged", () => {
    const before = newCart([item("mug", 1)]);
    const copy = structuredClone(before);
    addLineItem(before, item("mug", 2), at(t1));
    domainRefusal(() => addLineItem(before, item("mug", 500), at(t1)));
    expect(before).toEqual(copy);
  });
});

describe("updateLineItem and removeLineItem", () => {
  const cart = newCart([item("mug", 2, 300n), item("tee", 1, 1000n)]);
  const [mug, tee] = cart.lines;
  const catalog = new Map([["mug", productOffer([usd(300n), usd(200n, { minQuantity: 10 })])]]);

  it("sets the quantity at the price of its tier", () => {
    const updated = updateLineItem(cart, mug!.id, 7, catalog, at(t1));
    expect(updated.lines[0]).toMatchObject({ quantity: 7, unitPrice: 300n, updatedAt: t1 });
    expect(updated.totals.cart.total).toBe(7n * 300n + 1000n);
    expect(updated.lines[1]).toBe(tee);
    expect(updateLineItem(cart, mug!.id, 10, catalog, at(t1)).lines[0]).toMatchObject({ quantity: 10, unitPrice: 200n });
    expect(updateLineItem(updateLineItem(cart, mug!.id, 10, catalog, at(t1)), mug!.id, 9, catalog, at(t2)).lines[0]!.unitPrice).toBe(300n);
  });

  it("removes the line when the quantity is 0, without asking the catalog", () => {
    const updated = updateLineItem(cart, mug!.id, 0, new Map(), at(t1));
    expect(updated.lines).toEqual([tee]);
    expect(updated.totals.cart.total).toBe(1000n);
  });

  it("refuses a quantity beyond the limit, an unknown line and a product no longer sold", () => {
    expect(domainRefusal(() => updateLineItem(cart, mug!.id, 101, catalog, at(t1))).reason).toBe("failed_precondition");
    const unknown = domainRefusal(() => updateLineItem(cart, "line-x", 1, catalog, at(t1)));
    expect([unknown.reason, unknown.message]).toEqual(["not_found", "cart cart-1 has no line item line-x"]);
    const retired = new Map([["mug", productOffer([usd(300n)], { active: false })]]);
    expect(domainRefusal(() => updateLineItem(cart, mug!.id, 3, retired, at(t1))).message).toBe("product mug is not active");
  });

  it("removes a line, and refuses to remove an unknown one", () => {
    const removed = removeLineItem(cart, tee!.id, at(t1));
    expect(removed.lines).toEqual([mug]);
    expect(removed.totals.cart.total).toBe(600n);
    expect(domainRefusal(() => removeLineItem(removed, tee!.id, at(t2))).reason).toBe("not_found");
  });
});

describe("updateCart", () => {
  const address = (country: string) => ({ name: "A", company: "", line1: "1 Road", line2: "", city: "C", postalCode: "1", province: "", country, phone: "" });
  const eur = (amount: bigint): TieredPrice => ({ currency: "EUR", minQuantity: 1, amount });

  it("moves an empty cart to the region of another currency", () => {
    const moved = updateCart(newCart(), { currency: { currency: "EUR", region: eurRegion } }, at(t1, pricing(eurRegion)));
    expect(moved).toMatchObject({ regionId: "eu", currency: "EUR" });
  });

  it("refuses a currency change once the cart has lines, but accepts restating the same currency", () => {
    const filled = newCart([item("mug", 1)]);
    const error = domainRefusal(() => updateCart(filled, { currency: { currency: "EUR", region: eurRegion } }, at(t1, pricing(eurRegion))));
    expect(error.reason).toBe("failed_precondition");
    expect(error.message).toMatch(/currency/);
    expect(updateCart(filled, { currency: { currency: "USD", region: usdRegion } }, at(t1)).currency).toBe("USD");
  });

  it("refuses a currency that is not the named region's", () => {
    const error = domainRefusal(() =>
      updateCart(newCart(), { region: { region: eurRegion, offers: new Map() }, currency: { currency: "USD", region: eurRegion } }, at(t1, pricing(eurRegion))),
    );
    expect([error.reason, error.message]).toEqual(["invalid_argument", "currency USD is not the currency of region eu (EUR)"]);
  });

  it("moves to another region: re-prices every line there, taxes them there and drops shipping that no longer applies", () => {
    const standard: NamedShippingOption = { id: "std", name: "Standard", regionId: "us", prices: [{ currency: "USD", amount: 500n }] };
    const shipped = addShippingMethod(newCart([item("mug", 2, 300n)]), standard, "m-1", at(t1, pricing(usdRegion, { shippingOptions: [standard] })));
    expect(shipped.totals.cart.total).toBe(600n + 500n);
    const offers = new Map([["mug", productOffer([usd(300n), eur(250n)])]]);
    const moved = updateCart(
      shipped,
      { region: { region: eurRegion, offers }, shippingAddress: address("FR") },
      at(t2, pricing(eurRegion, { shippingOptions: [standard] })),
    );
    expect(moved).toMatchObject({ regionId: "eu", currency: "EUR", shippingMethods: [] });
    expect(moved.lines[0]).toMatchObject({ quantity: 2, unitPrice: 250n });
    // 500 gross at 20 % (FR): tax 500 × 2000 / 12000 = 83.33 → 83, contained in the total.
    expect(moved.totals.cart).toMatchObject({ itemSubtotal: 500n, itemTaxTotal: 83n, shippingTotal: 0n, total: 500n });
  });

  it("refuses to move when a product has no price in the new region, naming it", () => {
    const cart = newCart([item("mug", 1)]);
    const error = domainRefusal(() => updateCart(cart, { region: { region: eurRegion, offers: new Map([["mug", productOffer([usd(300n)])]]) } }, at(t1, pricing(eurRegion))));
    expect(error.message).toBe("cannot move cart cart-1 to region eu: product mug has no price in EUR in region eu");
  });

  it("refuses a shipping address outside the region, and a move that would leave the address outside", () => {
    const inEu = updateCart(newCart([], at(t0, pricing(eurRegion))), { shippingAddress: address("DE") }, at(t1, pricing(eurRegion)));
    expect(domainRefusal(() => updateCart(inEu, { shippingAddress: address("US") }, at(t2, pricing(eurRegion)))).message).toBe(
      "region eu does not ship to US; its countries are DE, FR",
    );
    const narrow = { ...usdRegion, id: "ca", countries: ["CA"] };
    expect(domainRefusal(() => updateCart(inEu, { region: { region: narrow, offers: new Map() } }, at(t2, pricing(narrow)))).message).toBe(
      "region ca does not ship to DE; its countries are CA",
    );
  });

  it("refuses a sales channel that does not sell a product in the cart", () => {
    const cart = newCart([item("mug", 1, 300n, { salesChannelIds: ["web"] })]);
    const offers = new Map([["mug", productOffer([usd(300n)], { salesChannelIds: ["web"] })]]);
    expect(domainRefusal(() => updateCart(cart, { salesChannel: { id: "app", offers } }, at(t1))).message).toBe(
      "cannot move cart cart-1 to sales channel app: product mug is not sold in sales channel app",
    );
  });

  it("changes email, metadata and addresses and keeps the lines", () => {
    const before = newCart([item("mug", 1)]);
    const after = updateCart(before, { email: "a@example.com", metadata: { source: "app" }, billingAddress: address("US") }, at(t1));
    expect(after).toMatchObject({ email: "a@example.com", metadata: { source: "app" }, lines: before.lines, version: 2 });
    expect(updateCart(after, { billingAddress: null }, at(t2)).billingAddress).toBeUndefined();
  });
});

describe("promotion codes", () => {
  const tenPercent: Promotion = { id: "p10", code: "TEN", value: { kind: "percentage", basisPoints: 1000 }, target: { kind: "order" } };
  const lookup = (promotion: Promotion, total = 0): CodeLookup => ({ promotion, usage: { total, byCustomer: 0 } });

  it("applies a code, holds it, and discounts the cart", () => {
    const cart = newCart([item("mug", 2, 1000n)]);
    const applied = applyPromotionCodes(cart, ["ten"], new Map([["TEN", lookup(tenPercent)]]), at(t1, pricing(usdRegion, { promotions: [tenPercent] })));
    expect(applied.promotions).toEqual([{ promotionId: "p10", code: "TEN" }]);
    expect(applied.totals.cart).toMatchObject({ discountTotal: 200n, total: 1800n });
    const removed = removePromotionCodes(applied, ["Ten"], at(t2, pricing(usdRegion, { promotions: [tenPercent] })));
    expect(removed.promotions).toEqual([]);
    expect(removed.totals.cart.total).toBe(2000n);
  });

  it("refuses unknown and used-up codes with their reasons", () => {
    const cart = newCart([item("mug", 2, 1000n)]);
    const unknown = domainRefusal(() => applyPromotionCodes(cart, ["NOPE"], new Map(), at(t1)));
    expect([unknown.reason, unknown.facts.promotion_refusal]).toEqual(["not_found", "unknown"]);
    const limited = { ...tenPercent, usageLimit: 1 };
    const exhausted = domainRefusal(() => applyPromotionCodes(cart, ["TEN"], new Map([["TEN", lookup(limited, 1)]]), at(t1)));
    expect([exhausted.reason, exhausted.facts.promotion_refusal]).toEqual(["failed_precondition", "exhausted"]);
    expect(domainRefusal(() => removePromotionCodes(cart, ["TEN"], at(t1))).message).toBe('cart cart-1 holds no promotion code "TEN"');
  });
});

describe("shipping methods", () => {
  const standard: NamedShippingOption = { id: "std", name: "Standard", regionId: "us", prices: [{ currency: "USD", amount: 500n, freeAbove: 5000n }] };
  const withShipping = at(t1, pricing(usdRegion, { shippingOptions: [standard] }));

  it("ships with one option at a time, free from its threshold on", () => {
    const cart = addShippingMethod(newCart([item("mug", 1, 4999n)]), standard, "m-1", withShipping);
    expect(cart.shippingMethods).toEqual([{ id: "m-1", shippingOptionId: "std", name: "Standard", charge: { amount: 500n, freeAbove: 5000n } }]);
    expect(cart.totals.cart.shippingTotal).toBe(500n);
    const replaced = addShippingMethod(cart, standard, "m-2", withShipping);
    expect(replaced.shippingMethods.map((method) => method.id)).toEqual(["m-2"]);
    const crossed = updateLineItem(replaced, replaced.lines[0]!.id, 2, new Map([["mug", productOffer([usd(4999n)])]]), withShipping);
    expect(crossed.totals.cart.shippingTotal).toBe(0n);
    expect(removeShippingMethod(crossed, "m-2", withShipping).shippingMethods).toEqual([]);
  });

  it("refuses options of other regions and carts with nothing to ship, and drops the method when the last shippable line goes", () => {
    const other = { ...standard, regionId: "eu" };
    expect(domainRefusal(() => addShippingMethod(newCart([item("mug", 1)]), other, "m", withShipping)).facts.shippingRefusal).toBe("other_region");
    expect(domainRefusal(() => addShippingMethod(newCart([item("card", 1, 100n, { shippable: false })]), standard, "m", withShipping)).facts.shippingRefusal).toBe(
      "nothing_to_ship",
    );
    const cart = addShippingMethod(newCart([item("mug", 1), item("card", 1, 100n, { shippable: false })]), standard, "m", withShipping);
    expect(removeLineItem(cart, cart.lines[0]!.id, withShipping).shippingMethods).toEqual([]);
  });
});

describe("finished carts", () => {
  const deleted = deleteCart(newCart([item("mug", 1)]), at(t1));
  const completed: Cart = { ...newCart([item("mug", 1)]), status: "completed" };

  it("deleteCart marks the cart deleted, one version later", () => {
    expect(deleted).toMatchObject({ status: "deleted", version: 2, updatedAt: t1 });
  });

  it.each([
    ["deleted", deleted],
    ["completed", completed],
  ] as const)("a %s cart refuses every change", (status, cart) => {
    const line = cart.lines[0]!.id;
    const context = at(t2);
    const changes = [
      () => addLineItem(cart, item("tee", 1), context),
      () => updateLineItem(cart, line, 2, new Map(), context),
      () => removeLineItem(cart, line, context),
      () => updateCart(cart, { email: "a@example.com" }, context),
      () => applyPromotionCodes(cart, ["X"], new Map(), context),
      () => removePromotionCodes(cart, ["X"], context),
      () => addShippingMethod(cart, { id: "o", name: "O", regionId: "us", prices: [] }, "m", context),
      () => removeShippingMethod(cart, "m", context),
      () => deleteCart(cart, context),
    ];
    for (const change of changes) {
      const error = domainRefusal(change);
      expect(error.reason).toBe("failed_precondition");
      expect(error.message).toBe(`cart cart-1 is ${status} and can no longer be changed`);
    }
  });
});

describe("versions", () => {
  it("every change bumps the version by one and changes the etag", () => {
    const v1 = newCart();
    const v2 = addLineItem(v1, item("mug", 1), at(t1));
    const v3 = updateLineItem(v2, v2.lines[0]!.id, 3, new Map([["mug", productOffer([usd(250n)])]]), at(t1));
    const v4 = removeLineItem(v3, v3.lines[0]!.id, at(t1));
    const v5 = updateCart(v4, { email: "a@example.com" }, at(t1));
    const v6 = deleteCart(v5, at(t2));
    expect([v1, v2, v3, v4, v5, v6].map((cart) => cart.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set([v1, v2, v3, v4, v5, v6].map(etagOf)).size).toBe(6);
  });
});

/** One step of a random cart session; indexes pick among products or existing lines. */
type Step =
  | { kind: "add"; product: number; quantity: number; unitPrice: bigint }
  | { kind: "update"; line: number; quantity: number }
  | { kind: "remove"; line: number };

const productCount = 5;
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant("add" as const),
    product: fc.nat(productCount - 1),
    quantity: fc.integer({ min: 1, max: 60 }),
    unitPrice: fc.bigInt({ min: 0n, max: 100_000_000_000n }),
  }),
  fc.record({ kind: fc.constant("update" as const), line: fc.nat(10), quantity: fc.integer({ min: 0, max: 120 }) }),
  fc.record({ kind: fc.constant("remove" as const), line: fc.nat(10) }),
);

describe("property: any session of adds, updates and removes", () => {
  it("keeps totals = Σ quantity × unit price, itemQuantity = Σ quantity, positive quantities, rising versions, and matches a simple model", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let cart = newCart();
        // The catalog: each add publishes the product's price first.
        const catalog = new Map<string, ProductOffer>();
        // The model: quantity and price per product, in line order.
        let model: { productId: string; quantity: number; unitPrice: bigint }[] = [];
        for (const [index, current] of steps.entries()) {
          const context = at(new Date(t0.getTime() + index * 1000));
          const target = cart.lines.length > 0 && current.kind !== "add" ? cart.lines[current.line % cart.lines.length]! : undefined;
          if (current.kind !== "add" && !target) continue;
          let expectedModel = model;
          let refused = false;
          if (current.kind === "add") {
            const productId = `p${current.product}`;
            catalog.set(productId, productOffer([usd(current.unitPrice)]));
            const existing = model.find((line) => line.productId === productId);
            const quantity = (existing?.quantity ?? 0) + current.quantity;
            refused = quantity > limits.maxLineQuantity || (!existing && model.length >= limits.maxLines);
            expectedModel = existing
              ? model.map((line) => (line === existing ? { productId, quantity, unitPrice: current.unitPrice } : line))
              : [...model, { productId, quantity, unitPrice: current.unitPrice }];
          } else if (current.kind === "update") {
            refused = current.quantity > limits.maxLineQuantity;
            expectedModel =
              current.quantity === 0
                ? model.filter((line) => line.productId !== target!.productId)
                : model.map((line) =>
                    line.productId === target!.productId
                      ? { ...line, quantity: current.quantity, unitPrice: catalog.get(line.productId)!.prices[0]!.amount }
                      : line,
                  );
          } else {
            expectedModel = model.filter((line) => line.productId !== target!.productId);
          }

          const apply = (): Cart =>
            current.kind === "add"
              ? addLineItem(cart, { productId: `p${current.product}`, quantity: current.quantity, offer: catalog.get(`p${current.product}`), newLineId: `l${index}` }, context)
              : current.kind === "update"
                ? updateLineItem(cart, target!.id, current.quantity, catalog, context)
                : removeLineItem(cart, target!.id, context);
          if (refused) {
            expect(domainRefusal(apply).reason).toBe("failed_precondition");
            continue;
          }
          const next = apply();
          expect(next.version).toBe(cart.version + 1);
          cart = next;
          model = expectedModel;

          expectTotalsConsistent(cart);
          expect(cart.lines.every((line) => line.quantity > 0)).toBe(true);
          expect(new Set(cart.lines.map((line) => line.productId)).size).toBe(cart.lines.length);
          expect(cart.lines.map(({ productId, quantity, unitPrice }) => ({ productId, quantity, unitPrice }))).toEqual(model);
        }
      }),
      { numRuns: 300 },
    );
  });
});
