import { DomainError } from "./errors.js";
import { basisPointsOf, formatAmount, minAmount } from "./money.js";

/**
 * Promotions: code-based (the customer enters the code) or automatic (no
 * code; applies to every cart meeting its conditions). A promotion takes a
 * percentage or a fixed amount off what it targets. Whether one may apply is
 * a pure function of the promotion, the time, the cart and usage counts that
 * the caller looked up, and when it may not, it says precisely why.
 */

export interface CurrencyAmount {
  readonly currency: string;
  /** Minor units of `currency`: 500 is 5.00 USD, 500 JPY, 0.500 KWD. */
  readonly amount: bigint;
}

export type PromotionValue =
  | { readonly kind: "percentage"; readonly basisPoints: number }
  /** One amount per currency the promotion is offered in. */
  | { readonly kind: "fixed"; readonly amounts: readonly CurrencyAmount[] };

export type PromotionTarget =
  /** Every discountable line. */
  | { readonly kind: "order" }
  /** The discountable lines of the listed products. */
  | { readonly kind: "products"; readonly productIds: readonly string[] }
  /** The cart's shipping methods. */
  | { readonly kind: "shipping" };

export interface Promotion {
  readonly id: string;
  /** Undefined for an automatic promotion. */
  readonly code?: string;
  readonly value: PromotionValue;
  readonly target: PromotionTarget;
  /**
   * Per currency, the item subtotal (before any discount, tax as the prices
   * show it) the cart must reach. Empty or undefined: no minimum.
   */
  readonly minimumSubtotal?: readonly CurrencyAmount[];
  /** Valid from this instant on (inclusive). */
  readonly startsAt?: Date;
  /** Valid until just before this instant (exclusive). */
  readonly endsAt?: Date;
  /** How many completed orders may use it in all. */
  readonly usageLimit?: number;
  /** How many completed orders of one customer may use it. */
  readonly usageLimitPerCustomer?: number;
}

/** Whether completed orders count against the promotion: only then does its usage matter. */
export function hasUsageLimit(promotion: Pick<Promotion, "usageLimit" | "usageLimitPerCustomer">): boolean {
  return promotion.usageLimit !== undefined || promotion.usageLimitPerCustomer !== undefined;
}

/** Completed orders that used a promotion, counted by the caller. */
export interface PromotionUsage {
  readonly total: number;
  /**
   * Orders of the cart's customer_id. A guest id ("guest:…") counts as a
   * customer of its own, so a new guest session starts again at 0.
   */
  readonly byCustomer: number;
}

export interface PromotionCheck {
  readonly now: Date;
  readonly currency: string;
  /** Σ line subtotals before discounts. */
  readonly itemSubtotal: bigint;
  /**
   * Checked only when given: when a code is applied and when the cart
   * completes. Totals re-check the other conditions on every change but not
   * usage, so a discount does not vanish from a cart because another
   * customer used the last redemption meanwhile; completion still refuses it.
   */
  readonly usage?: PromotionUsage;
}

/** Checked in this order; the first that holds is the reason. */
export type PromotionRefusalReason =
  | "unknown"
  | "not_started"
  | "expired"
  | "exhausted"
  | "exhausted_for_customer"
  | "wrong_currency"
  | "minimum_not_met";

export interface PromotionRefusal {
  readonly reason: PromotionRefusalReason;
  /** Readable, for the customer: names the code and what is wrong. */
  readonly message: string;
}

function describe(promotion: Promotion): string {
  return promotion.code === undefined ? `automatic promotion ${promotion.id}` : `promotion code "${promotion.code}"`;
}

function amountIn(amounts: readonly CurrencyAmount[] | undefined, currency: string): bigint | undefined {
  return amounts?.find((candidate) => candidate.currency === currency)?.amount;
}

/**
 * A promotion speaks a currency when every amount it states (its fixed value,
 * its minimum subtotal) is given in that currency; a percentage without a
 * minimum speaks every currency.
 */
function speaksCurrency(promotion: Promotion, currency: string): boolean {
  const fixedOk = promotion.value.kind !== "fixed" || amountIn(promotion.value.amounts, currency) !== undefined;
  const minimumOk =
    (promotion.minimumSubtotal ?? []).length === 0 || amountIn(promotion.minimumSubtotal, currency) !== undefined;
  return fixedOk && minimumOk;
}

