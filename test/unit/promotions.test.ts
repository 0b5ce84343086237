import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/domain/errors.js";
import {
  compareStacking,
  promotionCodeRefusal,
  promotionCoversLine,
  promotionDiscount,
  promotionRefusal,
  promotionRefusalError,
  type Promotion,
  type PromotionCheck,
} from "../../src/domain/promotions.js";

const NOW = new Date("2025-06-01T12:00:00Z");

const summer: Promotion = {
  id: "promo-summer",
  code: "SUMMER",
  value: { kind: "fixed", amounts: [{ currency: "USD", amount: 500n }, { currency: "KWD", amount: 1500n }] },
  target: { kind: "order" },
  minimumSubtotal: [{ currency: "USD", amount: 5000n }, { currency: "KWD", amount: 15_000n }],
  startsAt: new Date("2025-06-01T00:00:00Z"),
  endsAt: new Date("2025-09-01T00:00:00Z"),
  usageLimit: 100,
  usageLimitPerCustomer: 1,
};

const fine: PromotionCheck = { now: NOW, currency: "USD", itemSubtotal: 6000n, usage: { total: 99, byCustomer: 0 } };

describe("promotionRefusal", () => {
  it("accepts a promotion whose every condition holds", () => {
    expect(promotionRefusal(summer, fine)).toBeUndefined();
    expect(promotionCodeRefusal("SUMMER", summer, fine)).toBeUndefined();
  });

  it.each([
    ["unknown", undefined, fine, 'promotion code "SUMMER" does not exist'],
    ["not_started", summer, { ...fine, now: new Date("2025-05-31T23:59:59Z") }, 'promotion code "SUMMER" is not valid before 2025-06-01T00:00:00.000Z'],
    ["expired", summer, { ...fine, now: new Date("2025-09-01T00:00:00Z") }, 'promotion code "SUMMER" expired at 2025-09-01T00:00:00.000Z'],
    ["exhausted", summer, { ...fine, usage: { total: 100, byCustomer: 0 } }, 'promotion code "SUMMER" has reached its limit of 100 uses'],
    ["exhausted_for_customer", summer, { ...fine, usage: { total: 5, byCustomer: 1 } }, 'promotion code "SUMMER" has reached its limit of 1 uses per customer'],
    ["wrong_currency", summer, { ...fine, currency: "JPY" }, 'promotion code "SUMMER" does not apply to carts in JPY'],
    ["minimum_not_met", summer, { ...fine, itemSubtotal: 4999n }, 'promotion code "SUMMER" needs an item subtotal of at least 50.00 USD; the cart has 49.99 USD'],
    ["minimum_not_met", summer, { ...fine, currency: "KWD", itemSubtotal: 14_999n }, 'promotion code "SUMMER" needs an item subtotal of at least 15.000 KWD; the cart has 14.999 KWD'],
  ] as const)("refuses as %s", (reason, promotion, check, message) => {
    expect(promotionCodeRefusal("SUMMER", promotion, check)).toEqual({ reason, message });
  });

  it("reports the first failing condition: time, then usage, then currency, then minimum", () => {
    const everythingWrong: PromotionCheck = {
      now: new Date("2026-01-01T00:00:00Z"),
      currency: "JPY",
      itemSubtotal: 0n,
      usage: { total: 100, byCustomer: 1 },
    };
    expect(promotionRefusal(summer, everythingWrong)?.reason).toBe("expired");
    expect(promotionRefusal(summer, { ...everythingWrong, now: NOW })?.reason).toBe("exhausted");
    expect(promotionRefusal(summer, { ...everythingWrong, now: NOW, usage: { total: 0, byCustomer: 1 } })?.reason).toBe(
      "exhausted_for_customer",
    );
    expect(promotionRefusal(summer, { ...everythingWrong, now: NOW, usage: undefined })?.reason).toBe("wrong_currency");
  });

  it("leaves usage unchecked when no usage is given", () => {
    expect(promotionRefusal(summer, { ...fine, usage: undefined })).toBeUndefined();
  });

  it("lets a percentage without a minimum apply in any currency", () => {
    const tenPercent: Promotion = { id: "auto-10", value: { kind: "percentage", basisPoints: 1000 }, target: { kind: "order" } };
    expect(promotionRefusal(tenPercent, { ...fine, currency: "JPY", itemSubtotal: 0n })).toBeUndefined();
  });

  it("names an automatic promotion by id", () => {
    const automatic: Promotion = { ...summer, code: undefined };
    expect(promotionRefusal(automatic, { ...fine, currency: "JPY" })?.message).toBe(
      "automatic promotion promo-summer does not apply to carts in JPY",
    );
  });
});

describe("promotionRefusalError", () => {
  it("maps an unknown code to not_found and the rest to failed_precondition, keeping the reason", () => {
    const unknown = promotionRefusalError({ reason: "unknown", message: "no such code" });
    expect(unknown).toBeInstanceOf(DomainError);
    expect(unknown).toMatchObject({ reason: "not_found", message: "no such code", facts: { promotion_refusal: "unknown" } });
    expect(promotionRefusalError({ reason: "expired", message: "too late" })).toMatchObject({
      reason: "failed_precondition",
      facts: { promotion_refusal: "expired" },
    });
  });
});

describe("promotionDiscount", () => {
  const percent = (basisPoints: number): Promotion => ({ ...summer, value: { kind: "percentage", basisPoints } });

  it("takes a percentage rounded half-even, or the fixed amount in the cart currency", () => {
    expect(promotionDiscount(percent(1250), "USD", 3250n)).toBe(406n); // 406.25
    expect(promotionDiscount(percent(1000), "USD", 25n)).toBe(2n); // 2.5
    expect(promotionDiscount(summer, "USD", 10_000n)).toBe(500n);
    expect(promotionDiscount(summer, "KWD", 10_000n)).toBe(1500n);
    expect(promotionDiscount(summer, "JPY", 10_000n)).toBe(0n);
  });

  it("never takes more than the base", () => {
    expect(promotionDiscount(summer, "USD", 300n)).toBe(300n);
    expect(promotionDiscount(percent(15_000), "USD", 300n)).toBe(300n);
  });
});

describe("promotionCoversLine", () => {
  const products: Promotion = { ...summer, target: { kind: "products", productIds: ["mug"] } };
  const shipping: Promotion = { ...summer, target: { kind: "shipping" } };

  it("covers discountable lines of its target only", () => {
    expect(promotionCoversLine(summer, { productId: "shirt", discountable: true })).toBe(true);
    expect(promotionCoversLine(summer, { productId: "gift-card", discountable: false })).toBe(false);
    expect(promotionCoversLine(products, { productId: "mug", discountable: true })).toBe(true);
    expect(promotionCoversLine(products, { productId: "mug", discountable: false })).toBe(false);
    expect(promotionCoversLine(products, { productId: "shirt", discountable: true })).toBe(false);
    expect(promotionCoversLine(shipping, { productId: "shirt", discountable: true })).toBe(false);
  });
});

describe("compareStacking", () => {
  it("orders percentages before fixed amounts, then by id", () => {
    const fixedA: Promotion = { ...summer, id: "a" };
    const percentB: Promotion = { ...summer, id: "b", value: { kind: "percentage", basisPoints: 1000 } };
    const percentC: Promotion = { ...percentB, id: "c" };
    expect([fixedA, percentC, percentB].sort(compareStacking).map((promotion) => promotion.id)).toEqual(["b", "c", "a"]);
  });
});
