import { describe, expect, it } from "vitest";
import {
  addShippingMethod,
  applyPromotionCodes,
  type Cart,
  type CartLimits,
  type ChangeContext,
  type CodeLookup,
  createCart,
  deleteCart,
  type ItemToAdd,
  type Offers,
  type PricingContext,
  type ProductOffer,
} from "../../src/domain/cart.js";
import { completeCart, completedOrder, type CompletionInput, promotionsUsedBy } from "../../src/domain/order.js";
import type { Promotion, PromotionUsage } from "../../src/domain/promotions.js";
import { type NamedShippingOption, type Region, taxFreeRegion } from "../../src/domain/store.js";
import { domainRefusal, productOffer } from "../support/domain.js";

const t0 = new Date("2026-01-01T00:00:00Z");
const t1 = new Date("2026-01-01T00:01:00Z");
const t2 = new Date("2026-01-01T00:02:00Z");

const limits: CartLimits = { maxLines: 10, maxLineQuantity: 100, lifetimeMs: 30 * 86_400_000, emptyLifetimeMs: 6 * 3_600_000 };
const region: Region = { ...taxFreeRegion("us", "USD", t0), countries: ["US"], tax: { pricesIncludeTax: false, defaults: { ratePpm: 100_000 }, countries: [] } };
const standard: NamedShippingOption = { id: "std", name: "Standard", regionId: "us", prices: [{ currency: "USD", amount: 500n }] };
const tenOff: Promotion = { id: "ten", code: "TEN", value: { kind: "percentage", basisPoints: 1000 }, target: { kind: "order" }, usageLimit: 1 };
const mugsOnly: Promotion = { id: "mugs", code: "MUGS", value: { kind: "percentage", basisPoints: 1000 }, target: { kind: "products", productIds: ["mug"] }, usageLimit: 1 };

const pricing = (extra: Partial<PricingContext> = {}): PricingContext => ({
  region,
  promotions: [tenOff, mugsOnly],
  shippingOptions: [standard],
  ...extra,
});
const at = (now: Date, pricingContext: PricingContext = pricing()): ChangeContext => ({ now, limits, pricing: pricingContext });

const offer = (unitPrice: bigint, extra: Partial<ProductOffer> = {}) => productOffer([{ currency: "USD", minQuantity: 1, amount: unitPrice }], extra);

const catalog: Offers = new Map([
  ["tee", offer(2000n)],
  ["card", offer(1000n, { shippable: false })],
]);
const item = (productId: string, quantity: number): ItemToAdd => ({ productId, quantity, offer: catalog.get(productId), newLineId: `line-${productId}` });
const address = { name: "Ada", company: "", line1: "1 Main St", line2: "", city: "Town", postalCode: "1000", province: "", country: "US", phone: "" };

/** A cart of `items` with an email and, when something ships, an address and the standard shipping. */
function readyCart(items: ItemToAdd[] = [item("tee", 2)], codes: string[] = []): Cart {
  const found = new Map<string, CodeLookup>(
    [tenOff, mugsOnly].map((promotion) => [promotion.code!, { promotion, usage: { total: 0, byCustomer: 0 } }]),
  );
  const cart = createCart(
    { id: "cart-1", customerId: "c-1", salesChannelId: "web", email: "ada@example.com", metadata: { channel: "web" }, shippingAddress: address },
    items,
    { codes: [], found },
    at(t0),
  );
  const shipped = cart.lines.some((line) => line.shippable) ? addShippingMethod(cart, standard, "method-1", at(t0)) : cart;
  return codes.length > 0 ? applyPromotionCodes(shipped, codes, found, at(t0)) : shipped;
}

const unused: PromotionUsage = { total: 0, byCustomer: 0 };
const input = (extra: Partial<CompletionInput> = {}): CompletionInput => ({
  offers: catalog,
  promotionUsage: new Map([
    ["ten", unused],
    ["mugs", unused],
  ]),
  orderId: "order-1",
  paymentReference: "pay-1",
  ...extra,
});