/** Why `promotion` cannot apply to the cart described by `check`, or undefined when it can. */
export function promotionRefusal(promotion: Promotion, check: PromotionCheck): PromotionRefusal | undefined {
  const name = describe(promotion);
  const { now, currency, usage } = check;
  if (promotion.startsAt !== undefined && now < promotion.startsAt) {
    return { reason: "not_started", message: `${name} is not valid before ${promotion.startsAt.toISOString()}` };
  }
  if (promotion.endsAt !== undefined && now >= promotion.endsAt) {
    return { reason: "expired", message: `${name} expired at ${promotion.endsAt.toISOString()}` };
  }
  if (usage && promotion.usageLimit !== undefined && usage.total >= promotion.usageLimit) {
    return { reason: "exhausted", message: `${name} has reached its limit of ${promotion.usageLimit} uses` };
  }
  if (usage && promotion.usageLimitPerCustomer !== undefined && usage.byCustomer >= promotion.usageLimitPerCustomer) {
    return {
      reason: "exhausted_for_customer",
      message: `${name} has reached its limit of ${promotion.usageLimitPerCustomer} uses per customer`,
    };
  }
  if (!speaksCurrency(promotion, currency)) {
    return { reason: "wrong_currency", message: `${name} does not apply to carts in ${currency}` };
  }
  const minimum = amountIn(promotion.minimumSubtotal, currency);
  if (minimum !== undefined && check.itemSubtotal < minimum) {
    return {
      reason: "minimum_not_met",
      message: `${name} needs an item subtotal of at least ${formatAmount(minimum, currency)}; the cart has ${formatAmount(check.itemSubtotal, currency)}`,
    };
  }
  return undefined;
}

/** Like promotionRefusal, for the promotion a customer's code resolved to (undefined: no promotion has that code). */
export function promotionCodeRefusal(
  code: string,
  promotion: Promotion | undefined,
  check: PromotionCheck,
): PromotionRefusal | undefined {
  if (promotion === undefined) {
    return { reason: "unknown", message: `promotion code "${code}" does not exist` };
  }
  return promotionRefusal(promotion, check);
}

/**
 * The domain error for a refusal: an unknown code is not_found, every other
 * reason a failed precondition; the precise reason travels in the facts.
 */
export function promotionRefusalError(refusal: PromotionRefusal): DomainError {
  return new DomainError(refusal.reason === "unknown" ? "not_found" : "failed_precondition", refusal.message, {
    promotion_refusal: refusal.reason,
  });
}

/**
 * What a promotion takes off `base` (the not yet discounted amount of what it
 * targets in the cart), never more than `base`: a percentage is base × bp
 * rounded half-even once; a fixed amount is the promotion's amount in the
 * cart currency (0 if it has none, which promotionRefusal reports as
 * wrong_currency beforehand).
 */
export function promotionDiscount(promotion: Promotion, currency: string, base: bigint): bigint {
  const { value } = promotion;
  const wanted =
    value.kind === "percentage" ? basisPointsOf(base, value.basisPoints) : (amountIn(value.amounts, currency) ?? 0n);
  return minAmount(wanted, base);
}

/** Whether a promotion targeting items covers a line. Non-discountable lines are never covered. */
export function promotionCoversLine(
  promotion: Promotion,
  line: { readonly productId: string; readonly discountable: boolean },
): boolean {
  const { target } = promotion;
  return line.discountable && (target.kind === "order" || (target.kind === "products" && target.productIds.includes(line.productId)));
}

/**
 * Stacking order of several promotions on one cart: percentages before fixed
 * amounts, then by id. Each promotion works on what the ones before it left,
 * so percentages compound (10 % then 20 % takes 28 % off) and a fixed amount
 * comes off the already reduced price.
 */
export function compareStacking(a: Promotion, b: Promotion): number {
  const kindOrder = Number(a.value.kind === "fixed") - Number(b.value.kind === "fixed");
  if (kindOrder !== 0) {
    return kindOrder;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
