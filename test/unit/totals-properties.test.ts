import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { allocateLargestRemainder, divideHalfEven, PPM_PER_WHOLE, sumAmounts } from "../../src/domain/money.js";
import { selectPrice, type TieredPrice } from "../../src/domain/pricing.js";
import type { CurrencyAmount, Promotion, PromotionTarget, PromotionValue } from "../../src/domain/promotions.js";
import { STANDARD_TAX_CLASS, type PlaceTaxRates, type RegionTax, type TaxAddress } from "../../src/domain/tax.js";
import { computeTotals, type AmountBreakdown, type Totals, type TotalsInput } from "../../src/domain/totals.js";

const NOW = new Date("2025-06-01T12:00:00Z");
const DAY = 86_400_000;
const currencies = ["USD", "EUR", "JPY", "KWD"] as const;
const productIds = ["p1", "p2", "p3", "p4"] as const;

const money = (max: bigint) => fc.bigInt({ min: 0n, max });
/** Small amounts exercise rounding ties and caps, large ones realistic carts. */
const price = (max: bigint) => fc.oneof(money(100n), money(max));
/** Parts per million, any of them, not just whole basis points: 88 750 (8.875 %) is as likely as 90 000. */
const ratePpm = fc.oneof(fc.integer({ min: 0, max: 300_000 }), fc.constantFrom(0, 50_000, 88_750, 99_750, 200_000, 1_000_000));
/** Undefined half of the time. */
const optional = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 2 });
const taxClasses = [STANDARD_TAX_CLASS, "reduced", "zero", "books"] as const;

/** A place's standard rate, and rates for some of the other classes. */
const placeRates: fc.Arbitrary<PlaceTaxRates> = fc.record({
  ratePpm,
  classRates: fc.subarray(["reduced", "zero"]).chain((classes) =>
    fc.tuple(...classes.map((taxClass) => ratePpm.map((rate) => ({ taxClass, ratePpm: rate })))),
  ),
});

const regionTax: fc.Arbitrary<RegionTax> = fc.record({
  pricesIncludeTax: fc.boolean(),
  defaults: placeRates,
  countries: fc
    .record({ us: placeRates, ca: placeRates, canada: placeRates, qc: placeRates, combined: fc.boolean(), de: placeRates })
    .map(({ us, ca, canada, qc, combined, de }) => [
      { country: "US", ...us, provinces: [{ province: "CA", ...ca }] },
      { country: "CA", ...canada, provinces: [{ province: "QC", ...qc, combined }] },
      { country: "DE", ...de },
    ]),
});

const address: fc.Arbitrary<TaxAddress | undefined> = optional(
  fc.record({ country: fc.constantFrom("US", "CA", "DE", "JP"), province: optional(fc.constantFrom("CA", "QC", "OR")) }),
);

const line = fc.record({
  productId: fc.constantFrom(...productIds),
  quantity: fc.integer({ min: 1, max: 100 }),
  unitPrice: price(200_000n),
  compareAtUnitPrice: optional(price(300_000n)),
  discountable: fc.boolean(),
  taxClass: fc.constantFrom(...taxClasses),
  /** Mostly not a gift card. */
  giftCard: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, fc.constant(true)),
});

const charge = fc.record({
  amount: price(5_000n),
  freeAbove: optional(price(2_000_000n)),
  giftCardsCountTowardsFreeShipping: optional(fc.boolean()),
});

/** Mostly in every currency, so that most promotions apply; sometimes in a few, so that some are refused. */
const amounts: fc.Arbitrary<CurrencyAmount[]> = fc
  .oneof({ weight: 3, arbitrary: fc.constant([...currencies]) }, fc.subarray([...currencies], { minLength: 1 }))
  .chain((chosen) => fc.tuple(...chosen.map((currency) => price(50_000n).map((amount) => ({ currency, amount })))));

