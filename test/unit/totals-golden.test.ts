import { describe, expect, it } from "vitest";
import { selectPrice, type TieredPrice } from "../../src/domain/pricing.js";
import type { Promotion, PromotionRefusalReason } from "../../src/domain/promotions.js";
import type { ShippingCharge } from "../../src/domain/shipping.js";
import type { CountryTaxRate, RegionTax, TaxAddress } from "../../src/domain/tax.js";
import { computeTotals, type AmountBreakdown, type TotalsInput, type TotalsLine } from "../../src/domain/totals.js";

/*
 * Worked carts with every expected amount written by hand from the rules in
 * docs/totals.md; the arithmetic is in the comments. Amounts are minor units:
 * USD/EUR cents, JPY yen, KWD fils. "½↑"/"½↓" mark half-even ties.
 */

const NOW = new Date("2025-06-01T12:00:00Z");
const DAY = 86_400_000;

/** Rates in parts per million: 100_000 = 10 %, 88_750 = 8.875 %. */
const exclusive = (ratePpm: number, countries: readonly CountryTaxRate[] = []): RegionTax => ({
  pricesIncludeTax: false,
  defaults: { ratePpm },
  countries,
});
const inclusive = (ratePpm: number, countries: readonly CountryTaxRate[] = []): RegionTax => ({
  pricesIncludeTax: true,
  defaults: { ratePpm },
  countries,
});

/** A line of product `p-<id>`. */
const line = (id: string, quantity: number, unitPrice: bigint, extra: Partial<TotalsLine> = {}): TotalsLine => ({
  id,
  productId: `p-${id}`,
  quantity,
  unitPrice,
  discountable: true,
  taxClass: "standard",
  giftCard: false,
  ...extra,
});

/** A line priced the way the service prices it: the price selected for its quantity, currency and region. */
function pricedLine(id: string, quantity: number, prices: readonly TieredPrice[], currency: string, regionId: string): TotalsLine {
  const price = selectPrice(prices, { currency, regionId, quantity });
  if (!price) {
    throw new Error(`no price for ${id}`);
  }
  return line(id, quantity, price.amount, { compareAtUnitPrice: price.compareAtAmount });
}

const percentage = (id: string, basisPoints: number, extra: Partial<Promotion> = {}): Promotion => ({
  id,
  code: id.toUpperCase(),
  value: { kind: "percentage", basisPoints },
  target: { kind: "order" },
  ...extra,
});
const fixed = (id: string, amounts: Record<string, bigint>, extra: Partial<Promotion> = {}): Promotion => ({
  id,
  code: id.toUpperCase(),
  value: { kind: "fixed", amounts: Object.entries(amounts).map(([currency, amount]) => ({ currency, amount })) },
  target: { kind: "order" },
  ...extra,
});
const minimum = (currency: string, amount: bigint) => ({ minimumSubtotal: [{ currency, amount }] });

interface CartSpec {
  readonly currency?: string;
  readonly tax: RegionTax;
  readonly address?: TaxAddress;
  readonly lines?: readonly TotalsLine[];
  readonly shipping?: readonly ShippingCharge[];
  readonly promotions?: readonly Promotion[];
}

const cart = (spec: CartSpec): TotalsInput => ({
  currency: spec.currency ?? "USD",
  tax: spec.tax,
  address: spec.address,
  lines: spec.lines ?? [],
  shippingMethods: (spec.shipping ?? []).map((charge, index) => ({ id: `ship-${index + 1}`, charge })),
  promotions: spec.promotions ?? [],
  now: NOW,
});

/** [subtotal, discount_total, tax_total, total] */
type Sums = readonly [bigint, bigint, bigint, bigint];
/** [subtotal, discount_total, tax_total, total, original_total] */
type Breakdown = readonly [bigint, bigint, bigint, bigint, bigint];

interface GoldenCart {
  readonly name: string;
  readonly input: TotalsInput;
  readonly items: Sums;
  /** Zero when absent. */
  readonly shipping?: Sums;
  readonly discount: bigint;
  readonly tax: bigint;
  readonly subtotal: bigint;
  readonly total: bigint;
  readonly original: bigint;
  /** In line order. */
  readonly lines?: readonly Breakdown[];
  readonly shippingMethods?: readonly Breakdown[];
  /** Every item adjustment, in line order then application order: [line id, promotion id, amount]. */
  readonly adjustments?: readonly (readonly [string, string, bigint])[];
  readonly taxCode?: string;
  /** Per line, then per shipping method, each tax line: [code, rate ppm, tax class, amount]. */
  readonly taxLines?: readonly (readonly TaxLineRow[])[];
  readonly skipped?: readonly PromotionRefusalReason[];
}

type TaxLineRow = readonly [string, number, string, bigint];

