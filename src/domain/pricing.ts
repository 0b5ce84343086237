/**
 * Price selection. A product has any number of prices, each for one currency,
 * optionally only for one region, starting at a minimum line quantity (the
 * base price starts at 1, volume tiers higher). The price of a line is the
 * one selected for its quantity, so it is selected again whenever the
 * quantity changes.
 */

export interface TieredPrice {
  readonly currency: string;
  /** Undefined: the price holds in every region whose currency it is. */
  readonly regionId?: string;
  /** The smallest line quantity the price applies to; 1 for the base price. */
  readonly minQuantity: number;
  /** Unit price in minor units of `currency`. */
  readonly amount: bigint;
  /** The "was" unit price shown struck through; it feeds original totals. */
  readonly compareAtAmount?: bigint;
}

export interface PriceQuery {
  readonly currency: string;
  readonly regionId?: string;
  readonly quantity: number;
}

/**
 * The unit price of a line of `quantity` units in a cart of `currency` and
 * `regionId`, or undefined when the product cannot be priced there.
 *
 * 1. Only prices in the cart's currency count, and of those only the ones for
 *    the cart's region or for no region.
 * 2. Region-specific prices beat currency-only ones: if any region-specific
 *    price applies to the quantity, the currency-only prices are ignored.
 * 3. Among the remaining prices, the highest tier wins: the largest
 *    `minQuantity` that is ≤ `quantity`. Should two prices share that tier
 *    (the catalog keeps them unique), the first listed wins.
 *
 * As quantity grows the selected `minQuantity` never decreases.
 */
export function selectPrice(prices: readonly TieredPrice[], query: PriceQuery): TieredPrice | undefined {
  let best: TieredPrice | undefined;
  for (const price of prices) {
    const applies =
      price.currency === query.currency &&
      (price.regionId === undefined || price.regionId === query.regionId) &&
      price.minQuantity <= query.quantity;
    if (applies && (best === undefined || outranks(price, best))) {
      best = price;
    }
  }
  return best;
}

function outranks(candidate: TieredPrice, incumbent: TieredPrice): boolean {
  const candidateIsRegional = candidate.regionId !== undefined;
  const incumbentIsRegional = incumbent.regionId !== undefined;
  if (candidateIsRegional !== incumbentIsRegional) {
    return candidateIsRegional;
  }
  return candidate.minQuantity > incumbent.minQuantity;
}