const value: fc.Arbitrary<PromotionValue> = fc.oneof(
  fc.integer({ min: 0, max: 10_000 }).map((bp): PromotionValue => ({ kind: "percentage", basisPoints: bp })),
  amounts.map((list): PromotionValue => ({ kind: "fixed", amounts: list })),
);

const target: fc.Arbitrary<PromotionTarget> = fc.oneof(
  fc.constant<PromotionTarget>({ kind: "order" }),
  fc.constant<PromotionTarget>({ kind: "shipping" }),
  fc.subarray([...productIds], { minLength: 1 }).map((ids): PromotionTarget => ({ kind: "products", productIds: ids })),
);

const daysFromNow = (min: number, max: number) =>
  optional(fc.integer({ min, max }).map((days) => new Date(NOW.getTime() + days * DAY)));

const promotion = fc.record({
  code: optional(fc.constantFrom("SAVE", "MORE")),
  value,
  target,
  minimumSubtotal: optional(amounts),
  // Mostly already started and not yet ended.
  startsAt: daysFromNow(-3, 1),
  endsAt: daysFromNow(-1, 3),
});

const totalsInput: fc.Arbitrary<TotalsInput> = fc
  .record({
    currency: fc.constantFrom(...currencies),
    tax: regionTax,
    address,
    lines: fc.array(line, { maxLength: 6 }),
    charges: fc.array(charge, { maxLength: 2 }),
    promotions: fc.array(promotion, { maxLength: 4 }),
  })
  .map(({ lines, charges, promotions, ...rest }) => ({
    ...rest,
    lines: lines.map((fields, index) => ({ id: `line-${index}`, ...fields })),
    shippingMethods: charges.map((fields, index) => ({ id: `ship-${index}`, charge: fields })),
    promotions: promotions.map((fields, index): Promotion => ({ id: `promo-${index}`, ...fields })),
    now: NOW,
  }));

/** Every bigint anywhere in the result. */
function amountsIn(value: unknown): bigint[] {
  if (typeof value === "bigint") return [value];
  if (Array.isArray(value)) return value.flatMap(amountsIn);
  if (value !== null && typeof value === "object") return Object.values(value).flatMap(amountsIn);
  return [];
}

function checkBreakdown(breakdown: AmountBreakdown, pricesIncludeTax: boolean): void {
  const { subtotal, discountTotal, taxTotal, total, originalTotal } = breakdown;
  expect(discountTotal).toBeLessThanOrEqual(subtotal);
  if (pricesIncludeTax) {
    expect(total).toBe(subtotal - discountTotal);
    expect(taxTotal).toBeLessThanOrEqual(total);
  } else {
    expect(total).toBe(subtotal - discountTotal + taxTotal);
  }
  expect(originalTotal).toBeGreaterThanOrEqual(total);
  expect(sumAmounts(breakdown.adjustments.map((adjustment) => adjustment.amount))).toBe(discountTotal);
  expect(sumAmounts(breakdown.taxLines.map((taxLine) => taxLine.amount))).toBe(taxTotal);
  // Each tax line is its rate of the discounted amount, rounded once: within ½ unit of the exact tax.
  const discounted = subtotal - discountTotal;
  const ratesPpm = breakdown.taxLines.map((taxLine) => BigInt(taxLine.ratePpm));
  const denominator = PPM_PER_WHOLE + (pricesIncludeTax ? sumAmounts(ratesPpm) : 0n);
  for (const taxLine of breakdown.taxLines) {
    const error = taxLine.amount * denominator - discounted * BigInt(taxLine.ratePpm);
    expect((error < 0n ? -error : error) * 2n).toBeLessThanOrEqual(denominator);
  }
}