describe("completeCart", () => {
  it("snapshots the cart into a pending order and completes the cart one version later", () => {
    const cart = readyCart([item("tee", 2), item("card", 1)], ["TEN"]);
    const { order, cart: completed } = completeCart(cart, input(), at(t1));
    expect(completed).toMatchObject({ status: "completed", orderId: "order-1", version: cart.version + 1, updatedAt: t1 });
    expect(completed.expireTime).toBeUndefined();
    expect(completed.totals).toEqual(cart.totals);
    expect(order).toEqual({
      id: "order-1",
      cartId: "cart-1",
      customerId: "c-1",
      status: "pending",
      regionId: "us",
      currency: "USD",
      salesChannelId: "web",
      email: "ada@example.com",
      metadata: { channel: "web" },
      shippingAddress: address,
      billingAddress: undefined,
      lines: cart.lines,
      shippingMethods: cart.shippingMethods,
      promotions: [{ promotionId: "ten", code: "TEN" }],
      totals: cart.totals,
      itemQuantity: 3,
      paymentReference: "pay-1",
      createdAt: t1,
    });
    // 2 × 20.00 + 10.00, 10 % off, 10 % tax, plus 5.00 shipping and its tax.
    expect(order.totals.cart).toMatchObject({ itemSubtotal: 5000n, discountTotal: 500n, total: 4950n + 550n });
    expect(promotionsUsedBy(order)).toEqual(["ten"]);
  });

  it("needs neither address nor shipping when nothing ships", () => {
    const cart = createCart({ id: "cart-1", customerId: "c-1", salesChannelId: "web", email: "a@b.c", metadata: {} }, [item("card", 1)], { codes: [], found: new Map() }, at(t0));
    expect(completeCart(cart, input(), at(t1)).order.lines).toHaveLength(1);
  });

  it("lists everything that keeps a cart from being completed", () => {
    const empty = createCart({ id: "cart-1", customerId: "c-1", salesChannelId: "web", email: "", metadata: {} }, [], { codes: [], found: new Map() }, at(t0));
    expect(domainRefusal(() => completeCart(empty, input(), at(t1))).message).toBe("cart cart-1 cannot be completed: it has no line items; it has no email");

    const unshipped = createCart({ id: "cart-1", customerId: "c-1", salesChannelId: "web", email: "a@b.c", metadata: {} }, [item("tee", 1)], { codes: [], found: new Map() }, at(t0));
    const error = domainRefusal(() => completeCart(unshipped, input(), at(t1)));
    expect([error.reason, error.message]).toEqual([
      "failed_precondition",
      "cart cart-1 cannot be completed: it has no shipping address; it has no shipping method",
    ]);
  });

  it("refuses a line whose price changed or whose product is no longer sold, naming the product", () => {
    const cart = readyCart([item("tee", 2), item("card", 1)]);
    const offers: Offers = new Map([
      ["tee", offer(2100n)],
      ["card", offer(1000n, { active: false, shippable: false })],
    ]);
    expect(domainRefusal(() => completeCart(cart, input({ offers }), at(t1))).message).toBe(
      "cart cart-1 cannot be completed: product tee now costs 21.00 USD per unit, not 20.00 USD as the cart shows (update the line to take the new price); product card is not active",
    );
  });

  it("refuses when the total changed since the cart was last priced", () => {
    const cart = readyCart();
    const automatic: Promotion = { id: "auto", value: { kind: "fixed", amounts: [{ currency: "USD", amount: 100n }] }, target: { kind: "order" } };
    const error = domainRefusal(() => completeCart(cart, input(), at(t1, pricing({ promotions: [tenOff, mugsOnly, automatic] }))));
    expect(error.message).toBe(
      "cart cart-1 cannot be completed: its total is now 48.40 USD, not 49.50 USD as the cart shows (a promotion, shipping price or tax rate changed; any change to the cart shows the new totals)",
    );
  });

  it("refuses a held promotion without uses left, with the refusal's reason", () => {
    const cart = readyCart([item("tee", 1)], ["TEN"]);
    const exhausted = domainRefusal(() => completeCart(cart, input({ promotionUsage: new Map([["ten", { total: 1, byCustomer: 0 }]]) }), at(t1)));
    expect([exhausted.message, exhausted.facts]).toEqual([
      'cart cart-1 cannot be completed: promotion code "TEN" has reached its limit of 1 uses',
      { promotion_refusal: "exhausted" },
    ]);
    expect(() => completeCart(cart, input({ promotionUsage: new Map() }), at(t1))).toThrow("the usage of promotion ten was not counted");
  });

  it("neither checks nor uses a held promotion that takes nothing off", () => {
    const cart = readyCart([item("tee", 1)], ["MUGS"]);
    const { order } = completeCart(cart, input({ promotionUsage: new Map([["mugs", { total: 5, byCustomer: 5 }]]) }), at(t1));
    expect(order.promotions).toEqual([{ promotionId: "mugs", code: "MUGS" }]);
    expect(promotionsUsedBy(order)).toEqual([]);
  });

  it("refuses carts that are no longer active or have expired", () => {
    const cart = readyCart();
    expect(domainRefusal(() => completeCart(deleteCart(cart, at(t1)), input(), at(t2))).message).toBe("cart cart-1 is deleted and can no longer be changed");
    const completed = completeCart(cart, input(), at(t1)).cart;
    expect(domainRefusal(() => completeCart(completed, input(), at(t2))).message).toBe("cart cart-1 is completed and can no longer be changed");
    const later = new Date(cart.expireTime!.getTime() + 1);
    expect(domainRefusal(() => completeCart(cart, input(), at(later))).message).toMatch(/^cart cart-1 expired at /);
  });
});

describe("completedOrder", () => {
  const { order } = completeCart(readyCart(), input({ paymentReference: "pay-1" }), at(t1));
  const { order: unpaid } = completeCart(readyCart(), input({ paymentReference: "" }), at(t1));

  it("answers the order to a retry with its payment reference or none", () => {
    expect(completedOrder(order, "pay-1")).toBe(order);
    expect(completedOrder(order, "")).toBe(order);
    expect(completedOrder(unpaid, "")).toBe(unpaid);
  });

  it("refuses another payment reference, naming the order", () => {
    expect(domainRefusal(() => completedOrder(order, "pay-2"))).toMatchObject({
      reason: "failed_precondition",
      message:
        "cart cart-1 was already completed as order order-1 with another payment reference; only a retry with the order's payment reference, or none, answers the order",
    });
    expect(domainRefusal(() => completedOrder(unpaid, "pay-2")).message).toMatch(
      /^cart cart-1 was already completed as order order-1 without a payment reference;/,
    );
  });
});
