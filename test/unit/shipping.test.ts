import { describe, expect, it } from "vitest";
import { quoteShippingOption, shippingAmount, type ShippingOption } from "../../src/domain/shipping.js";

const standard: ShippingOption = {
  id: "standard",
  regionId: "eu",
  prices: [{ currency: "EUR", amount: 590n, freeAbove: 5000n }],
};

describe("quoteShippingOption", () => {
  it("quotes the option's price in the cart currency", () => {
    expect(quoteShippingOption(standard, { regionId: "eu", currency: "EUR", hasShippableItems: true })).toEqual({
      ok: true,
      charge: { amount: 590n, freeAbove: 5000n },
    });
  });

  it.each([
    [{ regionId: "us", currency: "EUR", hasShippableItems: true }, "other_region", /region us/],
    [{ regionId: "eu", currency: "EUR", hasShippableItems: false }, "nothing_to_ship", /no items that need shipping/],
    [{ regionId: "eu", currency: "USD", hasShippableItems: true }, "no_price_in_currency", /no price in USD/],
  ])("refuses %o: %s", (cart, reason, message) => {
    const quote = quoteShippingOption(standard, cart);
    expect(quote).toMatchObject({ ok: false, reason });
    expect(quote.ok ? "" : quote.message).toMatch(message);
  });
});

describe("shippingAmount", () => {
  const items = (discountedSubtotal: bigint, giftCardPart = 0n) => ({ discountedSubtotal, giftCardPart });

  it("is free from the threshold on, inclusive", () => {
    expect(shippingAmount({ amount: 590n, freeAbove: 5000n }, items(4999n))).toBe(590n);
    expect(shippingAmount({ amount: 590n, freeAbove: 5000n }, items(5000n))).toBe(0n);
    expect(shippingAmount({ amount: 590n }, items(1_000_000n))).toBe(590n);
  });

  it("leaves gift cards out of the threshold unless the option counts them", () => {
    expect(shippingAmount({ amount: 590n, freeAbove: 5000n }, items(7500n, 2500n))).toBe(0n);
    expect(shippingAmount({ amount: 590n, freeAbove: 5000n }, items(7499n, 2500n))).toBe(590n);
    expect(shippingAmount({ amount: 590n, freeAbove: 5000n, giftCardsCountTowardsFreeShipping: true }, items(7499n, 2500n))).toBe(0n);
  });

  it("quotes whether the option counts gift cards", () => {
    const counting = { ...standard, giftCardsCountTowardsFreeShipping: true };
    expect(quoteShippingOption(counting, { regionId: "eu", currency: "EUR", hasShippableItems: true })).toEqual({
      ok: true,
      charge: { amount: 590n, freeAbove: 5000n, giftCardsCountTowardsFreeShipping: true },
    });
  });
});
