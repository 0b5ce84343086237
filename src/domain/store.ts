import type { Promotion } from "./promotions.js";
import type { ShippingOption } from "./shipping.js";
import type { RegionTax } from "./tax.js";

/**
 * The store's reference data that carts are priced with: regions, sales
 * channels, shipping options and promotions (the last two are the pure
 * shapes of shipping.ts and promotions.ts with a name and timestamps).
 */

export interface Timestamps {
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A market: one currency, the countries carts in it ship to, its taxes. */
export interface Region extends Timestamps {
  readonly id: string;
  readonly name: string;
  readonly currency: string;
  /** ISO 3166-1 alpha-2 codes; empty: any country. */
  readonly countries: readonly string[];
  readonly tax: RegionTax;
  /** The payment providers carts in the region may pay with; empty: the built-in system provider only. */
  readonly paymentProviderIds: readonly string[];
}

export interface SalesChannel extends Timestamps {
  readonly id: string;
  readonly name: string;
  readonly description: string;
}

export interface NamedShippingOption extends ShippingOption {
  readonly name: string;
}

export type StoredShippingOption = NamedShippingOption & Timestamps;

export type StoredPromotion = Promotion & Timestamps;

/** Whether carts of `region` may ship to `country`. */
export function regionShipsTo(region: Pick<Region, "countries">, country: string): boolean {
  return region.countries.length === 0 || region.countries.includes(country);
}

/**
 * A tax-free region for any country: the default region the service ensures
 * at startup, and the one a cart in another currency gets when no region uses
 * that currency (see currencyRegionId).
 */
export function taxFreeRegion(id: string, currency: string, now: Date): Region {
  return {
    id,
    name: `Default (${currency})`,
    currency,
    countries: [],
    tax: { pricesIncludeTax: false, defaults: { ratePpm: 0 }, countries: [] },
    paymentProviderIds: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** The id of the tax-free region made for `currency`; derived, so every instance of the service derives the same one. */
export function currencyRegionId(defaultRegionId: string, currency: string): string {
  return `${defaultRegionId}-${currency.toLowerCase()}`;
}
