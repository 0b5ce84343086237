import type { TieredPrice } from "./pricing.js";

/** What a product says about itself beyond its title; a cart line keeps it as it was when the line was added. */
export interface ProductDetails {
  readonly subtitle: string;
  /** Absolute http(s) URL; "" for none. */
  readonly thumbnailUri: string;
  /** URL-friendly name of the product family; "" for none. */
  readonly handle: string;
  readonly sku: string;
  /** The name of this variant of the product family, e.g. "L / Black". */
  readonly variantTitle: string;
}

export const noProductDetails: ProductDetails = { subtitle: "", thumbnailUri: "", handle: "", sku: "", variantTitle: "" };

/** A catalog product and its unit prices (per currency, optionally per region, in quantity tiers). */
export interface Product {
  readonly id: string;
  readonly title: string;
  readonly active: boolean;
  /** False for products promotions never discount (gift cards, unless the catalog says otherwise). */
  readonly discountable: boolean;
  /** False for products that need no shipping (downloads, services). */
  readonly shippable: boolean;
  /** The class its lines are taxed at (STANDARD_TAX_CLASS by default). */
  readonly taxClass: string;
  /** Gift cards are never taxed and count towards free shipping only where the shipping option says so. */
  readonly giftCard: boolean;
  /** The sales channels the product is sold in; empty: every channel. */
  readonly salesChannelIds: readonly string[];
  readonly details: ProductDetails;
  readonly prices: readonly TieredPrice[];
  readonly createdAt: Date;
  readonly updatedAt: Date;
}
