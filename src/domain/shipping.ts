/**
 * Shipping options: each belongs to one region and has a flat price per
 * currency, optionally free from a threshold on. They apply only to carts
 * with at least one item that ships.
 */

export interface ShippingOptionPrice {
  readonly currency: string;
  /** Minor units of `currency`, tax as the region's prices show it. */
  readonly amount: bigint;
  /** Free when the item subtotal after discounts is at least this. */
  readonly freeAbove?: bigint;
}

export interface ShippingOption {
  readonly id: string;
  readonly regionId: string;
  readonly prices: readonly ShippingOptionPrice[];
  /** Whether gift card lines count towards the free threshold; absent: they do not. */
  readonly giftCardsCountTowardsFreeShipping?: boolean;
}

export interface ShippingCart {
  readonly regionId: string;
  readonly currency: string;
  readonly hasShippableItems: boolean;
}

/** A shipping option's price in the cart's currency, before the free threshold is looked at. */
export interface ShippingCharge {
  readonly amount: bigint;
  readonly freeAbove?: bigint;
  readonly giftCardsCountTowardsFreeShipping?: boolean;
}

/** What the free threshold is compared with. */
export interface ThresholdItems {
  /** The item subtotal after item discounts. */
  readonly discountedSubtotal: bigint;
  /** The part of it that gift card lines make up. */
  readonly giftCardPart: bigint;
}

export type ShippingRefusalReason = "other_region" | "no_price_in_currency" | "nothing_to_ship";

export type ShippingQuote =
  | { readonly ok: true; readonly charge: ShippingCharge }
  | { readonly ok: false; readonly reason: ShippingRefusalReason; readonly message: string };

/**
 * Whether an option can ship a cart and at what charge. The service asks
 * when a customer chooses an option and again whenever the region, currency
 * or items change, dropping methods that no longer apply.
 */
export function quoteShippingOption(option: ShippingOption, cart: ShippingCart): ShippingQuote {
  if (option.regionId !== cart.regionId) {
    return {
      ok: false,
      reason: "other_region",
      message: `shipping option ${option.id} belongs to region ${option.regionId}, not the cart's region ${cart.regionId}`,
    };
  }
  if (!cart.hasShippableItems) {
    return { ok: false, reason: "nothing_to_ship", message: "the cart has no items that need shipping" };
  }
  const price = option.prices.find((candidate) => candidate.currency === cart.currency);
  if (!price) {
    return {
      ok: false,
      reason: "no_price_in_currency",
      message: `shipping option ${option.id} has no price in ${cart.currency}`,
    };
  }
  return {
    ok: true,
    charge: {
      amount: price.amount,
      freeAbove: price.freeAbove,
      ...(option.giftCardsCountTowardsFreeShipping && { giftCardsCountTowardsFreeShipping: true }),
    },
  };
}

/**
 * What a shipping method costs before shipping discounts: nothing once the
 * item subtotal after item discounts (before tax in tax-exclusive regions,
 * with tax in tax-inclusive ones: the amounts as the prices show them),
 * without gift cards unless the option counts them, reaches the threshold,
 * else the flat amount. The threshold is inclusive: free above 50.00 means
 * free at exactly 50.00.
 */
export function shippingAmount(charge: ShippingCharge, items: ThresholdItems): bigint {
  const counted = charge.giftCardsCountTowardsFreeShipping ? items.discountedSubtotal : items.discountedSubtotal - items.giftCardPart;
  return charge.freeAbove !== undefined && counted >= charge.freeAbove ? 0n : charge.amount;
}