function checkInvariants(input: TotalsInput, totals: Totals): void {
  const { pricesIncludeTax } = input.tax;
  const { cart } = totals;
  for (const amount of amountsIn(totals)) {
    expect(amount).toBeGreaterThanOrEqual(0n);
  }
  totals.lines.forEach((lineTotals, index) => {
    const line = input.lines[index]!;
    expect(lineTotals.lineId).toBe(line.id);
    expect(lineTotals.subtotal).toBe(BigInt(line.quantity) * line.unitPrice);
    if (!line.discountable) {
      expect(lineTotals.discountTotal).toBe(0n);
    }
    if (line.giftCard) {
      expect(lineTotals.taxLines).toEqual([]);
    } else {
      expect(lineTotals.taxLines.length).toBeGreaterThan(0);
      for (const taxLine of lineTotals.taxLines) expect([line.taxClass, STANDARD_TAX_CLASS]).toContain(taxLine.taxClass);
    }
    checkBreakdown(lineTotals, pricesIncludeTax);
  });
  totals.shippingMethods.forEach((method) => checkBreakdown(method, pricesIncludeTax));

  const sum = (list: readonly AmountBreakdown[], pick: (breakdown: AmountBreakdown) => bigint) =>
    sumAmounts(list.map(pick));
  expect(cart.itemSubtotal).toBe(sum(totals.lines, (line) => line.subtotal));
  expect(cart.itemDiscountTotal).toBe(sum(totals.lines, (line) => line.discountTotal));
  expect(cart.itemTaxTotal).toBe(sum(totals.lines, (line) => line.taxTotal));
  expect(cart.itemTotal).toBe(sum(totals.lines, (line) => line.total));
  expect(cart.shippingSubtotal).toBe(sum(totals.shippingMethods, (method) => method.subtotal));
  expect(cart.shippingDiscountTotal).toBe(sum(totals.shippingMethods, (method) => method.discountTotal));
  expect(cart.shippingTaxTotal).toBe(sum(totals.shippingMethods, (method) => method.taxTotal));
  expect(cart.shippingTotal).toBe(sum(totals.shippingMethods, (method) => method.total));
  expect(cart.total).toBe(cart.itemTotal + cart.shippingTotal);
  expect(cart.subtotal).toBe(cart.itemSubtotal + cart.shippingSubtotal);
  expect(cart.discountTotal).toBe(cart.itemDiscountTotal + cart.shippingDiscountTotal);
  expect(cart.taxTotal).toBe(cart.itemTaxTotal + cart.shippingTaxTotal);
  const taxAdded = pricesIncludeTax ? 0n : 1n;
  expect(cart.itemTotal).toBe(cart.itemSubtotal - cart.itemDiscountTotal + taxAdded * cart.itemTaxTotal);
  expect(cart.shippingTotal).toBe(cart.shippingSubtotal - cart.shippingDiscountTotal + taxAdded * cart.shippingTaxTotal);
  expect(cart.total).toBe(cart.subtotal - cart.discountTotal + taxAdded * cart.taxTotal);
  expect(cart.originalTotal).toBeGreaterThanOrEqual(cart.total);

  // Each applied promotion's amount is exactly what its adjustments add up to; every promotion is accounted for.
  const adjustments = [...totals.lines, ...totals.shippingMethods].flatMap((breakdown) => breakdown.adjustments);
  for (const applied of totals.appliedPromotions) {
    const parts = adjustments.filter((adjustment) => adjustment.promotionId === applied.promotionId);
    expect(sumAmounts(parts.map((part) => part.amount))).toBe(applied.amount);
  }
  const accounted = [...totals.appliedPromotions, ...totals.skippedPromotions].map((entry) => entry.promotionId);
  expect(accounted.sort()).toEqual(input.promotions.map((promotion) => promotion.id).sort());
}

describe("totals properties", () => {
  it("every amount is an integer ≥ 0 and every invariant holds, for random carts, regions and promotions", () => {
    fc.assert(
      fc.property(totalsInput, (input) => {
        checkInvariants(input, computeTotals(input));
      }),
      { numRuns: 1000 },
    );
  }, 120_000);
});

