import { allocateLargestRemainder, sumAmounts } from "./money.js";
import {
  compareStacking,
  promotionCoversLine,
  promotionDiscount,
  promotionRefusal,
  type Promotion,
  type PromotionRefusal,
} from "./promotions.js";
import { shippingAmount, type ShippingCharge } from "./shipping.js";
import { type AppliedTaxRate, resolveTaxRates, STANDARD_TAX_CLASS, taxesOn, type RegionTax, type TaxAddress } from "./tax.js";

/**
 * Every amount of a cart, computed in one place from its lines, shipping
 * methods, region tax and promotions. The rules, with worked examples, are in
 * docs/totals.md; in short:
 *
 * 1. line subtotal = quantity × unit price (exact).
 * 2. Item promotions, in stacking order (percentages, then fixed amounts, each
 *    by id), each on what the ones before left of the discountable lines it
 *    covers; its amount is rounded half-even once and split across those
 *    lines by largest remainder, so the parts add up to it exactly.
 * 3. Shipping: free when the item subtotal after item discounts (gift cards
 *    only if the option counts them) reaches the option's threshold, else its
 *    flat amount; then shipping promotions, the same way across shipping
 *    methods.
 * 4. Tax, at the rates of the line's tax class (shipping: the standard
 *    class; gift cards: none), each rate rounded half-even once per line and
 *    per shipping method, on the discounted amount (discounts apply before
 *    tax). Tax-exclusive: tax = discounted × rate, total = discounted + tax.
 *    Tax-inclusive: the price already contains the tax, total = discounted,
 *    tax = discounted × rate / (1 + Σ rates) is the part of it that is tax.
 *
 * Amounts are bigint minor units of the cart currency. Given non-negative
 * prices, quantities, rates and promotion values (the admin API validates
 * them), every result is an integer ≥ 0 and for every line, shipping method
 * and the cart:
 *   total = subtotal − discount_total + tax_total   (tax-exclusive)
 *   total = subtotal − discount_total               (tax-inclusive; tax_total ≤ total is contained in it)
 * and total = item_total + shipping_total.
 */

export interface TotalsLine {
  readonly id: string;
  readonly productId: string;
  readonly quantity: number;
  /** Selected by pricing.selectPrice for the line's quantity. */
  readonly unitPrice: bigint;
  /** The price's compare-at amount; counts for original totals only when above the unit price. */
  readonly compareAtUnitPrice?: bigint;
  /** False for products that are never discounted (gift cards, for instance). */
  readonly discountable: boolean;
  /** Selects the line's tax rates (STANDARD_TAX_CLASS when the product names none). */
  readonly taxClass: string;
  /** Gift cards are never taxed and count towards free shipping only where the option says so. */
  readonly giftCard: boolean;
}

export interface TotalsShippingMethod {
  readonly id: string;
  /** From shipping.quoteShippingOption for the cart. */
  readonly charge: ShippingCharge;
}

export interface TotalsInput {
  readonly currency: string;
  readonly tax: RegionTax;
  /** The shipping address, which selects the tax rate; undefined: region default. */
  readonly address?: TaxAddress;
  /** Oldest first; the order breaks allocation ties. */
  readonly lines: readonly TotalsLine[];
  readonly shippingMethods: readonly TotalsShippingMethod[];
  /** Automatic promotions and those whose codes the cart holds, each once. */
  readonly promotions: readonly Promotion[];
  /** Decides which promotions are in their validity window. */
  readonly now: Date;
}

/** The tax one rate levies on a line or shipping method. */
export interface TaxLine extends AppliedTaxRate {
  readonly amount: bigint;
}

export interface DiscountAdjustment {
  readonly promotionId: string;
  readonly code?: string;
  readonly amount: bigint;
}

export interface AmountBreakdown {
  /** Before discounts: quantity × unit price for a line, the charged price for a shipping method. */
  readonly subtotal: bigint;
  readonly discountTotal: bigint;
  readonly taxTotal: bigint;
  readonly total: bigint;
  /** Before discounts, at the compare-at price when there is one, with tax. */
  readonly originalTotal: bigint;
  /** One per rate charged (two where a province's rate is combined with its country's; none for gift cards); they add up to taxTotal. */
  readonly taxLines: readonly TaxLine[];
  /** One per promotion that took something off; they add up to discountTotal. */
  readonly adjustments: readonly DiscountAdjustment[];
}