const usTaxes: CountryTaxRate[] = [
  { country: "US", ratePpm: 0, provinces: [{ province: "CA", ratePpm: 72_500 }, { province: "NY", ratePpm: 88_750 }] },
];
const euTaxes: CountryTaxRate[] = [{ country: "DE", ratePpm: 190_000 }];
const canadaTaxes: CountryTaxRate[] = [
  { country: "CA", ratePpm: 50_000, provinces: [{ province: "QC", ratePpm: 99_750, combined: true }, { province: "ON", ratePpm: 130_000 }] },
];
const ukRates = {
  ratePpm: 200_000,
  classRates: [
    { taxClass: "reduced", ratePpm: 50_000 },
    { taxClass: "zero", ratePpm: 0 },
  ],
};
const tiered: TieredPrice[] = [
  { currency: "USD", minQuantity: 1, amount: 1000n },
  { currency: "USD", minQuantity: 10, amount: 850n },
];
const regional: TieredPrice[] = [
  { currency: "USD", minQuantity: 1, amount: 1000n },
  { currency: "USD", minQuantity: 5, amount: 700n },
  { currency: "USD", regionId: "us-west", minQuantity: 1, amount: 900n },
];
const markedDown: TieredPrice[] = [{ currency: "USD", minQuantity: 1, amount: 800n, compareAtAmount: 1000n }];
const markedUp: TieredPrice[] = [{ currency: "USD", minQuantity: 1, amount: 800n, compareAtAmount: 700n }];