describe("money properties", () => {
  it("divideHalfEven is the nearest integer, ties to even", () => {
    fc.assert(
      fc.property(fc.bigInt(), fc.bigInt().filter((divisor) => divisor !== 0n), (numerator, denominator) => {
        const quotient = divideHalfEven(numerator, denominator);
        // |numerator/denominator − quotient| ≤ ½, i.e. |numerator − quotient·denominator|·2 ≤ |denominator|.
        const error = numerator - quotient * denominator;
        const twiceError = (error < 0n ? -error : error) * 2n;
        const divisor = denominator < 0n ? -denominator : denominator;
        expect(twiceError).toBeLessThanOrEqual(divisor);
        if (twiceError === divisor) {
          expect(quotient % 2n).toBe(0n);
        }
      }),
    );
  });

  it("allocation parts always sum to the whole, each within one unit of its exact share", () => {
    fc.assert(
      fc.property(
        money(10n ** 12n),
        fc.array(money(10n ** 9n), { minLength: 1, maxLength: 12 }).filter((weights) => sumAmounts(weights) > 0n),
        (total, weights) => {
          const parts = allocateLargestRemainder(total, weights);
          const weightSum = sumAmounts(weights);
          expect(parts).toHaveLength(weights.length);
          expect(sumAmounts(parts)).toBe(total);
          parts.forEach((part, index) => {
            const weight = weights[index]!;
            expect(part).toBeGreaterThanOrEqual(0n);
            // |part − total·weight/Σ| < 1
            const scaledError = part * weightSum - total * weight;
            expect(scaledError < weightSum && -scaledError < weightSum).toBe(true);
            if (weight === 0n) expect(part).toBe(0n);
            if (total <= weightSum) expect(part).toBeLessThanOrEqual(weight);
          });
        },
      ),
    );
  });
});

describe("pricing properties", () => {
  const price: fc.Arbitrary<TieredPrice> = fc.record({
    currency: fc.constantFrom("USD", "EUR"),
    regionId: optional(fc.constantFrom("west", "east")),
    minQuantity: fc.integer({ min: 1, max: 50 }),
    amount: money(10_000n),
  });
  const query = fc.record({ currency: fc.constantFrom("USD", "EUR"), regionId: optional(fc.constantFrom("west", "east")) });

  it("tier selection is monotonic: more units never select a lower tier", () => {
    fc.assert(
      fc.property(
        fc.array(price, { maxLength: 10 }),
        query,
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        (prices, where, quantity, more) => {
          const fewer = selectPrice(prices, { ...where, quantity });
          const larger = selectPrice(prices, { ...where, quantity: quantity + more });
          if (fewer) {
            expect(larger).toBeDefined();
            expect(larger!.minQuantity).toBeGreaterThanOrEqual(fewer.minQuantity);
          }
        },
      ),
    );
  });

  it("selects an applicable price, region-specific whenever one applies, and the highest such tier", () => {
    fc.assert(
      fc.property(fc.array(price, { maxLength: 10 }), query, fc.integer({ min: 1, max: 60 }), (prices, where, quantity) => {
        const applicable = prices.filter(
          (candidate) =>
            candidate.currency === where.currency &&
            (candidate.regionId === undefined || candidate.regionId === where.regionId) &&
            candidate.minQuantity <= quantity,
        );
        const selected = selectPrice(prices, { ...where, quantity });
        if (applicable.length === 0) {
          expect(selected).toBeUndefined();
          return;
        }
        expect(applicable).toContain(selected);
        const regional = applicable.filter((candidate) => candidate.regionId !== undefined);
        const pool = regional.length > 0 ? regional : applicable;
        expect(selected!.regionId !== undefined).toBe(regional.length > 0);
        expect(selected!.minQuantity).toBe(Math.max(...pool.map((candidate) => candidate.minQuantity)));
      }),
    );
  });
});