export interface LineTotals extends AmountBreakdown {
  readonly lineId: string;
}

export interface ShippingMethodTotals extends AmountBreakdown {
  readonly shippingMethodId: string;
}

export interface CartTotals {
  readonly itemSubtotal: bigint;
  readonly itemDiscountTotal: bigint;
  readonly itemTaxTotal: bigint;
  readonly itemTotal: bigint;
  readonly shippingSubtotal: bigint;
  readonly shippingDiscountTotal: bigint;
  readonly shippingTaxTotal: bigint;
  readonly shippingTotal: bigint;
  /** item + shipping discounts. */
  readonly discountTotal: bigint;
  /** item + shipping tax (in tax-inclusive regions the tax contained in total). */
  readonly taxTotal: bigint;
  /** item + shipping subtotals. */
  readonly subtotal: bigint;
  /** What the customer pays: item_total + shipping_total. */
  readonly total: bigint;
  /** Σ original totals of lines and shipping methods. */
  readonly originalTotal: bigint;
}

export interface AppliedPromotion {
  readonly promotionId: string;
  readonly code?: string;
  /** Σ of its adjustments; 0 when nothing in the cart is covered. */
  readonly amount: bigint;
}

export interface SkippedPromotion {
  readonly promotionId: string;
  readonly code?: string;
  readonly refusal: PromotionRefusal;
}

export interface Totals {
  /** In input order. */
  readonly lines: readonly LineTotals[];
  readonly shippingMethods: readonly ShippingMethodTotals[];
  readonly cart: CartTotals;
  /** In the order they were applied. */
  readonly appliedPromotions: readonly AppliedPromotion[];
  /** Promotions whose conditions the cart does not meet now, with why. */
  readonly skippedPromotions: readonly SkippedPromotion[];
}

interface Discounts {
  /** Per discounted thing (line or shipping method). */
  readonly adjustments: readonly (readonly DiscountAdjustment[])[];
  readonly applied: readonly AppliedPromotion[];
}

/** Applies promotions one after the other to the amounts they cover, each on what the ones before left. */
function applyPromotions(
  promotions: readonly Promotion[],
  currency: string,
  subtotals: readonly bigint[],
  covers: (promotion: Promotion, index: number) => boolean,
): Discounts {
  const remaining = [...subtotals];
  const adjustments: DiscountAdjustment[][] = subtotals.map(() => []);
  const applied = promotions.map((promotion): AppliedPromotion => {
    const available = remaining.map((amount, index) => (covers(promotion, index) ? amount : 0n));
    const amount = promotionDiscount(promotion, currency, sumAmounts(available));
    const identity = { promotionId: promotion.id, code: promotion.code };
    allocateLargestRemainder(amount, available).forEach((part, index) => {
      if (part > 0n) {
        remaining[index]! -= part;
        adjustments[index]!.push({ ...identity, amount: part });
      }
    });
    return { ...identity, amount };
  });
  return { adjustments, applied };
}

function breakdown(
  subtotal: bigint,
  originalSubtotal: bigint,
  adjustments: readonly DiscountAdjustment[],
  rates: readonly AppliedTaxRate[],
  pricesIncludeTax: boolean,
): AmountBreakdown {
  const discountTotal = sumAmounts(adjustments.map((adjustment) => adjustment.amount));
  const discounted = subtotal - discountTotal;
  const ratesPpm = rates.map((rate) => rate.ratePpm);
  const taxes = taxesOn(discounted, ratesPpm, pricesIncludeTax);
  const taxTotal = sumAmounts(taxes);
  const withTax = (amount: bigint, tax: bigint) => (pricesIncludeTax ? amount : amount + tax);
  return {
    subtotal,
    discountTotal,
    taxTotal,
    total: withTax(discounted, taxTotal),
    originalTotal: withTax(originalSubtotal, sumAmounts(taxesOn(originalSubtotal, ratesPpm, pricesIncludeTax))),
    taxLines: rates.map((rate, index) => ({ ...rate, amount: taxes[index]! })),
    adjustments,
  };
}