const golden: GoldenCart[] = [
  {
    name: "empty cart",
    input: cart({ tax: exclusive(100_000) }),
    items: [0n, 0n, 0n, 0n],
    discount: 0n, tax: 0n, subtotal: 0n, total: 0n, original: 0n,
  },
  {
    // 2 × 5.00 = 10.00, no tax.
    name: "one line without tax",
    input: cart({ tax: exclusive(0), lines: [line("a", 2, 500n)] }),
    items: [1000n, 0n, 0n, 1000n],
    discount: 0n, tax: 0n, subtotal: 1000n, total: 1000n, original: 1000n,
    lines: [[1000n, 0n, 0n, 1000n, 1000n]],
  },
  {
    // 3 × 9.99 = 29.97; 10 % = 2.997 → 3.00; total 32.97 (Medusa says 32.967).
    name: "3 × 9.99 at 10 % tax-exclusive",
    input: cart({ tax: exclusive(100_000), lines: [line("a", 3, 999n)] }),
    items: [2997n, 0n, 300n, 3297n],
    discount: 0n, tax: 300n, subtotal: 2997n, total: 3297n, original: 3297n,
    lines: [[2997n, 0n, 300n, 3297n, 3297n]],
    taxCode: "default",
  },
  {
    // a: 25 × 10 % = 2.5 ½↓ 2; b: 35 × 10 % = 3.5 ½↑ 4.
    name: "half-even ties: 2.5 → 2, 3.5 → 4",
    input: cart({ tax: exclusive(100_000), lines: [line("a", 1, 25n), line("b", 1, 35n)] }),
    items: [60n, 0n, 6n, 66n],
    discount: 0n, tax: 6n, subtotal: 60n, total: 66n, original: 66n,
    lines: [[25n, 0n, 2n, 27n, 27n], [35n, 0n, 4n, 39n, 39n]],
  },
  {
    // Each 5 × 10 % = 0.5 ½↓ 0; rounding the cart's 1.5 instead would give 2.
    name: "tax rounds once per line, not per cart",
    input: cart({ tax: exclusive(100_000), lines: [line("a", 1, 5n), line("b", 1, 5n), line("c", 1, 5n)] }),
    items: [15n, 0n, 0n, 15n],
    discount: 0n, tax: 0n, subtotal: 15n, total: 15n, original: 15n,
  },
  {
    // ¥333 × 3 = ¥999; 10 % = 99.9 → ¥100.
    name: "JPY tax-exclusive",
    input: cart({ currency: "JPY", tax: exclusive(100_000), lines: [line("a", 3, 333n)] }),
    items: [999n, 0n, 100n, 1099n],
    discount: 0n, tax: 100n, subtotal: 999n, total: 1099n, original: 1099n,
  },
  {
    // a: ¥1000 × 1000/11000 = 90.9 → 91; b: ¥1100 × 3 = ¥3300 × 1000/11000 = 300.
    name: "JPY tax-inclusive",
    input: cart({ currency: "JPY", tax: inclusive(100_000), lines: [line("a", 1, 1000n), line("b", 3, 1100n)] }),
    items: [4300n, 0n, 391n, 4300n],
    discount: 0n, tax: 391n, subtotal: 4300n, total: 4300n, original: 4300n,
    lines: [[1000n, 0n, 91n, 1000n, 1000n], [3300n, 0n, 300n, 3300n, 3300n]],
  },
  {
    // 2 × 1.255 KWD = 2.510; 5 % = 125.5 ½↑ 126 fils. Shipping 0.750: 37.5 ½↑ 38.
    name: "KWD with shipping",
    input: cart({ currency: "KWD", tax: exclusive(50_000), lines: [line("a", 2, 1255n)], shipping: [{ amount: 750n }] }),
    items: [2510n, 0n, 126n, 2636n],
    shipping: [750n, 0n, 38n, 788n],
    discount: 0n, tax: 164n, subtotal: 3260n, total: 3424n, original: 3424n,
    shippingMethods: [[750n, 0n, 38n, 788n, 788n]],
  },
  {
    // 3 × 1.234 = 3.702 KWD; 15 % = 555.3 → 555; net 3147 × 5 % = 157.35 → 157.
    // Original: 3702 + 185.1 → 185 = 3887.
    name: "KWD percentage promotion",
    input: cart({ currency: "KWD", tax: exclusive(50_000), lines: [line("a", 3, 1234n)], promotions: [percentage("p15", 1500)] }),
    items: [3702n, 555n, 157n, 3304n],
    discount: 555n, tax: 157n, subtotal: 3702n, total: 3304n, original: 3887n,
  },
  {
    // 12.00 including 20 %: 1200 × 2000/12000 = 200.
    name: "tax-inclusive 20 %",
    input: cart({ currency: "EUR", tax: inclusive(200_000), lines: [line("a", 1, 1200n)] }),
    items: [1200n, 0n, 200n, 1200n],
    discount: 0n, tax: 200n, subtotal: 1200n, total: 1200n, original: 1200n,
  },
  {
    // 2997 × 1900/11900 = 478.51 → 479.
    name: "tax-inclusive 3 × 9.99 at 19 %",
    input: cart({ currency: "EUR", tax: inclusive(190_000), lines: [line("a", 3, 999n)] }),
    items: [2997n, 0n, 479n, 2997n],
    discount: 0n, tax: 479n, subtotal: 2997n, total: 2997n, original: 2997n,
  },
  {
    // 12.5 % of 3250 = 406.25 → 406. Exact shares: a 249.72, b 62.59, c 93.69; floors 404;
    // the 2 missing units go to the largest remainders a (.72) and c (.69): 250 + 62 + 94 = 406.
    // (Rounding each line instead gives 250 + 63 + 94 = 407.)
    // Tax 10 %: a 1749 → 174.9 → 175; b 439 → 43.9 → 44; c 656 → 65.6 → 66.
    // Original: a 1999 + 200, b 501 + 50, c 750 + 75.
    name: "percentage promotion across three lines by largest remainder",
    input: cart({
      tax: exclusive(100_000),
      lines: [line("a", 1, 1999n), line("b", 1, 501n), line("c", 1, 750n)],
      promotions: [percentage("p", 1250)],
    }),
    items: [3250n, 406n, 285n, 3129n],
    discount: 406n, tax: 285n, subtotal: 3250n, total: 3129n, original: 3575n,
    lines: [[1999n, 250n, 175n, 1924n, 2199n], [501n, 62n, 44n, 483n, 551n], [750n, 94n, 66n, 722n, 825n]],
    adjustments: [["a", "p", 250n], ["b", "p", 62n], ["c", "p", 94n]],
  },
  {
    // 10.00 over three equal lines: 333.33 each; the missing unit goes to the first (tie).
    name: "fixed promotion across three equal lines",
    input: cart({
      tax: exclusive(0),
      lines: [line("a", 1, 1000n), line("b", 1, 1000n), line("c", 1, 1000n)],
      promotions: [fixed("ten", { USD: 1000n })],
    }),
    items: [3000n, 1000n, 0n, 2000n],
    discount: 1000n, tax: 0n, subtotal: 3000n, total: 2000n, original: 3000n,
    adjustments: [["a", "ten", 334n], ["b", "ten", 333n], ["c", "ten", 333n]],
  },
  {
    // 10.00 off a 5.00 line takes 5.00; nothing left to tax. Original 500 + 50.
    name: "fixed promotion larger than what it applies to",
    input: cart({ tax: exclusive(100_000), lines: [line("a", 1, 500n)], promotions: [fixed("ten", { USD: 1000n })] }),
    items: [500n, 500n, 0n, 0n],
    discount: 500n, tax: 0n, subtotal: 500n, total: 0n, original: 550n,
  },
  {
    // 10 % of the discountable 20.00 only = 2.00. Tax: a 1800 → 180, b 3000 → 300.
    name: "non-discountable line is never discounted",
    input: cart({
      tax: exclusive(100_000),
      lines: [line("a", 1, 2000n), line("b", 1, 3000n, { discountable: false })],
      promotions: [percentage("p10", 1000)],
    }),
    items: [5000n, 200n, 480n, 5280n],
    discount: 200n, tax: 480n, subtotal: 5000n, total: 5280n, original: 5500n,
    lines: [[2000n, 200n, 180n, 1980n, 2200n], [3000n, 0n, 300n, 3300n, 3300n]],
  },
  {
    // 25 % of product p-b only: 800 → 200.
    name: "promotion on listed products",
    input: cart({
      tax: exclusive(0),
      lines: [line("a", 2, 1500n), line("b", 1, 800n)],
      promotions: [percentage("mugs", 2500, { target: { kind: "products", productIds: ["p-b"] } })],
    }),
    items: [3800n, 200n, 0n, 3600n],
    discount: 200n, tax: 0n, subtotal: 3800n, total: 3600n, original: 3800n,
    lines: [[3000n, 0n, 0n, 3000n, 3000n], [800n, 200n, 0n, 600n, 800n]],
  },
  {
    // 55.00 ≥ 50.00. 5.00 split 3000:2500 = 272.73 / 227.27 → floors 499, a has the larger remainder.
    name: "fixed promotion with its minimum met",
    input: cart({
      tax: exclusive(0),
      lines: [line("a", 1, 3000n), line("b", 1, 2500n)],
      promotions: [fixed("five", { USD: 500n }, minimum("USD", 5000n))],
    }),
    items: [5500n, 500n, 0n, 5000n],
    discount: 500n, tax: 0n, subtotal: 5500n, total: 5000n, original: 5500n,
    adjustments: [["a", "five", 273n], ["b", "five", 227n]],
  },
  {
    // The same cart without line b: 30.00 < 50.00, the promotion is skipped.
    name: "promotion minimum no longer met after removing a line",
    input: cart({
      tax: exclusive(0),
      lines: [line("a", 1, 3000n)],
      promotions: [fixed("five", { USD: 500n }, minimum("USD", 5000n))],
    }),
    items: [3000n, 0n, 0n, 3000n],
    discount: 0n, tax: 0n, subtotal: 3000n, total: 3000n, original: 3000n,
    adjustments: [],
    skipped: ["minimum_not_met"],
  },
  {
    // 50.00 gross, 10 % off = 5.00; 45.00 gross contains 4500 × 2000/12000 = 7.50 tax.
    name: "tax-inclusive price with a percentage discount",
    input: cart({ currency: "EUR", tax: inclusive(200_000), lines: [line("a", 1, 5000n)], promotions: [percentage("p10", 1000)] }),
    items: [5000n, 500n, 750n, 4500n],
    discount: 500n, tax: 750n, subtotal: 5000n, total: 4500n, original: 5000n,
    lines: [[5000n, 500n, 750n, 4500n, 5000n]],
  },
  {
    // 5.00 split 1999:1497 = 285.90 / 214.10 → a 286, b 214.
    // Tax 19 % included: a 1713 × 1900/11900 = 273.50 → 274; b 1283 × 1900/11900 = 204.85 → 205.
    name: "tax-inclusive fixed promotion across two lines",
    input: cart({
      currency: "EUR",
      tax: inclusive(190_000),
      lines: [line("a", 1, 1999n), line("b", 3, 499n)],
      promotions: [fixed("five", { EUR: 500n })],
    }),
    items: [3496n, 500n, 479n, 2996n],
    discount: 500n, tax: 479n, subtotal: 3496n, total: 2996n, original: 3496n,
    lines: [[1999n, 286n, 274n, 1713n, 1999n], [1497n, 214n, 205n, 1283n, 1497n]],
  },
  {
    // ¥500 (not 5.00: JPY has no minor unit) split 1200:1600 = 214.29 / 285.71 → 214, 286.
    // Tax 10 % included: a 986/11 = 89.6 → 90; b 1314/11 = 119.5 → 119.
    name: "JPY fixed promotion across lines",
    input: cart({
      currency: "JPY",
      tax: inclusive(100_000),
      lines: [line("a", 1, 1200n), line("b", 2, 800n)],
      promotions: [fixed("yen", { USD: 500n, JPY: 500n })],
    }),
    items: [2800n, 500n, 209n, 2300n],
    discount: 500n, tax: 209n, subtotal: 2800n, total: 2300n, original: 2800n,
    lines: [[1200n, 214n, 90n, 986n, 1200n], [1600n, 286n, 119n, 1314n, 1600n]],
  },
  {
    // 9 units: the 10+ tier does not apply yet, 9 × 10.00.
    name: "quantity tier not reached",
    input: cart({ tax: exclusive(0), lines: [pricedLine("a", 9, tiered, "USD", "us-east")] }),
    items: [9000n, 0n, 0n, 9000n],
    discount: 0n, tax: 0n, subtotal: 9000n, total: 9000n, original: 9000n,
  },
  {
    // 10 units cross into the 8.50 tier: 10 × 8.50 costs less than 9 × 10.00.
    name: "quantity tier crossed",
    input: cart({ tax: exclusive(0), lines: [pricedLine("a", 10, tiered, "USD", "us-east")] }),
    items: [8500n, 0n, 0n, 8500n],
    discount: 0n, tax: 0n, subtotal: 8500n, total: 8500n, original: 8500n,
  },
  {
    // us-west has its own 9.00 price, which beats the currency-wide 7.00 tier for 5+.
    name: "region-specific price beats a currency-only tier",
    input: cart({ tax: exclusive(0), lines: [pricedLine("a", 5, regional, "USD", "us-west")] }),
    items: [4500n, 0n, 0n, 4500n],
    discount: 0n, tax: 0n, subtotal: 4500n, total: 4500n, original: 4500n,
  },
  {
    // us-east has no regional price: 5 units take the currency-wide 7.00 tier.
    name: "currency-only tier where the region has no price",
    input: cart({ tax: exclusive(0), lines: [pricedLine("a", 5, regional, "USD", "us-east")] }),
    items: [3500n, 0n, 0n, 3500n],
    discount: 0n, tax: 0n, subtotal: 3500n, total: 3500n, original: 3500n,
  },
  {
    name: "free shipping threshold not reached",
    input: cart({ tax: exclusive(0), lines: [line("a", 1, 4999n)], shipping: [{ amount: 500n, freeAbove: 5000n }] }),
    items: [4999n, 0n, 0n, 4999n],
    shipping: [500n, 0n, 0n, 500n],
    discount: 0n, tax: 0n, subtotal: 5499n, total: 5499n, original: 5499n,
  },
  {
    // The threshold is inclusive: 50.00 ships free.
    name: "free shipping threshold reached exactly",
    input: cart({ tax: exclusive(0), lines: [line("a", 1, 5000n)], shipping: [{ amount: 500n, freeAbove: 5000n }] }),
    items: [5000n, 0n, 0n, 5000n],
    shipping: [0n, 0n, 0n, 0n],
    discount: 0n, tax: 0n, subtotal: 5000n, total: 5000n, original: 5000n,
  },
  {
    // 55.00 − 10 % = 49.50 after discounts, below 50.00: shipping is charged.
    name: "discount takes the cart back below the free shipping threshold",
    input: cart({
      tax: exclusive(0),
      lines: [line("a", 1, 5500n)],
      shipping: [{ amount: 500n, freeAbove: 5000n }],
      promotions: [percentage("p10", 1000)],
    }),
    items: [5500n, 550n, 0n, 4950n],
    shipping: [500n, 0n, 0n, 500n],
    discount: 550n, tax: 0n, subtotal: 6000n, total: 5450n, original: 6000n,
    // original_total is the price charged before shipping promotions (5.00), not the 0 it would cost without the 10 %.
    shippingMethods: [[500n, 0n, 0n, 500n, 500n]],
  },
  {
    // The same cart without the promotion: 55.00 reaches 50.00 and ships free. So what the method would
    // have cost without promotions is 0, while the row above charges 5.00 and reports that as its
    // original_total (the price charged, before shipping promotions): see docs/totals.md.
    name: "the same cart without the discount ships free",
    input: cart({ tax: exclusive(0), lines: [line("a", 1, 5500n)], shipping: [{ amount: 500n, freeAbove: 5000n }] }),
    items: [5500n, 0n, 0n, 5500n],
    shipping: [0n, 0n, 0n, 0n],
    discount: 0n, tax: 0n, subtotal: 5500n, total: 5500n, original: 5500n,
    shippingMethods: [[0n, 0n, 0n, 0n, 0n]],
  },
  {
    // Shipping 4.99 × 10 % = 0.499 → 0.50.
    name: "shipping is taxed at the cart's rate",
    input: cart({ tax: exclusive(100_000), lines: [line("a", 1, 2000n)], shipping: [{ amount: 499n }] }),
    items: [2000n, 0n, 200n, 2200n],
    shipping: [499n, 0n, 50n, 549n],
    discount: 0n, tax: 250n, subtotal: 2499n, total: 2749n, original: 2749n,
    shippingMethods: [[499n, 0n, 50n, 549n, 549n]],
  },
  {
    // Shipping 5.90 including 20 %: 590 × 2000/12000 = 98.33 → 98.
    name: "tax-inclusive shipping",
    input: cart({ currency: "EUR", tax: inclusive(200_000), lines: [line("a", 1, 1200n)], shipping: [{ amount: 590n }] }),
    items: [1200n, 0n, 200n, 1200n],
    shipping: [590n, 0n, 98n, 590n],
    discount: 0n, tax: 298n, subtotal: 1790n, total: 1790n, original: 1790n,
  },
  {
    // Shipping 5.00 (+ 0.50 tax) taken off entirely by a shipping promotion; items keep their 10 %.
    // Original: 2200 + 550.
    name: "free-shipping promotion",
    input: cart({
      tax: exclusive(100_000),
      lines: [line("a", 1, 2000n)],
      shipping: [{ amount: 500n }],
      promotions: [percentage("freeship", 10_000, { target: { kind: "shipping" } })],
    }),
    items: [2000n, 0n, 200n, 2200n],
    shipping: [500n, 500n, 0n, 0n],
    discount: 500n, tax: 200n, subtotal: 2500n, total: 2200n, original: 2750n,
    shippingMethods: [[500n, 500n, 0n, 0n, 550n]],
  },
  {
    // California overrides the US rate: 1999 × 7.25 % = 144.93 → 145.
    name: "province override rate",
    input: cart({ tax: exclusive(0, usTaxes), address: { country: "US", province: "CA" }, lines: [line("a", 1, 1999n)] }),
    items: [1999n, 0n, 145n, 2144n],
    discount: 0n, tax: 145n, subtotal: 1999n, total: 2144n, original: 2144n,
    taxCode: "US-CA",
  },
  {
    name: "province without an override takes the country rate",
    input: cart({ tax: exclusive(0, usTaxes), address: { country: "US", province: "OR" }, lines: [line("a", 1, 1999n)] }),
    items: [1999n, 0n, 0n, 1999n],
    discount: 0n, tax: 0n, subtotal: 1999n, total: 1999n, original: 1999n,
    taxCode: "US",
  },
  {
    // Germany's 19 % instead of the region's 20 %: 1190 × 1900/11900 = 190.
    name: "country rate in a tax-inclusive region",
    input: cart({ currency: "EUR", tax: inclusive(200_000, euTaxes), address: { country: "DE" }, lines: [line("a", 1, 1190n)] }),
    items: [1190n, 0n, 190n, 1190n],
    discount: 0n, tax: 190n, subtotal: 1190n, total: 1190n, original: 1190n,
    taxCode: "DE",
  },
  {
    // No address yet: the default 20 %, 1190 × 2000/12000 = 198.33 → 198.
    name: "region default rate without an address",
    input: cart({ currency: "EUR", tax: inclusive(200_000, euTaxes), lines: [line("a", 1, 1190n)] }),
    items: [1190n, 0n, 198n, 1190n],
    discount: 0n, tax: 198n, subtotal: 1190n, total: 1190n, original: 1190n,
    taxCode: "default",
  },
  {
    // a: 2 × 8.00 was 10.00 → original 2000 + 200. b: compare-at 7.00 is below 8.00 and ignored → 800 + 80.
    name: "compare-at prices feed original totals",
    input: cart({
      tax: exclusive(100_000),
      lines: [pricedLine("a", 2, markedDown, "USD", "us-east"), pricedLine("b", 1, markedUp, "USD", "us-east")],
    }),
    items: [2400n, 0n, 240n, 2640n],
    discount: 0n, tax: 240n, subtotal: 2400n, total: 2640n, original: 3080n,
    lines: [[1600n, 0n, 160n, 1760n, 2200n], [800n, 0n, 80n, 880n, 880n]],
  },
  {
    // Percentages stack before fixed amounts whatever their ids: 10 % of 100.00 = 10.00, then 10.00 off.
    name: "percentage before fixed amount",
    input: cart({
      tax: exclusive(0),
      lines: [line("a", 1, 10_000n)],
      promotions: [fixed("a-fixed", { USD: 1000n }), percentage("b-pct", 1000)],
    }),
    items: [10_000n, 2000n, 0n, 8000n],
    discount: 2000n, tax: 0n, subtotal: 10_000n, total: 8000n, original: 10_000n,
    adjustments: [["a", "b-pct", 1000n], ["a", "a-fixed", 1000n]],
  },
  {
    // 10 % of 100.00 = 10.00, then 20 % of the remaining 90.00 = 18.00.
    name: "percentages compound",
    input: cart({
      tax: exclusive(0),
      lines: [line("a", 1, 10_000n)],
      promotions: [percentage("p20", 2000), percentage("p10", 1000)],
    }),
    items: [10_000n, 2800n, 0n, 7200n],
    discount: 2800n, tax: 0n, subtotal: 10_000n, total: 7200n, original: 10_000n,
    adjustments: [["a", "p10", 1000n], ["a", "p20", 1800n]],
  },
  {
    // A 5.00-off-in-USD promotion says nothing about EUR.
    name: "wrong-currency promotion is skipped",
    input: cart({ currency: "EUR", tax: exclusive(0), lines: [line("a", 1, 1000n)], promotions: [fixed("usd", { USD: 500n })] }),
    items: [1000n, 0n, 0n, 1000n],
    discount: 0n, tax: 0n, subtotal: 1000n, total: 1000n, original: 1000n,
    skipped: ["wrong_currency"],
  },
  {
    // Ended at NOW (end exclusive) and starting tomorrow are skipped; starting at NOW (inclusive) applies.
    name: "promotions outside their validity window are skipped",
    input: cart({
      tax: exclusive(0),
      lines: [line("a", 1, 1000n)],
      promotions: [
        percentage("ended", 5000, { endsAt: NOW }),
        percentage("later", 5000, { startsAt: new Date(NOW.getTime() + DAY) }),
        percentage("now", 1000, { startsAt: NOW, endsAt: new Date(NOW.getTime() + DAY) }),
      ],
    }),
    items: [1000n, 100n, 0n, 900n],
    discount: 100n, tax: 0n, subtotal: 1000n, total: 900n, original: 1000n,
    adjustments: [["a", "now", 100n]],
    skipped: ["expired", "not_started"],
  },
  {
    // New York City, 8.875 % (88 750 ppm), a rate whole basis points cannot state.
    // a: 2 × 24.99 = 4998 × 0.08875 = 443.5725 → 444; b: 129.00 × 0.08875 = 1144.875 → 1145
    // (887 bp would give 1144, 888 bp 1146); c: 12.00 × 0.08875 = 106.5 ½↓ 106.
    // Shipping 7.95 × 0.08875 = 70.55625 → 71.
    name: "New York City 8.875 %",
    input: cart({
      tax: exclusive(0, usTaxes),
      address: { country: "US", province: "NY" },
      lines: [line("a", 2, 2499n), line("b", 1, 12_900n), line("c", 1, 1200n)],
      shipping: [{ amount: 795n }],
    }),
    items: [19_098n, 0n, 1695n, 20_793n],
    shipping: [795n, 0n, 71n, 866n],
    discount: 0n, tax: 1766n, subtotal: 19_893n, total: 21_659n, original: 21_659n,
    lines: [[4998n, 0n, 444n, 5442n, 5442n], [12_900n, 0n, 1145n, 14_045n, 14_045n], [1200n, 0n, 106n, 1306n, 1306n]],
    taxLines: [
      [["US-NY", 88_750, "standard", 444n]],
      [["US-NY", 88_750, "standard", 1145n]],
      [["US-NY", 88_750, "standard", 106n]],
      [["US-NY", 88_750, "standard", 71n]],
    ],
  },
  {
    // Quebec: GST 5 % (Canada) and QST 9.975 % (Quebec, combined), two tax lines, each rounded once.
    // a: 19.99 → GST 99.95 → 100, QST 199.40 → 199. b: 3 × 4.50 = 13.50 → GST 67.5 ½↑ 68, QST 134.66 → 135.
    // Shipping 10.00 → GST 50, QST 99.75 → 100.
    name: "Quebec GST 5 % and QST 9.975 %",
    input: cart({
      currency: "CAD",
      tax: exclusive(0, canadaTaxes),
      address: { country: "CA", province: "QC" },
      lines: [line("a", 1, 1999n), line("b", 3, 450n)],
      shipping: [{ amount: 1000n }],
    }),
    items: [3349n, 0n, 502n, 3851n],
    shipping: [1000n, 0n, 150n, 1150n],
    discount: 0n, tax: 652n, subtotal: 4349n, total: 5001n, original: 5001n,
    lines: [[1999n, 0n, 299n, 2298n, 2298n], [1350n, 0n, 203n, 1553n, 1553n]],
    taxLines: [
      [["CA", 50_000, "standard", 100n], ["CA-QC", 99_750, "standard", 199n]],
      [["CA", 50_000, "standard", 68n], ["CA-QC", 99_750, "standard", 135n]],
      [["CA", 50_000, "standard", 50n], ["CA-QC", 99_750, "standard", 100n]],
    ],
  },
  {
    // UK, VAT included: a T-shirt at the standard 20 %, a child car seat at the reduced 5 %, two books zero-rated.
    // a: 24.00 × 20/120 = 400. b: 89.99 × 5/105 = 428.52 → 429. c: 2 × 7.99 at 0 % = 0 (a zero tax line, not none).
    // Shipping 3.99, standard class: 399 × 20/120 = 66.5 ½↓ 66.
    name: "UK VAT: standard 20 %, reduced 5 % and zero-rated lines",
    input: cart({
      currency: "GBP",
      tax: { pricesIncludeTax: true, defaults: ukRates, countries: [{ country: "GB", ...ukRates }] },
      address: { country: "GB" },
      lines: [line("a", 1, 2400n), line("b", 1, 8999n, { taxClass: "reduced" }), line("c", 2, 799n, { taxClass: "zero" })],
      shipping: [{ amount: 399n }],
    }),
    items: [12_997n, 0n, 829n, 12_997n],
    shipping: [399n, 0n, 66n, 399n],
    discount: 0n, tax: 895n, subtotal: 13_396n, total: 13_396n, original: 13_396n,
    taxLines: [
      [["GB", 200_000, "standard", 400n]],
      [["GB", 50_000, "reduced", 429n]],
      [["GB", 0, "zero", 0n]],
      [["GB", 200_000, "standard", 66n]],
    ],
  },
  {
    // California 7.25 %, a 30.00 mug and a 25.00 gift card, 10 % off the order, shipping 5.99 free from 50.00.
    // The gift card is neither discounted nor taxed (no tax line). The 10 % takes 3.00 off the mug: 2700 × 0.0725
    // = 195.75 → 196. For the threshold only the mug's 27.00 counts (not 52.00), so shipping is charged:
    // 599 × 0.0725 = 43.43 → 43. Original: mug 3000 + 217.5 ½↑ 218, gift card 2500, shipping 642.
    name: "US gift card: exempt, not discounted, not counted towards free shipping",
    input: cart({
      tax: exclusive(0, usTaxes),
      address: { country: "US", province: "CA" },
      lines: [line("a", 1, 3000n), line("gift", 1, 2500n, { giftCard: true, discountable: false })],
      shipping: [{ amount: 599n, freeAbove: 5000n }],
      promotions: [percentage("p10", 1000)],
    }),
    items: [5500n, 300n, 196n, 5396n],
    shipping: [599n, 0n, 43n, 642n],
    discount: 300n, tax: 239n, subtotal: 6099n, total: 6038n, original: 6360n,
    lines: [[3000n, 300n, 196n, 2896n, 3218n], [2500n, 0n, 0n, 2500n, 2500n]],
    taxLines: [[["US-CA", 72_500, "standard", 196n]], [], [["US-CA", 72_500, "standard", 43n]]],
  },
  {
    // The same cart with an option that counts gift cards: 27.00 + 25.00 = 52.00 reaches 50.00, shipping is free.
    name: "US gift card counted towards free shipping where the option says so",
    input: cart({
      tax: exclusive(0, usTaxes),
      address: { country: "US", province: "CA" },
      lines: [line("a", 1, 3000n), line("gift", 1, 2500n, { giftCard: true, discountable: false })],
      shipping: [{ amount: 599n, freeAbove: 5000n, giftCardsCountTowardsFreeShipping: true }],
      promotions: [percentage("p10", 1000)],
    }),
    items: [5500n, 300n, 196n, 5396n],
    shipping: [0n, 0n, 0n, 0n],
    discount: 300n, tax: 196n, subtotal: 5500n, total: 5396n, original: 5718n,
  },
  {
    // A class the place has no rate for is taxed at the place's standard rate, and its tax line says "standard".
    name: "tax class without a rate at the place",
    input: cart({ tax: exclusive(0, usTaxes), address: { country: "US", province: "NY" }, lines: [line("a", 1, 1000n, { taxClass: "books" })] }),
    items: [1000n, 0n, 89n, 1089n],
    discount: 0n, tax: 89n, subtotal: 1000n, total: 1089n, original: 1089n,
    taxLines: [[["US-NY", 88_750, "standard", 89n]]],
  },
];

