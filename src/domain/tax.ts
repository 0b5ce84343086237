import { BASIS_POINTS_PER_WHOLE, basisPointsOf, divideHalfEven } from "./money.js";

/**
 * Region tax rates. Rates are integer basis points (1000 bp = 10 %). A region
 * has a default rate, rates per country (ISO 3166-1 alpha-2) and, within a
 * country, optional rates per province (the subdivision part of ISO 3166-2:
 * "CA" in US-CA). Prices in a region either exclude tax (it is added on top)
 * or include it (the price is what the customer pays; the tax is the part of
 * it the region levies).
 */

export interface ProvinceTaxRate {
  readonly province: string;
  readonly basisPoints: number;
}

export interface CountryTaxRate {
  readonly country: string;
  readonly basisPoints: number;
  readonly provinces?: readonly ProvinceTaxRate[];
}

export interface RegionTax {
  readonly pricesIncludeTax: boolean;
  readonly defaultBasisPoints: number;
  readonly countries: readonly CountryTaxRate[];
}

/** Where the goods go; the cart's shipping address. */
export interface TaxAddress {
  readonly country: string;
  readonly province?: string;
}

/** The rate that applies to a cart, and what it comes from: "default", a country ("US") or a province ("US-CA"). */
export interface ResolvedTaxRate {
  readonly code: string;
  readonly basisPoints: number;
}

function sameCode(a: string, b: string): boolean {
  return a.toUpperCase() === b.toUpperCase();
}

/**
 * The rate for an address: the province's override if the region has one,
 * else the country's rate, else the region default. Without an address (not
 * entered yet) the region default applies, so a cart always shows its tax.
 * Codes compare case-insensitively.
 */
export function resolveTaxRate(region: RegionTax, address: TaxAddress | undefined): ResolvedTaxRate {
  const country = address && region.countries.find((candidate) => sameCode(candidate.country, address.country));
  if (!country) {
    return { code: "default", basisPoints: region.defaultBasisPoints };
  }
  const provinceName = address.province;
  const province =
    provinceName === undefined
      ? undefined
      : country.provinces?.find((candidate) => sameCode(candidate.province, provinceName));
  const countryCode = country.country.toUpperCase();
  return province
    ? { code: `${countryCode}-${province.province.toUpperCase()}`, basisPoints: province.basisPoints }
    : { code: countryCode, basisPoints: country.basisPoints };
}

/**
 * The tax in an amount, rounded half-even once. Tax-exclusive: the amount is
 * net and the tax is amount × rate (3 × 9.99 at 10 % → 2997 × 1000 / 10000 =
 * 299.7 → 300). Tax-inclusive: the amount is gross and the tax is the part of
 * it the rate accounts for, amount × rate / (1 + rate) (11.90 at 19 % → 1190 ×
 * 1900 / 11900 = 190).
 */
export function taxOn(amount: bigint, basisPoints: number, pricesIncludeTax: boolean): bigint {
  if (!pricesIncludeTax) {
    return basisPointsOf(amount, basisPoints);
  }
  const rate = BigInt(basisPoints);
  return divideHalfEven(amount * rate, BASIS_POINTS_PER_WHOLE + rate);
}
