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
  it("is free from the threshold on, inclusive", () => {
    expect(shippingAmount({ amount: 590n, freeAbove: 5000n }, 4999n)).toBe(590n);
    expect(shippingAmount({ amount: 590n, freeAbove: 5000n }, 5000n)).toBe(0n);
    expect(shippingAmount({ amount: 590n }, 1_000_000n)).toBe(590n);
  });
});