function sumBreakdowns(breakdowns: readonly AmountBreakdown[]) {
  const sum = (amount: (breakdown: AmountBreakdown) => bigint) => sumAmounts(breakdowns.map(amount));
  return {
    subtotal: sum((breakdown) => breakdown.subtotal),
    discount: sum((breakdown) => breakdown.discountTotal),
    tax: sum((breakdown) => breakdown.taxTotal),
    total: sum((breakdown) => breakdown.total),
    original: sum((breakdown) => breakdown.originalTotal),
  };
}

export function computeTotals(input: TotalsInput): Totals {
  const { currency, lines, now } = input;
  const { pricesIncludeTax } = input.tax;
  const ratesFor = (taxClass: string) => resolveTaxRates(input.tax, input.address, taxClass);

  const lineSubtotals = lines.map((line) => BigInt(line.quantity) * line.unitPrice);
  const itemSubtotal = sumAmounts(lineSubtotals);

  const applicable: Promotion[] = [];
  const skippedPromotions: SkippedPromotion[] = [];
  for (const promotion of input.promotions) {
    const refusal = promotionRefusal(promotion, { now, currency, itemSubtotal });
    if (refusal) {
      skippedPromotions.push({ promotionId: promotion.id, code: promotion.code, refusal });
    } else {
      applicable.push(promotion);
    }
  }
  const stacked = applicable.sort(compareStacking);

  const itemDiscounts = applyPromotions(
    stacked.filter((promotion) => promotion.target.kind !== "shipping"),
    currency,
    lineSubtotals,
    (promotion, index) => promotionCoversLine(promotion, lines[index]!),
  );
  const lineTotals = lines.map((line, index): LineTotals => {
    const originalUnitPrice =
      line.compareAtUnitPrice !== undefined && line.compareAtUnitPrice > line.unitPrice
        ? line.compareAtUnitPrice
        : line.unitPrice;
    return {
      lineId: line.id,
      ...breakdown(
        lineSubtotals[index]!,
        BigInt(line.quantity) * originalUnitPrice,
        itemDiscounts.adjustments[index]!,
        line.giftCard ? [] : ratesFor(line.taxClass),
        pricesIncludeTax,
      ),
    };
  });

  const items = sumBreakdowns(lineTotals);
  const giftCards = sumBreakdowns(lineTotals.filter((_, index) => lines[index]!.giftCard));
  const shippingSubtotals = input.shippingMethods.map((method) =>
    shippingAmount(method.charge, {
      discountedSubtotal: items.subtotal - items.discount,
      giftCardPart: giftCards.subtotal - giftCards.discount,
    }),
  );
  const shippingDiscounts = applyPromotions(
    stacked.filter((promotion) => promotion.target.kind === "shipping"),
    currency,
    shippingSubtotals,
    () => true,
  );
  const shippingTotals = input.shippingMethods.map(
    (method, index): ShippingMethodTotals => ({
      shippingMethodId: method.id,
      ...breakdown(
        shippingSubtotals[index]!,
        shippingSubtotals[index]!,
        shippingDiscounts.adjustments[index]!,
        ratesFor(STANDARD_TAX_CLASS),
        pricesIncludeTax,
      ),
    }),
  );

  const shipping = sumBreakdowns(shippingTotals);
  return {
    lines: lineTotals,
    shippingMethods: shippingTotals,
    cart: {
      itemSubtotal: items.subtotal,
      itemDiscountTotal: items.discount,
      itemTaxTotal: items.tax,
      itemTotal: items.total,
      shippingSubtotal: shipping.subtotal,
      shippingDiscountTotal: shipping.discount,
      shippingTaxTotal: shipping.tax,
      shippingTotal: shipping.total,
      discountTotal: items.discount + shipping.discount,
      taxTotal: items.tax + shipping.tax,
      subtotal: items.subtotal + shipping.subtotal,
      total: items.total + shipping.total,
      originalTotal: items.original + shipping.original,
    },
    appliedPromotions: [...itemDiscounts.applied, ...shippingDiscounts.applied],
    skippedPromotions,
  };
}