const breakdownOf = (amounts: AmountBreakdown): Breakdown => [
  amounts.subtotal,
  amounts.discountTotal,
  amounts.taxTotal,
  amounts.total,
  amounts.originalTotal,
];

describe("totals golden table", () => {
  it("has at least 25 worked carts", () => {
    expect(golden.length).toBeGreaterThanOrEqual(25);
  });

  it.each(golden)("$name", (example) => {
    const totals = computeTotals(example.input);
    const [itemSubtotal, itemDiscountTotal, itemTaxTotal, itemTotal] = example.items;
    const [shippingSubtotal, shippingDiscountTotal, shippingTaxTotal, shippingTotal] = example.shipping ?? [0n, 0n, 0n, 0n];
    expect(totals.cart).toEqual({
      itemSubtotal,
      itemDiscountTotal,
      itemTaxTotal,
      itemTotal,
      shippingSubtotal,
      shippingDiscountTotal,
      shippingTaxTotal,
      shippingTotal,
      discountTotal: example.discount,
      taxTotal: example.tax,
      subtotal: example.subtotal,
      total: example.total,
      originalTotal: example.original,
    });
    if (example.lines) {
      expect(totals.lines.map(breakdownOf)).toEqual(example.lines);
    }
    if (example.shippingMethods) {
      expect(totals.shippingMethods.map(breakdownOf)).toEqual(example.shippingMethods);
    }
    if (example.adjustments) {
      const adjustments = totals.lines.flatMap((line) =>
        line.adjustments.map((adjustment) => [line.lineId, adjustment.promotionId, adjustment.amount]),
      );
      expect(adjustments).toEqual(example.adjustments);
    }
    if (example.taxCode) {
      expect(totals.lines.flatMap((line) => line.taxLines.map((taxLine) => taxLine.code))).toEqual(
        example.input.lines.map(() => example.taxCode),
      );
    }
    if (example.taxLines) {
      const rows = [...totals.lines, ...totals.shippingMethods].map((breakdown) =>
        breakdown.taxLines.map((taxLine) => [taxLine.code, taxLine.ratePpm, taxLine.taxClass, taxLine.amount]),
      );
      expect(rows).toEqual(example.taxLines);
    }
    expect(totals.skippedPromotions.map((skipped) => skipped.refusal.reason)).toEqual(example.skipped ?? []);
  });
});
