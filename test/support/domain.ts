import type { ProductOffer } from "../../src/domain/cart.js";
import { DomainError } from "../../src/domain/errors.js";
import type { TieredPrice } from "../../src/domain/pricing.js";
import { noProductDetails } from "../../src/domain/product.js";

/** An active, discountable, shippable product sold in every channel at `prices`. */
export const productOffer = (prices: readonly TieredPrice[], extra: Partial<ProductOffer> = {}): ProductOffer => ({
  title: "Product",
  active: true,
  discountable: true,
  shippable: true,
  taxClass: "standard",
  giftCard: false,
  salesChannelIds: [],
  details: noProductDetails,
  prices,
  ...extra,
});

/** The DomainError a change is refused with; fails when the change is accepted. */
export function domainRefusal(change: () => unknown): DomainError {
  try {
    change();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error("the change was accepted");
}
